// build-and-push-image with buildah and podman (daemonless, as on runners inside Kubernetes)
// against a real registry behind bearer-token auth, as GHCR, GCR, ECR and Docker Hub speak it.
import { execFile, spawn } from 'node:child_process';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GCP_TEST_KEY,
  READER_PASSWORD,
  READER_USER,
  startRegistry,
  TEST_PASSWORD,
  TEST_USER,
  type TestRegistry,
} from '../support/registry.js';
import { runCli } from '../support/run-cli.js';
import { BUSYBOX_DOCKERFILE, makeContext } from './context.js';
import { type DaemonlessStorage, daemonlessStorage } from './daemonless.js';

const exec = promisify(execFile);
const SHA = '9a8b7c6d5e4f30219a8b7c6d5e4f30219a8b7c6d';
let registry: TestRegistry;
let storage: DaemonlessStorage;
let context: string;
const printed: string[] = [];

async function cli(args: string[], env: Record<string, string> = {}) {
  const r = await runCli(
    ['build-and-push-image', ...args],
    { ...storage.env, REGISTRY_PASSWORD: TEST_PASSWORD, CIRCLE_SHA1: SHA, ...env },
    context,
  );
  printed.push(r.stdout, r.stderr);
  return r;
}

/** Image IDs in the private storage of buildah (podman shares it). */
async function storedImages(): Promise<string[]> {
  const { stdout } = await exec('buildah', ['images', '--all', '--quiet', '--no-trunc'], {
    env: storage.env as NodeJS.ProcessEnv,
  });
  return stdout.split('\n').filter(Boolean).sort();
}

const login = ['--username', TEST_USER, '--password-env', 'REGISTRY_PASSWORD'];

beforeAll(async () => {
  [registry, storage] = await Promise.all([startRegistry('token'), daemonlessStorage()]);
  context = await makeContext(BUSYBOX_DOCKERFILE, { 'app.txt': 'daemonless e2e\n' });
});

afterAll(async () => {
  await registry?.stop();
  await storage?.dispose();
});

describe('build-and-push-image with buildah', () => {
  let digest: string;

  it('builds and pushes through the token flow; the registry serves tag, digest and labels', async () => {
    const r = await cli([
      '--image',
      `${registry.host}/team/api`,
      ...login,
      '--builder',
      'buildah',
      '--sha-length',
      '10',
      '--label',
      'org.opencontainers.image.source=https://git.example.com/api',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const manifest = await registry.manifest('team/api', '9a8b7c6d5e');
    digest = manifest.digest;
    expect(JSON.parse(r.stdout)).toMatchObject({
      image: `${registry.host}/team/api:9a8b7c6d5e`,
      digest,
      imageRef: `${registry.host}/team/api@${digest}`,
      tags: ['9a8b7c6d5e'],
      result: 'built',
      builder: 'buildah',
    });
    const config = (await registry.config('team/api', '9a8b7c6d5e')) as {
      config: { Labels: Record<string, string> };
    };
    expect(config.config.Labels).toMatchObject({
      'org.opencontainers.image.revision': SHA,
      'org.opencontainers.image.source': 'https://git.example.com/api',
    });
    expect(Date.parse(config.config.Labels['org.opencontainers.image.created']!)).toBeGreaterThan(
      Date.now() - 600_000,
    );
  });

  it('a second run builds nothing: two registry requests, no new image in buildah’s storage', async () => {
    const imagesBefore = await storedImages();
    const requestsBefore = registry.requests().length;
    const tokensBefore = registry.tokenRequests().length;
    const r = await cli([
      '--image',
      `${registry.host}/team/api`,
      ...login,
      '--builder',
      'buildah',
      '--sha-length',
      '10',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ result: 'skipped-exists', digest });
    expect(
      (await registry.requestsSince(requestsBefore, 2)).map(
        (q) => `${q.method} ${q.uri} ${q.status}`,
      ),
    ).toEqual([
      'HEAD /v2/team/api/manifests/9a8b7c6d5e 401',
      'HEAD /v2/team/api/manifests/9a8b7c6d5e 200',
    ]);
    expect(registry.tokenRequests().slice(tokensBefore)).toHaveLength(1);
    expect(await storedImages()).toEqual(imagesBefore);
  });

  it('a user who may only pull gets "push denied" after the build', async () => {
    const r = await cli(
      [
        '--image',
        `${registry.host}/team/api`,
        '--username',
        READER_USER,
        '--password-env',
        'READER_PASSWORD',
        '--builder',
        'buildah',
        '--tag',
        'reader-try',
      ],
      { READER_PASSWORD },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `the registry refused the push of ${registry.host}/team/api:reader-try`,
    );
    expect(r.stderr + r.stdout).not.toContain(READER_PASSWORD);
  });

  it('a failing RUN step fails with buildah’s last lines', async () => {
    const dir = join(context, 'failing');
    await mkdir(dir, { recursive: true });
    await copyFile('/bin/busybox', join(dir, 'busybox'));
    await writeFile(
      join(dir, 'Dockerfile'),
      'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "sh", "-c", "echo buildah-boom-7 >&2; exit 5"]\n',
    );
    const r = await cli([
      '--image',
      `${registry.host}/team/failing`,
      ...login,
      '--context',
      dir,
      '--builder',
      'buildah',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/buildah build failed \(exit \d+\); its last lines:/);
    expect(r.stderr).toMatch(/\| buildah-boom-7\n/);
  });
});

describe('build-and-push-image with a Google service-account key', () => {
  it('logs in as _json_key with the key from the environment, base64 or not, and never prints it', async () => {
    for (const [tag, key] of [
      ['raw', GCP_TEST_KEY],
      ['b64', Buffer.from(GCP_TEST_KEY).toString('base64')],
    ] as const) {
      const r = await cli(
        [
          '--image',
          `${registry.host}/gcp-project/web`,
          '--gcp-key-env',
          'SERVICE_ACCOUNT_KEY',
          '--builder',
          'buildah',
          '--tag',
          tag,
          '--json',
        ],
        { SERVICE_ACCOUNT_KEY: key },
      );
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).digest).toBe(
        (await registry.manifest('gcp-project/web', tag)).digest,
      );
      expect(r.stdout + r.stderr).not.toContain('TESTKEYMATERIAL');
    }
    expect(
      registry.tokenRequests().filter((t) => t.account === '_json_key').length,
    ).toBeGreaterThan(0);
  });
});

describe('build-and-push-image with podman', () => {
  it('builds and pushes; the digest it reports is the one the registry serves', async () => {
    const r = await cli([
      '--image',
      `${registry.host}/team/worker`,
      ...login,
      '--builder',
      'podman',
      '--extra-tag',
      'stable',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({
      result: 'built',
      builder: 'podman',
      tags: ['9a8b7c6', 'stable'],
    });
    expect(result.digest).toBe((await registry.manifest('team/worker', '9a8b7c6')).digest);
    expect((await registry.manifest('team/worker', 'stable')).digest).toBe(result.digest);
  });
});

describe('the bundled CLI as a process', () => {
  it('reads the password from stdin, exits 0 on a re-run and 1 on a wrong password', async () => {
    const cliPath = join(import.meta.dirname, '../../dist/cli.cjs');
    const runCli = (args: string[], stdin: string) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(process.execPath, [cliPath, 'build-and-push-image', ...args], {
          cwd: context,
          env: { ...storage.env, CIRCLE_SHA1: SHA },
          stdio: ['pipe', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
        });
        child.stderr.on('data', (c: Buffer) => {
          out += c.toString();
        });
        child.stdin.end(stdin);
        child.on('close', (code) => resolve({ code, out }));
      });
    const args = [
      '--image',
      `${registry.host}/team/worker`,
      '--username',
      TEST_USER,
      '--password-stdin',
      '--builder',
      'podman',
    ];
    const again = await runCli(args, `${TEST_PASSWORD}\n`);
    expect(again.code, again.out).toBe(0);
    expect(again.out).toContain('already in the registry, nothing built');
    expect(again.out).not.toContain(TEST_PASSWORD);
    const wrong = await runCli([...args, '--no-skip-existing'], 'not-the-Password-99\n');
    expect(wrong.code).toBe(1);
    expect(wrong.out).toContain(`refused the login of user "${TEST_USER}"`);
    expect(wrong.out).not.toContain('not-the-Password-99');
  });

  it('printed the passwords nowhere', () => {
    expect(printed.length).toBeGreaterThan(5);
    expect(printed.join('')).not.toContain(TEST_PASSWORD);
    expect(printed.join('')).not.toContain(READER_PASSWORD);
  });
});
