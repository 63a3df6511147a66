// Build secrets and build-only runs, with real buildah and podman (and the real Docker engine's
// refusal where its CLI has no BuildKit) against a real registry: a secret is usable in a RUN
// step and ends up in no layer, no config, no argument and no line of output.

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DockerEngine, startDockerEngine } from '../support/docker-engine.js';
import { startRegistry, TEST_PASSWORD, TEST_USER, type TestRegistry } from '../support/registry.js';
import { runCli } from '../support/run-cli.js';
import { makeContext } from './context.js';
import { type DaemonlessStorage, daemonlessStorage } from './daemonless.js';

const exec = promisify(execFile);
const SHA = '5e5e5e5e1234567890abcdef1234567890abcdef';
const SECRET = 'npm-tok3n-Zq8Wv1-never-in-a-layer';
const SECRET_SHA256 = createHash('sha256').update(SECRET).digest('hex');

// The RUN step proves the secret is there (its hash goes into the image) and tries to leak it
// into the build log (the CLI must hide it).
const DOCKERFILE = `FROM scratch
COPY bin/busybox /bin/busybox
RUN --mount=type=secret,id=npm_token ["/bin/busybox", "sh", "-c", "/bin/busybox mkdir -p /app && /bin/busybox sha256sum /run/secrets/npm_token | /bin/busybox cut -d' ' -f1 > /app/token.sha256 && /bin/busybox echo \\"token is $(/bin/busybox cat /run/secrets/npm_token)\\""]
COPY app.txt /app/app.txt
`;

let registry: TestRegistry;
let storage: DaemonlessStorage;
let context: string;
const printed: string[] = [];

async function cli(args: string[], env: Record<string, string | undefined> = {}) {
  const r = await runCli(
    ['build-and-push-image', ...args],
    {
      ...storage.env,
      REGISTRY_PASSWORD: TEST_PASSWORD,
      NPM_TOKEN: SECRET,
      CIRCLE_SHA1: SHA,
      ...env,
    },
    context,
  );
  printed.push(r.stdout, r.stderr);
  return r;
}

const login = ['--username', TEST_USER, '--password-env', 'REGISTRY_PASSWORD'];

/** Every blob of the image (config and layers), decompressed where gzipped, as text. */
async function imageBytes(repository: string, tag: string): Promise<string[]> {
  const { body } = await registry.manifest(repository, tag);
  const layers = (body.layers as { digest: string }[]).map((l) => l.digest);
  const config = (body.config as { digest: string }).digest;
  const texts: string[] = [];
  for (const digest of [config, ...layers]) {
    const raw = await registry.blob(repository, digest);
    const plain = raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw;
    texts.push(plain.toString('latin1'));
  }
  return texts;
}

beforeAll(async () => {
  [registry, storage] = await Promise.all([startRegistry('htpasswd'), daemonlessStorage()]);
  context = await makeContext(DOCKERFILE, { 'app.txt': 'secrets e2e\n' });
});

afterAll(async () => {
  await registry?.stop();
  await storage?.dispose();
  // The secret value was in the environment only: no run printed it.
  for (const text of printed) expect(text).not.toContain(SECRET);
});

describe.each(['buildah', 'podman'] as const)('--secret-env with %s', (builder) => {
  it('mounts the secret for RUN; it is in no layer, config or output, and the log shows ***', async () => {
    const repository = `team/secret-${builder}`;
    const r = await cli([
      '--image',
      `${registry.host}/${repository}`,
      ...login,
      '--builder',
      builder,
      '--secret-env',
      'npm_token=NPM_TOKEN',
      '--no-cache',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ result: 'built', builder });
    // The RUN step read it (and tried to print it).
    expect(r.stderr).toContain('token is ***');
    const blobs = await imageBytes(repository, SHA.slice(0, 7));
    expect(blobs.some((b) => b.includes(SECRET_SHA256))).toBe(true);
    for (const blob of blobs) expect(blob).not.toContain(SECRET);
  });
});

describe('build secrets, refused', () => {
  it('names the variable when it is not set, before building', async () => {
    const r = await cli([
      '--image',
      `${registry.host}/team/x`,
      '--secret-env',
      'npm_token=MISSING_VAR',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      '--secret-env npm_token=MISSING_VAR: the environment variable MISSING_VAR is empty or not set',
    );
  });

  it('with the Docker engine but no buildx, says secrets need BuildKit and what to use', async () => {
    let engine: DockerEngine | undefined;
    try {
      engine = await startDockerEngine();
      const r = await cli(
        [
          '--image',
          `${registry.host}/team/docker-secret`,
          ...login,
          '--builder',
          'docker',
          '--secret-env',
          'npm_token=NPM_TOKEN',
        ],
        engine.env,
      );
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('build secrets need BuildKit');
      expect(r.stderr).toContain('--builder buildah or podman');
      expect(await engine.imageIds()).toEqual([]);
    } finally {
      await engine?.stop();
    }
  });
});

describe('--no-push (build only, for pull-request CI)', () => {
  it('builds into the local store, asks the registry nothing and needs no login', async () => {
    const before = registry.requests().length;
    const repository = 'team/pr-check';
    const r = await cli([
      '--image',
      `${registry.host}/${repository}`,
      '--builder',
      'buildah',
      '--no-push',
      '--secret-env',
      'npm_token=NPM_TOKEN',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      result: 'built-not-pushed',
      image: `${registry.host}/${repository}:${SHA.slice(0, 7)}`,
      builder: 'buildah',
    });
    expect(JSON.parse(r.stdout).digest).toBeUndefined();
    const { stdout } = await exec('buildah', ['images', '--format', '{{.Name}}:{{.Tag}}'], {
      env: storage.env as NodeJS.ProcessEnv,
    });
    expect(stdout).toContain(`${registry.host}/${repository}:${SHA.slice(0, 7)}`);
    // Not one request: nothing checked, nothing pushed.
    await new Promise((done) => setTimeout(done, 300));
    expect(registry.requests().slice(before)).toEqual([]);
  });

  it('--quiet prints neither progress nor the builder’s output; the result still comes (with --pull)', async () => {
    const r = await cli([
      '--image',
      `${registry.host}/team/pr-check`,
      '--builder',
      'buildah',
      '--no-push',
      '--tag',
      'quiet',
      '--quiet',
      '--pull',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(
      `built, not pushed (--no-push) ${registry.host}/team/pr-check:quiet`,
    );
  });
});
