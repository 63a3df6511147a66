// The OCI distribution client against a real registry: open, htpasswd basic auth, bearer tokens.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryLoginError, RegistryUnreachableError } from '../../packages/core/src/index.js';
import {
  DaemonlessBuilder,
  RegistryClient,
  writeAuthFile,
} from '../../packages/image/src/index.js';
import {
  freePort,
  type RegistryAuth,
  startRegistry,
  TEST_PASSWORD,
  TEST_USER,
  type TestRegistry,
} from '../support/registry.js';
import { BUSYBOX_DOCKERFILE, makeContext } from './context.js';
import { type DaemonlessStorage, daemonlessStorage } from './daemonless.js';

const good = { username: TEST_USER, password: TEST_PASSWORD };
const modes: RegistryAuth[] = ['open', 'htpasswd', 'token'];
const registries = new Map<RegistryAuth, TestRegistry>();
const pushed = new Map<RegistryAuth, string>();
let storage: DaemonlessStorage;

beforeAll(async () => {
  storage = await daemonlessStorage();
  const context = await makeContext(BUSYBOX_DOCKERFILE, { 'app.txt': 'client test\n' });
  for (const mode of modes) {
    const registry = await startRegistry(mode);
    registries.set(mode, registry);
    const auth = await writeAuthFile(new Map([[registry.host, good]]));
    const builder = new DaemonlessBuilder('buildah', { env: storage.env, authDir: auth.dir });
    const out = await builder.buildAndPush({
      context,
      buildArgs: {},
      labels: {},
      references: [`${registry.host}/team/app:one`],
      platforms: [],
      cacheFrom: [],
      cacheTo: [],
      push: true,
      secrets: [],
      noCache: false,
      pull: false,
    });
    await auth.dispose();
    pushed.set(mode, out.digest!);
  }
});

afterAll(async () => {
  for (const r of registries.values()) await r.stop();
  await storage?.dispose();
});

describe.each(modes)('RegistryClient against a %s registry', (mode) => {
  it('finds the digest of a tag the registry serves, and nothing for a missing tag', async () => {
    const registry = registries.get(mode)!;
    const client = new RegistryClient({ fetch, credentials: () => good });
    const digest = await client.tagDigest({
      registry: registry.host,
      repository: 'team/app',
      tag: 'one',
    });
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(digest).toBe((await registry.manifest('team/app', 'one')).digest);
    expect(digest).toBe(pushed.get(mode));
    expect(
      await client.tagDigest({ registry: registry.host, repository: 'team/app', tag: 'two' }),
    ).toBeUndefined();
    await client.checkAccess({ registry: registry.host, repository: 'team/app' });
  });
});

describe.each(['htpasswd', 'token'] as const)('RegistryClient refused by a %s registry', (mode) => {
  it('names the registry and the user, never the password, when the login is refused', async () => {
    const registry = registries.get(mode)!;
    const wrong = 'wrong-Pa55word-0815';
    const client = new RegistryClient({
      fetch,
      credentials: () => ({ username: TEST_USER, password: wrong }),
    });
    const err = await client
      .tagDigest({ registry: registry.host, repository: 'team/app', tag: 'one' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryLoginError);
    expect((err as Error).message).toContain(registry.host);
    expect((err as Error).message).toContain(`"${TEST_USER}"`);
    expect((err as Error).message).not.toContain(wrong);
    expect(JSON.stringify(err)).not.toContain(wrong);

    const anonymous = new RegistryClient({ fetch });
    const anon = await anonymous
      .tagDigest({ registry: registry.host, repository: 'team/app', tag: 'one' })
      .catch((e: unknown) => e);
    expect(anon).toBeInstanceOf(RegistryLoginError);
    expect((anon as RegistryLoginError).username).toBeUndefined();
  });
});

describe('RegistryClient', () => {
  it('sends one request per check on an open registry and two behind basic auth', async () => {
    for (const [mode, expected] of [
      ['open', 1],
      ['htpasswd', 2],
    ] as const) {
      const registry = registries.get(mode)!;
      const before = registry.requests().length;
      const client = new RegistryClient({ fetch, credentials: () => good });
      await client.tagDigest({ registry: registry.host, repository: 'team/app', tag: 'one' });
      const seen = await registry.requestsSince(before, expected);
      expect(seen.map((r) => `${r.method} ${r.uri}`)).toEqual(
        Array(expected).fill('HEAD /v2/team/app/manifests/one'),
      );
      expect(client.requests).toBe(expected);
    }
  });

  it('asks the token service for a pull scope on the repository, with the basic credentials', async () => {
    const registry = registries.get('token')!;
    const before = registry.tokenRequests().length;
    await new RegistryClient({ fetch, credentials: () => good }).tagDigest({
      registry: registry.host,
      repository: 'team/app',
      tag: 'one',
    });
    expect(registry.tokenRequests().slice(before)).toEqual([
      { account: TEST_USER, scope: ['repository:team/app:pull'], status: 200 },
    ]);
  });

  it('says the registry cannot be reached when nothing listens there', async () => {
    const host = `127.0.0.1:${await freePort()}`;
    const err = await new RegistryClient({ fetch })
      .tagDigest({ registry: host, repository: 'app', tag: 'x' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryUnreachableError);
    expect((err as Error).message).toMatch(new RegExp(`${host}.*ECONNREFUSED`));
  });
});
