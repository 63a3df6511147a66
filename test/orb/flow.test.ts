// The seed pipeline end to end through the offline runner: examples/circleci/config.yml with the
// packed orb, its build job against a real registry (htpasswd) and a real Docker engine. Only the
// endpoints are changed: the registry on loopback instead of asia.gcr.io, password login instead of
// a Google key (the test registry speaks htpasswd).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { BUSYBOX_DOCKERFILE, makeContext } from '../build/context.js';
import { type DockerEngine, startDockerEngine } from '../support/docker-engine.js';
import { startRegistry, TEST_PASSWORD, TEST_USER, type TestRegistry } from '../support/registry.js';
import { allOutput, type JobResult, OfflineRunner } from './runner.js';

const exec = promisify(execFile);
const root = join(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'orb-flow-'));
const PROJECT = 'demo-project-4711';

let engine: DockerEngine;
let registry: TestRegistry;
let appRepo: string;
let sha: string;

beforeAll(async () => {
  [engine, registry] = await Promise.all([startDockerEngine(), startRegistry('htpasswd')]);
  // The application repository the build job checks out: a Dockerfile and one commit.
  appRepo = await makeContext(BUSYBOX_DOCKERFILE, { 'app.txt': 'circleci-demo-gitops\n' });
  const git = (...args: string[]) => exec('git', ['-C', appRepo, ...args]);
  await git('init', '--quiet', '--initial-branch=main');
  await git('add', '.');
  await git(
    '-c',
    'user.name=Dev',
    '-c',
    'user.email=dev@example.com',
    'commit',
    '--quiet',
    '-m',
    'app',
  );
  sha = (await git('rev-parse', 'HEAD')).stdout.trim();
});

afterAll(async () => {
  await Promise.all([engine?.stop(), registry?.stop()]);
  rmSync(work, { recursive: true, force: true });
});

/** The example config, pointed at the test's registry; `jobs` picks which of its jobs to keep. */
function seedConfig(jobs: string[] = ['build_and_push_image']): string {
  const config = YAML.parse(readFileSync(join(root, 'examples/circleci/config.yml'), 'utf8'));
  const wf = config.workflows.build_and_release;
  wf.jobs = wf.jobs.filter((entry: Record<string, { name: string }>) =>
    jobs.includes(Object.values(entry)[0]!.name),
  );
  for (const entry of wf.jobs) {
    const args = Object.values(entry)[0] as Record<string, unknown>;
    if (typeof args.image === 'string') {
      args.image = args.image.replace('asia.gcr.io', registry.host);
    }
    if (args.name === 'build_and_push_image') {
      args.registry_login = 'password';
      args.registry_username = TEST_USER;
      args.registry_password_env = 'REGISTRY_PASSWORD';
      Reflect.deleteProperty(args, 'gcp_key_env');
      // The job reads the commit's exported results after the orb's steps.
      args['post-steps'] = [
        {
          run: {
            name: 'Read the results',
            command: 'echo "ref=$GITOPS_RELEASE_IMAGE_REF result=$GITOPS_RELEASE_BUILD_RESULT"',
          },
        },
      ];
    }
  }
  return YAML.stringify(config);
}

function runner(config: string, context: Record<string, string>) {
  return new OfflineRunner({
    config,
    orbs: { 'gitops-release/gitops-release@0.1': join(root, 'orb/orb.yml') },
    pipeline: {
      sha,
      branch: 'main',
      projectUsername: 'tadashi0713',
      projectReponame: 'circleci-demo-gitops-app',
      repositoryUrl: appRepo,
    },
    contexts: { gitops: context },
    workDir: mkdtempSync(join(work, 'run-')),
    machineEnv: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      DOCKER_HOST: engine.host,
    },
  });
}

const gitopsContext = () => ({ GOOGLE_PROJECT_ID: PROJECT, REGISTRY_PASSWORD: TEST_PASSWORD });

function only(results: JobResult[], name: string): JobResult {
  const job = results.find((r) => r.name === name);
  if (!job) throw new Error(`no job ${name}`);
  return job;
}

/** Everything printed by every run in this file: no secret may appear in any of it. */
const printed: string[] = [];

describe('the orb in the seed pipeline', () => {
  const repository = () => `${PROJECT}/circleci-demo-gitops`;
  let digest = '';

  it('build_and_push_image: checks out, builds with the engine, pushes <sha:7> to the registry', async () => {
    const results = await runner(seedConfig(), gitopsContext()).runWorkflow();
    printed.push(allOutput(results));
    const build = only(results, 'build_and_push_image');
    expect(build.status, allOutput(results)).toBe('success');
    expect(build.executor).toMatchObject({
      kind: 'machine',
      image: 'ubuntu-2404:current',
      resourceClass: 'large',
    });
    expect(build.steps.map((s) => s.name)).toEqual([
      'Checkout code',
      'Unpack the gitops-release CLI',
      `Build and push ${registry.host}/\${GOOGLE_PROJECT_ID}/circleci-demo-gitops`,
      'Read the results',
    ]);
    const manifest = await registry.manifest(repository(), sha.slice(0, 7));
    digest = manifest.digest;
    const config = await registry.config(repository(), sha.slice(0, 7));
    expect(
      (config.config as { Labels: Record<string, string> }).Labels[
        'org.opencontainers.image.revision'
      ],
    ).toBe(sha);
    const json = JSON.parse(build.steps[2]!.output.trim().split('\n').at(-1)!);
    expect(json).toMatchObject({
      result: 'built',
      digest,
      image: `${registry.host}/${repository()}:${sha.slice(0, 7)}`,
    });
    expect(build.steps[3]!.output).toBe(
      `ref=${registry.host}/${repository()}@${digest} result=built\n`,
    );
  });

  it('a re-run of the same commit builds and pushes nothing and reports the same digest', async () => {
    const before = registry.requests().length;
    const imagesBefore = (await engine.imageIds()).length;
    const results = await runner(seedConfig(), gitopsContext()).runWorkflow();
    printed.push(allOutput(results));
    const build = only(results, 'build_and_push_image');
    expect(build.status, allOutput(results)).toBe('success');
    expect(build.steps[3]!.output).toBe(
      `ref=${registry.host}/${repository()}@${digest} result=skipped-exists\n`,
    );
    const writes = registry
      .requests()
      .slice(before)
      .filter((r) => r.method === 'PUT' || r.method === 'POST' || r.method === 'PATCH');
    expect(writes).toEqual([]);
    expect((await engine.imageIds()).length).toBe(imagesBefore);
  });

  it('a missing env_var_name variable fails the step with its name, before any registry request', async () => {
    const before = registry.requests().length;
    const { REGISTRY_PASSWORD: _, ...withoutPassword } = gitopsContext();
    const results = await runner(seedConfig(), withoutPassword).runWorkflow();
    printed.push(allOutput(results));
    const build = only(results, 'build_and_push_image');
    expect(build.status).toBe('failed');
    const failed = build.steps.find((s) => s.exitCode !== 0)!;
    expect(failed.name).toMatch(/^Build and push/);
    expect(failed.output).toContain(
      'the environment variable REGISTRY_PASSWORD (named by parameter registry_password_env) is not set or empty',
    );
    expect(registry.requests().length).toBe(before);
    // The post-step does not run after a failure.
    expect(build.steps.map((s) => s.name)).not.toContain('Read the results');
  });

  it('a wrong password fails with the registry and user named, and the password is never printed', async () => {
    const results = await runner(seedConfig(), {
      ...gitopsContext(),
      REGISTRY_PASSWORD: 'Wr0ng-pass-1234',
    }).runWorkflow();
    const output = allOutput(results);
    printed.push(output);
    expect(only(results, 'build_and_push_image').status).toBe('failed');
    expect(output).toContain(TEST_USER);
    expect(output).not.toContain('Wr0ng-pass-1234');
  });

  it('no secret appears in anything any job printed', () => {
    expect(printed.length).toBeGreaterThan(3);
    for (const text of printed) expect(text).not.toContain(TEST_PASSWORD);
  });
});
