// Registries as they are on premises: a registry on a LAN address (a network namespace of the test's
// own) with a certificate from the test's CA, and one speaking plain HTTP. build-and-push-image
// must trust the CA only when given --registry-ca, and skip TLS checks only with --insecure-registry.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryCertificateError } from '../../packages/core/src/index.js';
import { RegistryClient, registryFetch } from '../../packages/image/src/index.js';
import { createNetns, type TestNetns } from '../support/netns.js';
import { startRegistry, TEST_PASSWORD, TEST_USER, type TestRegistry } from '../support/registry.js';
import { runCli } from '../support/run-cli.js';
import { createTestCa, type TestCa } from '../support/test-ca.js';
import { BUSYBOX_DOCKERFILE, makeContext } from './context.js';
import { type DaemonlessStorage, daemonlessStorage } from './daemonless.js';

const SHA = '4c3b2a190817f6e5d4c3b2a190817f6e5d4c3b2a';
let netns: TestNetns;
let ca: TestCa;
let tlsRegistry: TestRegistry;
let plainRegistry: TestRegistry;
let storage: DaemonlessStorage;
let context: string;

const login = ['--username', TEST_USER, '--password-env', 'REGISTRY_PASSWORD'];

function cli(args: string[]) {
  return runCli(
    ['build-and-push-image', '--builder', 'buildah', ...login, ...args],
    { ...storage.env, REGISTRY_PASSWORD: TEST_PASSWORD, GIT_COMMIT: SHA },
    context,
  );
}

beforeAll(async () => {
  [netns, ca, storage] = await Promise.all([createNetns(), createTestCa(), daemonlessStorage()]);
  const server = await ca.serverCertificate(netns.address);
  tlsRegistry = await startRegistry('htpasswd', {
    netns,
    tls: { ...server, caPem: ca.caPem },
  });
  plainRegistry = await startRegistry('htpasswd', { netns });
  context = await makeContext(BUSYBOX_DOCKERFILE, { 'app.txt': 'on premises\n' });
});

afterAll(async () => {
  await tlsRegistry?.stop();
  await plainRegistry?.stop();
  await netns?.dispose();
  await ca?.dispose();
  await storage?.dispose();
});

describe('the registry client over TLS with a private CA', () => {
  it('refuses the certificate without the CA, naming --registry-ca and --insecure-registry', async () => {
    const client = new RegistryClient({ fetch });
    const err = await client
      .tagDigest({ registry: tlsRegistry.host, repository: 'team/web', tag: 'x' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryCertificateError);
    expect((err as Error).message).toContain('--registry-ca FILE');
    expect((err as Error).message).toContain(`--insecure-registry ${tlsRegistry.host}`);
  });

  it('trusts the CA given, and only then', async () => {
    const credentials = () => ({ username: TEST_USER, password: TEST_PASSWORD });
    const client = new RegistryClient({ fetch: registryFetch({ ca: ca.caPem }), credentials });
    await expect(
      client.tagDigest({ registry: tlsRegistry.host, repository: 'team/web', tag: 'none' }),
    ).resolves.toBeUndefined();
    // Another CA's bundle does not open the door.
    const other = await createTestCa();
    const wrong = new RegistryClient({ fetch: registryFetch({ ca: other.caPem }), credentials });
    await expect(
      wrong.tagDigest({ registry: tlsRegistry.host, repository: 'team/web', tag: 'none' }),
    ).rejects.toBeInstanceOf(RegistryCertificateError);
    await other.dispose();
  });
});

describe('build-and-push-image to a registry on premises', () => {
  it('with --registry-ca: builds with buildah, pushes over verified TLS; the re-run builds nothing', async () => {
    const r = await cli([
      '--image',
      `${tlsRegistry.host}/team/web`,
      '--registry-ca',
      ca.caFile,
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const manifest = await tlsRegistry.manifest('team/web', SHA.slice(0, 7));
    expect(JSON.parse(r.stdout)).toMatchObject({ result: 'built', digest: manifest.digest });
    expect(r.stderr).not.toContain('WARNING');

    const again = await cli([
      '--image',
      `${tlsRegistry.host}/team/web`,
      '--registry-ca',
      ca.caFile,
      '--json',
    ]);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({
      result: 'skipped-exists',
      digest: manifest.digest,
    });
  });

  it('without the CA: exit 1 before any build, the message says which flag to give', async () => {
    const r = await cli(['--image', `${tlsRegistry.host}/team/other`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('does not trust');
    expect(r.stderr).toContain('--registry-ca FILE');
    expect(r.stderr).not.toContain(TEST_PASSWORD);
  });

  it('--insecure-registry: the unverified TLS registry works, and the output says so loudly', async () => {
    const r = await cli([
      '--image',
      `${tlsRegistry.host}/team/insecure`,
      '--insecure-registry',
      tlsRegistry.host,
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      `WARNING: --insecure-registry ${tlsRegistry.host}: its TLS certificate is NOT verified`,
    );
    const manifest = await tlsRegistry.manifest('team/insecure', SHA.slice(0, 7));
    expect(JSON.parse(r.stdout).digest).toBe(manifest.digest);
  });

  it('--insecure-registry HOST (no port): a plain-HTTP registry on the LAN works; without it, it does not', async () => {
    const refused = await cli(['--image', `${plainRegistry.host}/team/plain`]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/cannot connect to registry|does not trust/);

    const r = await cli([
      '--image',
      `${plainRegistry.host}/team/plain`,
      '--insecure-registry',
      netns.address,
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`WARNING: --insecure-registry ${netns.address}`);
    const manifest = await plainRegistry.manifest('team/plain', SHA.slice(0, 7));
    expect(JSON.parse(r.stdout)).toMatchObject({ result: 'built', digest: manifest.digest });
  });

  it('a --registry-ca that holds no certificate, or a key, is wrong usage (exit 2) and not echoed', async () => {
    const server = await ca.serverCertificate('10.0.0.9');
    const r = await cli(['--image', `${tlsRegistry.host}/team/web`, '--registry-ca', server.key]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('holds a private key');
    expect(r.stderr).not.toContain('BEGIN');
    const missing = await cli([
      '--image',
      `${tlsRegistry.host}/team/web`,
      '--registry-ca',
      '/nonexistent.pem',
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--registry-ca: cannot read /nonexistent.pem (ENOENT)');
    const bad = await cli(['--image', 'x/y', '--insecure-registry', 'https://harbor.lan/']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--insecure-registry takes HOST or HOST:PORT');
  });
});
