// build_and_push_image through the committed bundle, run as the runner runs it, against a real
// registry (token auth, as GHCR, GCR and ECR speak it) and a real builder (buildah, daemonless).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { BUSYBOX_DOCKERFILE, makeContext } from '../build/context.js';
import { type DaemonlessStorage, daemonlessStorage } from '../build/daemonless.js';
import {
  READER_PASSWORD,
  READER_USER,
  startRegistry,
  TEST_PASSWORD,
  TEST_USER,
  type TestRegistry,
} from '../support/registry.js';
import { type ActionRun, runAction } from './run-action.js';
import { root } from './workflow-lint.js';

const SHA = 'c0ffee1234567890c0ffee1234567890c0ffee12';
const TOKEN = 'ghs_Act10nT0kenThatMustNeverShow42';
const BUILD_SECRET = 'bu1ld-s3cret-from-input-77';
const ENV_SECRET = 'env-s3cret-from-variable-88';
const declaredOutputs = Object.keys(
  (parse(readFileSync(join(root, 'action.yml'), 'utf8')) as { outputs: object }).outputs,
).sort();

let registry: TestRegistry;
let storage: DaemonlessStorage;
let context: string;
const runs: ActionRun[] = [];

async function build(inputs: Record<string, string>, sha = SHA): Promise<ActionRun> {
  const run = await runAction(
    {
      command: 'build_and_push_image',
      'github-token': TOKEN,
      builder: 'buildah',
      ...inputs,
    },
    { env: { ...storage.env, ...noDocker, GITHUB_SHA: sha }, cwd: context },
  );
  runs.push(run);
  return run;
}

// The runner's environment, not the test process's: only what buildah needs is passed on.
const noDocker = { DOCKER_HOST: undefined, DOCKER_CONFIG: undefined };

beforeAll(async () => {
  [registry, storage] = await Promise.all([startRegistry('token'), daemonlessStorage()]);
  context = await makeContext(BUSYBOX_DOCKERFILE, { 'app.txt': 'action e2e\n' });
});

afterAll(async () => {
  await registry?.stop();
  await storage?.dispose();
});

describe('the bundle under the runner', () => {
  it('runs on Node 24, as runs.using: node24 does', () => {
    expect(process.versions.node.split('.')[0]).toBe('24');
  });
});

describe('build_and_push_image', () => {
  let digest: string;

  it('builds and pushes the short-SHA tag; outputs, summary and registry agree', async () => {
    const r = await build({
      image: `${registry.host}/acme/web`,
      username: TEST_USER,
      password: TEST_PASSWORD,
      'extra-tags': 'latest',
      'build-args': 'GREETING=from the action',
    });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const manifest = await registry.manifest('acme/web', 'c0ffee1');
    digest = manifest.digest;
    expect(r.outputs).toMatchObject({
      result: 'built',
      image: `${registry.host}/acme/web:c0ffee1`,
      digest,
      'image-ref': `${registry.host}/acme/web@${digest}`,
      tags: 'c0ffee1,latest',
      'pull-request-url': '',
    });
    expect(Object.keys(r.outputs).sort()).toEqual(declaredOutputs);
    expect((await registry.manifest('acme/web', 'latest')).digest).toBe(digest);
    const config = (await registry.config('acme/web', 'c0ffee1')) as {
      config: { Labels: Record<string, string> };
    };
    expect(config.config.Labels).toMatchObject({
      'org.opencontainers.image.revision': SHA,
      'org.opencontainers.image.source': 'https://github.com/acme/web',
    });
    expect(r.summary).toContain('Image built and pushed');
    expect(r.summary).toContain(`\`${registry.host}/acme/web:c0ffee1\``);
    expect(r.summary).toContain(digest);
    // The builder's log is folded into one group.
    expect(r.stdout).toMatch(/^::group::Build and push /m);
    expect(r.stdout).toMatch(/^::endgroup::$/m);
  });

  it('a re-run of the same commit builds nothing and reports the same digest', async () => {
    const before = registry.requests().length;
    const r = await build({
      image: `${registry.host}/acme/web`,
      username: TEST_USER,
      password: TEST_PASSWORD,
    });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.outputs).toMatchObject({ result: 'skipped-exists', digest });
    expect(r.summary).toContain('already in the registry');
    const seen = await registry.requestsSince(before, 1);
    expect(seen.every((q) => q.method === 'HEAD')).toBe(true);
  });

  it('a dry run of a new commit says it would build, and pushes nothing', async () => {
    const before = registry.requests().length;
    const r = await build(
      {
        image: `${registry.host}/acme/web`,
        username: TEST_USER,
        password: TEST_PASSWORD,
        'dry-run': 'true',
      },
      'eeeeeee000000000000000000000000000000000',
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.outputs).toMatchObject({
      result: 'would-build',
      image: `${registry.host}/acme/web:eeeeeee`,
      digest: '',
    });
    expect(r.summary).toContain('Dry run');
    const seen = await registry.requestsSince(before, 1);
    expect(seen.every((q) => q.method === 'HEAD' || q.method === 'GET')).toBe(true);
    await expect(registry.manifest('acme/web', 'eeeeeee')).rejects.toThrow();
  });

  it('a user who may only pull: one clear failure, outputs still set', async () => {
    const r = await build(
      {
        image: `${registry.host}/acme/web`,
        username: READER_USER,
        password: READER_PASSWORD,
        'skip-existing': 'false',
      },
      'dddddddddddddddddddddddddddddddddddddddd',
    );
    expect(r.code).toBe(1);
    expect(r.errors).toHaveLength(1);
    expect(r.outputs.result).toBe('failed');
    expect(Object.keys(r.outputs).sort()).toEqual(declaredOutputs);
  });

  it('a wrong password is refused before any build, naming the registry and user', async () => {
    const r = await build({
      image: `${registry.host}/acme/web`,
      username: TEST_USER,
      password: 'Wr0ng-pa55word-xyz',
      tag: 'never-built',
    });
    expect(r.code).toBe(1);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toContain(TEST_USER);
    expect(r.outputs.result).toBe('failed');
  });

  it.each([
    [{ builder: 'kaniko' }, 'builder'],
    [{ 'skip-existing': 'yes' }, 'skip-existing'],
    [{ image: 'Not A/Valid Image' }, 'image'],
    [{ file: 'missing.Dockerfile' }, 'file'],
  ])('an invalid input %j fails once, naming "%s", with every output set', async (given, input) => {
    const r = await build({ image: `${registry.host}/acme/web`, ...given });
    expect(r.code).toBe(1);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toContain(input);
    expect(r.outputs.result).toBe('failed');
    expect(Object.keys(r.outputs).sort()).toEqual(declaredOutputs);
  });

  it('push: false with secrets and secret-envs: built in the runner, masked, nothing pushed', async () => {
    const secretContext = await makeContext(
      `FROM scratch
COPY bin/busybox /bin/busybox
RUN --mount=type=secret,id=a --mount=type=secret,id=b ["/bin/busybox", "sh", "-c", "/bin/busybox echo a=$(/bin/busybox cat /run/secrets/a) b=$(/bin/busybox cat /run/secrets/b)"]
`,
    );
    const before = registry.requests().length;
    const run = await runAction(
      {
        command: 'build_and_push_image',
        builder: 'buildah',
        image: `${registry.host}/acme/pr-check`,
        push: 'false',
        secrets: `a=${BUILD_SECRET}`,
        'secret-envs': 'b=FROM_ENV',
      },
      {
        env: { ...storage.env, ...noDocker, GITHUB_SHA: SHA, FROM_ENV: ENV_SECRET },
        cwd: secretContext,
      },
    );
    runs.push(run);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.outputs).toMatchObject({ result: 'built-not-pushed', digest: '', 'image-ref': '' });
    expect(run.summary).toContain('not pushed');
    expect(run.stdout).toContain('a=*** b=***');
    // The values alone are registered for masking, not only the ID=VALUE lines.
    expect(run.stdout).toContain(`::add-mask::${BUILD_SECRET}`);
    expect(run.stdout).toContain(`::add-mask::${ENV_SECRET}`);
    await new Promise((done) => setTimeout(done, 300));
    expect(registry.requests().slice(before)).toEqual([]);
  });

  it('no secret appears in anything the action printed or wrote; each was masked', () => {
    expect(runs.length).toBeGreaterThan(5);
    for (const r of runs) {
      for (const secret of [
        TOKEN,
        TEST_PASSWORD,
        READER_PASSWORD,
        'Wr0ng-pa55word-xyz',
        BUILD_SECRET,
        ENV_SECRET,
      ]) {
        expect(r.everything).not.toContain(secret);
      }
    }
    expect(runs[0]!.stdout).toContain(`::add-mask::${TEST_PASSWORD}`);
    expect(runs[0]!.stdout).toContain(`::add-mask::${TOKEN}`);
  });
});
