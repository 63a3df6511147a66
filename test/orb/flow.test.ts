// The seed pipeline end to end through the offline runner: examples/circleci/config.yml with the
// packed orb, its build job against a real registry (token auth) and a real Docker engine, its
// release job against a manifest repository served by git http-backend. Only the endpoints are
// changed: the registry on loopback instead of asia.gcr.io (with bearer-token auth that takes the
// Google key as `_json_key`, as gcr.io does), and the API or git remote of the manifest repository.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { BUSYBOX_DOCKERFILE, makeContext } from '../build/context.js';
import { type GitHubSimulator, startGitHubSimulator } from '../github-sim/index.js';
import { type DockerEngine, startDockerEngine } from '../support/docker-engine.js';
import { type GitHttpServer, startGitHttpServer } from '../support/git-http-server.js';
import { GCP_TEST_KEY, startRegistry, type TestRegistry } from '../support/registry.js';
import { allOutput, type JobResult, OfflineRunner } from './runner.js';

const exec = promisify(execFile);
const root = join(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'orb-flow-'));
const PROJECT = 'demo-project-4711';
const GIT_TOKEN = 'git-t0ken-for-manifests-9931';
const OLD_TAG = '0a1b2c3';

let engine: DockerEngine;
let registry: TestRegistry;
let appRepo: string;
let sha: string;
let gitServer: GitHttpServer;
let sim: GitHubSimulator;
const MANIFEST_REPO = 'tadashi0713/circleci-demo-gitops-manifest';
const APP_REPO = 'tadashi0713/circleci-demo-gitops-app';
let manifests: string;

const gitIn = async (dir: string, ...args: string[]) =>
  (
    await exec('git', [
      '-C',
      dir,
      '-c',
      'user.name=Ops',
      '-c',
      'user.email=ops@example.com',
      ...args,
    ])
  ).stdout.trim();

/** The manifest repository: a Deployment as in the seed's manifest repository, with comments. */
function deployment(image: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: circleci-demo-gitops
spec:
  replicas: 2 # two for the demo
  selector:
    matchLabels: { app: circleci-demo-gitops }
  template:
    metadata:
      labels: { app: circleci-demo-gitops }
    spec:
      containers:
        - name: app
          # the tag is changed by the release pull request
          image: ${image}
          ports:
            - containerPort: 3000
`;
}

beforeAll(async () => {
  [engine, registry] = await Promise.all([startDockerEngine(), startRegistry('token')]);
  // The application repository the build job checks out: a Dockerfile and one commit.
  appRepo = await makeContext(BUSYBOX_DOCKERFILE, { 'app.txt': 'circleci-demo-gitops\n' });
  await gitIn(appRepo, 'init', '--quiet', '--initial-branch=main');
  await gitIn(appRepo, 'add', '.');
  await gitIn(appRepo, 'commit', '--quiet', '-m', 'app');
  sha = await gitIn(appRepo, 'rev-parse', 'HEAD');

  const gitRoot = mkdtempSync(join(work, 'git-'));
  manifests = join(gitRoot, 'manifests.git');
  const seed = mkdtempSync(join(work, 'seed-'));
  await exec('git', ['init', '--quiet', '--initial-branch=main', seed]);
  await writeFile(
    join(seed, 'deployment.yaml'),
    deployment(`${registry.host}/${PROJECT}/circleci-demo-gitops:${OLD_TAG}`),
  );
  await gitIn(seed, 'add', '.');
  await gitIn(seed, 'commit', '--quiet', '-m', 'manifests');
  await exec('git', ['clone', '--quiet', '--bare', seed, manifests]);
  gitServer = await startGitHttpServer({ root: gitRoot, token: GIT_TOKEN });

  // GitHub: the seed's manifest repository, and the application repository with the same commit.
  sim = await startGitHubSimulator();
  await sim.createRepo(MANIFEST_REPO, {
    'deployment.yaml': deployment(`${registry.host}/${PROJECT}/circleci-demo-gitops:${OLD_TAG}`),
  });
  await sim.createRepo(APP_REPO, { 'README.md': 'app\n' });
  await gitIn(appRepo, 'push', '--quiet', '--force', sim.repoPath(APP_REPO), 'main');
});

afterAll(async () => {
  await Promise.all([engine?.stop(), registry?.stop(), gitServer?.close(), sim?.close()]);
  rmSync(work, { recursive: true, force: true });
});

/** The example config, pointed at the test's registry; `jobs` picks which of its jobs to keep. */
function seedConfig(
  jobs: string[] = ['build_and_push_image'],
  host: 'git' | 'github' = 'git',
): string {
  const config = YAML.parse(readFileSync(join(root, 'examples/circleci/config.yml'), 'utf8'));
  const wf = config.workflows.build_and_release;
  wf.jobs = wf.jobs.filter((entry: Record<string, { name: string }>) =>
    jobs.includes(Object.values(entry)[0]!.name),
  );
  for (const entry of wf.jobs) {
    const args = Object.values(entry)[0] as Record<string, unknown>;
    if (Array.isArray(args.requires)) args.requires = args.requires.filter((r) => jobs.includes(r));
    if (typeof args.image === 'string') {
      args.image = args.image.replace('asia.gcr.io', registry.host);
    }
    if (args.name === 'build_and_push_image') {
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
    if (args.name === 'create_release_pr' && host === 'git') {
      // The manifest repository on a plain git remote, with its token in GIT_TOKEN.
      args.host = 'git';
      args.repo = '$GIT_SERVER/manifests.git';
      args.token_env = 'GIT_TOKEN';
    }
    if (args.name === 'create_release_pr' && host === 'github') {
      // As written in the example, with only the API pointed at the simulator (as for GHES).
      args.github_url = '$GITHUB_API';
    }
    if (args.name === 'create_release_pr') {
      args['post-steps'] = [
        {
          run: {
            name: 'Read the release',
            command:
              'echo "release=$GITOPS_RELEASE_RESULT commit=$GITOPS_RELEASE_COMMIT pr=$GITOPS_RELEASE_PR_OPERATION@$GITOPS_RELEASE_PR_HEAD_SHA"',
          },
        },
      ];
    }
  }
  return YAML.stringify(config);
}

function runner(config: string, context: Record<string, string>, commit = sha) {
  return new OfflineRunner({
    config,
    orbs: { 'gitops-release/gitops-release@1': join(root, 'orb/orb.yml') },
    pipeline: {
      sha: commit,
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

const gitopsContext = (): Record<string, string> => ({
  GOOGLE_PROJECT_ID: PROJECT,
  GCLOUD_SERVICE_KEY: GCP_TEST_KEY,
  GIT_SERVER: gitServer.url,
  GIT_TOKEN,
  GITHUB_API: sim.url,
  GITHUB_TOKEN: sim.tokens.write,
});

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
    const writes = (await registry.requestsSince(before, 1)).filter(
      (r) => r.method === 'PUT' || r.method === 'POST' || r.method === 'PATCH',
    );
    expect(writes).toEqual([]);
    expect((await engine.imageIds()).length).toBe(imagesBefore);
  });

  it('boolean and list parameters reach the CLI: dry_run, extra_tags and tag, nothing pushed', async () => {
    const config = YAML.parse(seedConfig());
    const args = Object.values(config.workflows.build_and_release.jobs[0])[0] as Record<
      string,
      unknown
    >;
    Object.assign(args, { dry_run: true, tag: 'v1.2.3', extra_tags: 'staging, latest' });
    const before = registry
      .requests()
      .filter((r) => r.method !== 'HEAD' && r.method !== 'GET').length;
    const results = await runner(YAML.stringify(config), gitopsContext()).runWorkflow();
    printed.push(allOutput(results));
    const build = only(results, 'build_and_push_image');
    expect(build.status, allOutput(results)).toBe('success');
    const json = JSON.parse(build.steps[2]!.output.trim().split('\n').at(-1)!);
    expect(json).toMatchObject({ result: 'would-build', tags: ['v1.2.3', 'staging', 'latest'] });
    expect(build.steps[3]!.output).toBe('ref= result=would-build\n');
    const writes = (await registry.requestsSince(0, 1)).filter(
      (r) => r.method !== 'HEAD' && r.method !== 'GET',
    );
    expect(writes.length).toBe(before);
  });

  it('push: false and no_cache reach the CLI: built on the engine, no registry request; secret_envs too', async () => {
    const config = YAML.parse(seedConfig());
    const args = Object.values(config.workflows.build_and_release.jobs[0])[0] as Record<
      string,
      unknown
    >;
    Object.assign(args, { push: false, no_cache: true, tag: 'pr-check' });
    const before = registry.requests().length;
    const results = await runner(YAML.stringify(config), gitopsContext()).runWorkflow();
    printed.push(allOutput(results));
    const build = only(results, 'build_and_push_image');
    expect(build.status, allOutput(results)).toBe('success');
    const json = JSON.parse(build.steps[2]!.output.trim().split('\n').at(-1)!);
    expect(json).toMatchObject({ result: 'built-not-pushed', builder: 'docker' });
    expect(build.steps[3]!.output).toBe('ref= result=built-not-pushed\n');
    expect(await registry.requestsSince(before)).toEqual([]);

    // A build secret by variable name: this engine's CLI has no BuildKit, and the step says so.
    Object.assign(args, { secret_envs: 'npm_token=NPM_TOKEN' });
    const refused = await runner(YAML.stringify(config), {
      ...gitopsContext(),
      NPM_TOKEN: 'orb-npm-s3cret-value',
    }).runWorkflow();
    printed.push(allOutput(refused));
    const step = only(refused, 'build_and_push_image').steps.find((s) => s.exitCode !== 0)!;
    expect(step.output).toContain('build secrets need BuildKit');
    expect(allOutput(refused)).not.toContain('orb-npm-s3cret-value');
  });

  it('a missing env_var_name variable fails the step with its name, before any registry request', async () => {
    const before = registry.requests().length;
    const tokensBefore = registry.tokenRequests().length;
    const { GCLOUD_SERVICE_KEY: _, ...withoutKey } = gitopsContext();
    const results = await runner(seedConfig(), withoutKey).runWorkflow();
    printed.push(allOutput(results));
    const build = only(results, 'build_and_push_image');
    expect(build.status).toBe('failed');
    const failed = build.steps.find((s) => s.exitCode !== 0)!;
    expect(failed.name).toMatch(/^Build and push/);
    expect(failed.output).toContain(
      'the environment variable GCLOUD_SERVICE_KEY (named by parameter gcp_key_env) is not set or empty',
    );
    expect(await registry.requestsSince(before)).toEqual([]);
    expect(registry.tokenRequests().length).toBe(tokensBefore);
    // The post-step does not run after a failure.
    expect(build.steps.map((s) => s.name)).not.toContain('Read the results');
  });

  it('a key the registry refuses fails with the registry and user named, the key never printed', async () => {
    const wrongKey = GCP_TEST_KEY.replace('TESTKEYMATERIAL', 'WRONGKEYMATERIAL');
    const results = await runner(seedConfig(), {
      ...gitopsContext(),
      GCLOUD_SERVICE_KEY: wrongKey,
    }).runWorkflow();
    const output = allOutput(results);
    printed.push(output);
    expect(only(results, 'build_and_push_image').status).toBe('failed');
    expect(output).toContain('_json_key');
    expect(output).toContain(registry.host);
    expect(output).not.toContain('WRONGKEYMATERIAL');
  });

  it('the whole workflow: build, then the release branch in the manifest repository', async () => {
    const pushesBefore = gitServer.pushes();
    const results = await runner(
      seedConfig(['build_and_push_image', 'create_release_pr']),
      gitopsContext(),
    ).runWorkflow();
    printed.push(allOutput(results));
    expect(
      results.map((r) => [r.name, r.status]),
      allOutput(results),
    ).toEqual([
      ['build_and_push_image', 'success'],
      ['create_release_pr', 'success'],
    ]);
    const release = only(results, 'create_release_pr');
    // No checkout, no clone step: the job is the orb's two steps and the test's reader.
    expect(release.steps.map((s) => s.name)).toEqual([
      'Unpack the gitops-release CLI',
      `Release ${registry.host}/\${GOOGLE_PROJECT_ID}/circleci-demo-gitops into $GIT_SERVER/manifests.git`,
      'Read the release',
    ]);
    expect(release.executor).toMatchObject({
      kind: 'docker',
      image: 'cimg/node:24.11',
      resourceClass: 'small',
    });
    const branch = `release-${sha.slice(0, 7)}`;
    const head = await gitIn(manifests, 'rev-parse', branch);
    expect(release.steps[2]!.output).toBe(`release=pushed commit=${head} pr=none@\n`);
    const text = await gitIn(manifests, 'show', `${branch}:deployment.yaml`);
    expect(text).toBe(
      deployment(`${registry.host}/${PROJECT}/circleci-demo-gitops:${sha.slice(0, 7)}`).trim(),
    );
    // Pull-request mode: the base is untouched, one push made the branch.
    expect(await gitIn(manifests, 'show', 'main:deployment.yaml')).toContain(`:${OLD_TAG}`);
    expect(gitServer.pushes() - pushesBefore).toBe(1);
    expect(await gitIn(manifests, 'log', '--format=%s', '-1', branch)).toBe(
      `Release circleci-demo-gitops-app ${sha.slice(0, 7)}`,
    );
  });

  it('a re-run of the workflow builds nothing and writes nothing to the manifest repository', async () => {
    const branch = `release-${sha.slice(0, 7)}`;
    const headBefore = await gitIn(manifests, 'rev-parse', branch);
    const pushesBefore = gitServer.pushes();
    const results = await runner(
      seedConfig(['build_and_push_image', 'create_release_pr']),
      gitopsContext(),
    ).runWorkflow();
    printed.push(allOutput(results));
    expect(
      results.map((r) => r.status),
      allOutput(results),
    ).toEqual(['success', 'success']);
    expect(only(results, 'build_and_push_image').steps.at(-1)!.output).toContain(
      'result=skipped-exists',
    );
    // The branch already carries the release: the same commit is reported, nothing is pushed.
    expect(only(results, 'create_release_pr').steps.at(-1)!.output).toBe(
      `release=unchanged commit=${headBefore} pr=none@\n`,
    );
    expect(await gitIn(manifests, 'rev-parse', branch)).toBe(headBefore);
    expect(gitServer.pushes()).toBe(pushesBefore);
  });

  it('on GitHub: the release pull request, written through the API, titled as in the seed', async () => {
    sim.clearRequests();
    const results = await runner(
      seedConfig(['build_and_push_image', 'create_release_pr'], 'github'),
      gitopsContext(),
    ).runWorkflow();
    printed.push(allOutput(results));
    expect(
      results.map((r) => r.status),
      allOutput(results),
    ).toEqual(['success', 'success']);
    const short = sha.slice(0, 7);
    const prs = sim.pullRequests(MANIFEST_REPO);
    expect(prs).toHaveLength(1);
    const pr = prs[0]!;
    expect(pr).toMatchObject({
      title: `Release circleci-demo-gitops-app ${short}`,
      head: `release-${short}`,
      base: 'main',
      state: 'open',
    });
    expect(only(results, 'create_release_pr').steps.at(-1)!.output).toBe(
      `release=created commit=${pr.headSha} pr=created@${pr.headSha}\n`,
    );
    expect(await sim.readFile(MANIFEST_REPO, `release-${short}`, 'deployment.yaml')).toBe(
      deployment(`${registry.host}/${PROJECT}/circleci-demo-gitops:${short}`),
    );
    // The commit says which CircleCI job made it.
    const body = await gitIn(sim.repoPath(MANIFEST_REPO), 'log', '-1', '--format=%B', pr.headSha!);
    expect(body).toMatch(
      new RegExp(
        `^Release circleci-demo-gitops-app ${short}\\n\\nReleased by CircleCI from branch main: https://circleci\\.com/gh/tadashi0713/circleci-demo-gitops-app/\\d+$`,
      ),
    );
    // No clone: every request of the release job went to the API, none to git's protocol.
    expect(sim.requests.length).toBeGreaterThan(0);
    expect(sim.requests.every((r) => r.kind === 'rest' || r.kind === 'graphql')).toBe(true);
  });

  it('on GitHub: a re-run opens no second pull request and writes no commit', async () => {
    const short = sha.slice(0, 7);
    const head = await sim.branchHead(MANIFEST_REPO, `release-${short}`);
    const results = await runner(
      seedConfig(['build_and_push_image', 'create_release_pr'], 'github'),
      gitopsContext(),
    ).runWorkflow();
    printed.push(allOutput(results));
    expect(
      results.map((r) => r.status),
      allOutput(results),
    ).toEqual(['success', 'success']);
    expect(sim.pullRequests(MANIFEST_REPO).filter((p) => p.state === 'open')).toHaveLength(1);
    expect(await sim.branchHead(MANIFEST_REPO, `release-${short}`)).toBe(head);
    // The same pull request is updated in place; its branch already holds the same commit.
    expect(only(results, 'create_release_pr').steps.at(-1)!.output).toBe(
      `release=updated commit=${head} pr=updated@${head}\n`,
    );
  });

  it('on GitHub: without GITHUB_TOKEN the step names the variable and the parameter, and sends nothing', async () => {
    sim.clearRequests();
    const { GITHUB_TOKEN: _, ...context } = gitopsContext();
    const results = await runner(
      seedConfig(['create_release_pr'], 'github'),
      context,
    ).runWorkflow();
    printed.push(allOutput(results));
    const release = only(results, 'create_release_pr');
    expect(release.status).toBe('failed');
    expect(release.steps.at(-1)!.output).toContain(
      'the environment variable GITHUB_TOKEN (named by parameter token_env) is not set or empty',
    );
    expect(sim.requests).toEqual([]);
  });

  it('on GitHub: an older commit than the deployed one is skipped, the app taken from CIRCLE_PROJECT_*', async () => {
    // A newer commit of the application is released and merged (Argo CD deploys it) ...
    await writeFile(join(appRepo, 'app.txt'), 'newer\n');
    await gitIn(appRepo, 'commit', '--quiet', '-am', 'newer');
    const newer = await gitIn(appRepo, 'rev-parse', 'HEAD');
    await gitIn(appRepo, 'push', '--quiet', sim.repoPath(APP_REPO), 'main');
    await sim.commit(MANIFEST_REPO, 'main', {
      'deployment.yaml': deployment(
        `${registry.host}/${PROJECT}/circleci-demo-gitops:${newer.slice(0, 7)}`,
      ),
    });
    const mainBefore = await sim.branchHead(MANIFEST_REPO, 'main');
    const branchBefore = await sim.branchHead(MANIFEST_REPO, `release-${sha.slice(0, 7)}`);
    // ... then a slow pipeline of the older commit reaches its release job.
    sim.clearRequests();
    const results = await runner(
      seedConfig(['create_release_pr'], 'github'),
      gitopsContext(),
      sha,
    ).runWorkflow();
    printed.push(allOutput(results));
    const release = only(results, 'create_release_pr');
    expect(release.status, allOutput(results)).toBe('success');
    expect(release.steps.at(-1)!.output).toMatch(/^release=skipped-older /);
    expect(await sim.branchHead(MANIFEST_REPO, 'main')).toBe(mainBefore);
    expect(await sim.branchHead(MANIFEST_REPO, `release-${sha.slice(0, 7)}`)).toBe(branchBefore);
    // The guard compared the two commits in the application repository CircleCI named.
    expect(sim.requests.some((r) => r.path.includes(`/repos/${APP_REPO}/compare/`))).toBe(true);
  });

  it('no secret appears in anything any job printed', () => {
    expect(printed.length).toBeGreaterThan(5);
    for (const text of printed) {
      expect(text).not.toContain('TESTKEYMATERIAL');
      expect(text).not.toContain(Buffer.from(GCP_TEST_KEY).toString('base64').slice(0, 40));
      expect(text).not.toContain(GIT_TOKEN);
      expect(text).not.toContain(sim.tokens.write);
      expect(text).not.toContain(Buffer.from(`x-access-token:${GIT_TOKEN}`).toString('base64'));
    }
  });
});
