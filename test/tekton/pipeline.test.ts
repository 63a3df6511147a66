// Seed 003 end to end in the offline Tekton runner: the example Pipeline and the published Tasks,
// run against a real registry on a LAN address with TLS from the test's CA (a Harbor with a robot
// account), buildah, git http-backend for the application and manifest repositories, and the
// GitHub simulator for the release pull request variant.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX_DOCKERFILE, makeContext } from '../build/context.js';
import { type DaemonlessStorage, daemonlessStorage } from '../build/daemonless.js';
import { type GitHubSimulator, startGitHubSimulator } from '../github-sim/index.js';
import { type GitHttpServer, startGitHttpServer } from '../support/git-http-server.js';
import { createNetns, type TestNetns } from '../support/netns.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { createTestCa, type TestCa } from '../support/test-ca.js';
import {
  type Cluster,
  clusterOf,
  loadResources,
  type PipelineRunRecord,
  type Resource,
  runPipelineRun,
} from './runner.js';

const ROOT = join(import.meta.dirname, '..', '..');
const ROBOT = 'robot$project+ci';
const ROBOT_SECRET = 'Harbor-r0bot-$ecret-0815';
const GIT_TOKEN = 'git-push-token-4711';

let netns: TestNetns;
let ca: TestCa;
let registry: TestRegistry;
let storage: DaemonlessStorage;
let git: GitHttpServer;
/** The application repository is public: the catalog's git-clone needs no login for it. */
let publicGit: GitHttpServer;
let gitRoot: string;
let cliServer: Server;
let cliUrl: string;
let home: string;
let resources: Resource[];
let appHead: string;

const sh = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=dev', '-c', 'user.email=dev@example.com', ...args], {
    cwd,
    encoding: 'utf8',
  }).trim();

/** A bare repository under the git server's root, with these files committed on main. */
async function bareRepo(name: string, files: Record<string, string>): Promise<string> {
  const work = await mkdtemp(join(tmpdir(), 'gr-work-'));
  sh(work, 'init', '-q', '-b', 'main');
  for (const [path, text] of Object.entries(files)) {
    execFileSync('mkdir', ['-p', join(work, path, '..')]);
    await writeFile(join(work, path), text);
  }
  sh(work, 'add', '.');
  sh(work, 'commit', '-q', '-m', `${name}: first`);
  const head = sh(work, 'rev-parse', 'HEAD');
  sh(gitRoot, 'clone', '-q', '--bare', work, `${name}.git`);
  await rm(work, { recursive: true, force: true });
  return head;
}

/** What `kubectl create secret docker-registry harbor-robot --docker-username='robot$project+ci'` stores. */
function dockerConfigSecret(host: string, user: string, password: string) {
  const auth = Buffer.from(`${user}:${password}`).toString('base64');
  return {
    '.dockerconfigjson': JSON.stringify({ auths: { [host]: { username: user, password, auth } } }),
  };
}

/** The README's Tekton section, and the commands of its shell blocks (continuation lines joined). */
async function readmeTekton() {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Tekton\n'), readme.indexOf('## Jenkins\n'));
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  return blocks.flatMap((b) =>
    b
      .replace(/\\\n\s*/g, ' ')
      .split('\n')
      .filter(Boolean),
  );
}

/**
 * The Secrets and the ConfigMap made by pasting the README's commands (as kubectl's client-side
 * dry run prints them), with the test's Harbor, CA and tokens: the robot's `$` goes through the
 * shell, kubectl and the Secret exactly as a user's would.
 */
async function readmeObjects() {
  const dir = await mkdtemp(join(tmpdir(), 'gr-readme-'));
  await writeFile(join(dir, 'harbor-ca.pem'), ca.caPem);
  const secrets: Record<string, Record<string, string>> = {};
  const configMaps: Record<string, Record<string, string>> = {};
  for (const line of (await readmeTekton()).filter(
    (l) => l.startsWith('kubectl create secret') || l.startsWith('kubectl create configmap'),
  )) {
    const command = `${line.replaceAll('harbor.example.com', registry.host)} --dry-run=client -o json`;
    const made = JSON.parse(
      execFileSync('bash', ['-c', command], {
        cwd: dir,
        encoding: 'utf8',
        env: {
          PATH: process.env.PATH,
          HOME: home,
          HARBOR_ROBOT_SECRET: ROBOT_SECRET,
          MANIFEST_TOKEN: GIT_TOKEN,
        },
      }),
    ) as { kind: string; metadata: { name: string }; data: Record<string, string> };
    if (made.kind === 'Secret')
      secrets[made.metadata.name] = Object.fromEntries(
        Object.entries(made.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
      );
    else configMaps[made.metadata.name] = made.data;
  }
  await rm(dir, { recursive: true, force: true });
  return { secrets, configMaps };
}

let pasted: Awaited<ReturnType<typeof readmeObjects>>;

/** The Tasks and Pipelines as a cluster holds them, with the Secrets the README has you create. */
function cluster(secrets: Record<string, Record<string, string>> = defaultSecrets()): Cluster {
  const c = clusterOf(resources.map(pointCliAtTestServer));
  for (const [name, data] of Object.entries(secrets)) c.secrets.set(name, data);
  for (const [name, data] of Object.entries(pasted.configMaps)) c.configMaps.set(name, data);
  return c;
}

function defaultSecrets(): Record<string, Record<string, string>> {
  return { ...pasted.secrets };
}

/**
 * The cluster has no internet here either: the gitops-release Tasks fetch the CLI from a local
 * server instead of the GitHub release (CLI_URL); CLI_SHA256 stays the Task's own default.
 */
function pointCliAtTestServer(r: Resource): Resource {
  if (r.kind !== 'Pipeline') return r;
  const copy = structuredClone(r);
  for (const t of copy.spec.tasks)
    if (String(t.taskRef?.name).startsWith('gitops-release-'))
      t.params = [...(t.params ?? []), { name: 'CLI_URL', value: cliUrl }];
  return copy;
}

async function example(file: string, params: Record<string, string>): Promise<Resource> {
  const [run] = await loadResources([join(ROOT, 'examples/tekton', file)]);
  const given = new Map<string, string>(
    run!.spec.params.map((p: { name: string; value: string }) => [p.name, p.value]),
  );
  for (const [k, v] of Object.entries(params)) given.set(k, v);
  run!.spec.params = [...given].map(([name, value]) => ({ name, value }));
  return run!;
}

function run(pipelineRun: Resource, c = cluster()): Promise<PipelineRunRecord> {
  return runPipelineRun(pipelineRun, c, {
    env: { ...storage.env, HOME: home, PATH: process.env.PATH },
  });
}

function task(r: PipelineRunRecord, name: string) {
  const t = r.taskRuns.find((x) => x.name === name);
  if (!t) throw new Error(`no task run ${name}: ${r.message}`);
  return t;
}

const MANIFEST = (
  host: string,
) => `# The manifest from seed 003: the tag after the colon is the commit the image was built from.
apiVersion: v1
kind: Pod
metadata:
  name: go-sampleapp
spec:
  containers:
  - name: go-sampleapp
    image: ${host}/demo-ns/go-sampleapp:88596e5
  imagePullSecrets:
  - name: registry-secret
`;

beforeAll(async () => {
  [netns, ca, storage] = await Promise.all([createNetns(), createTestCa(), daemonlessStorage()]);
  const cert = await ca.serverCertificate(netns.address);
  registry = await startRegistry('htpasswd', {
    netns,
    tls: { ...cert, caPem: ca.caPem },
    user: { name: ROBOT, password: ROBOT_SECRET },
  });
  home = await mkdtemp(join(tmpdir(), 'gr-home-'));
  gitRoot = await mkdtemp(join(tmpdir(), 'gr-git-'));
  git = await startGitHttpServer({ root: gitRoot, token: GIT_TOKEN });
  publicGit = await startGitHttpServer({ root: gitRoot });
  const context = await makeContext(BUSYBOX_DOCKERFILE, {
    'app.txt': 'go-sampleapp\n',
    'test.sh': 'grep -q go-sampleapp app.txt && echo "unit tests passed"\n',
  });
  const files: Record<string, string> = {};
  for (const name of ['Dockerfile', 'app.txt', 'test.sh'])
    files[name] = await readFile(join(context, name), 'utf8');
  appHead = await bareRepo('go-sampleapp', files);
  // The busybox binary is committed too: the image's RUN step needs it.
  const work = await mkdtemp(join(tmpdir(), 'gr-work-'));
  sh(work, 'clone', '-q', join(gitRoot, 'go-sampleapp.git'), '.');
  execFileSync('cp', ['-r', join(context, 'bin'), work]);
  sh(work, 'add', '.');
  sh(work, 'commit', '-q', '-m', 'add busybox');
  sh(work, 'push', '-q', 'origin', 'main');
  appHead = sh(work, 'rev-parse', 'HEAD');
  await rm(work, { recursive: true, force: true });
  await bareRepo('manifests', {
    'go-sampleapp/pod.yaml': MANIFEST(registry.host),
    'go-sampleapp/kustomization.yaml': await readFile(
      join(ROOT, 'examples/tekton/manifests/go-sampleapp/kustomization.yaml'),
      'utf8',
    ),
  });

  const bundle = await readFile(join(ROOT, 'dist/cli.cjs'));
  cliServer = createServer((req, res) => {
    if (req.url === '/cli.cjs') res.end(bundle);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => cliServer.listen(0, '127.0.0.1', r));
  const address = cliServer.address();
  cliUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/cli.cjs`;

  pasted = await readmeObjects();
  resources = await loadResources([
    ...[
      'gitops-release-build-and-push',
      'gitops-release-image-exists',
      'gitops-release-create-release-pr',
    ].map((n) => join(ROOT, 'tekton', `${n}.yaml`)),
    join(ROOT, 'examples/tekton/pipeline.yaml'),
    join(ROOT, 'examples/tekton/pipeline-release-pr.yaml'),
    join(import.meta.dirname, 'catalog/git-clone.yaml'),
    join(import.meta.dirname, 'catalog/buildah.yaml'),
  ]);
});

afterAll(async () => {
  await registry?.stop();
  await netns?.dispose();
  await ca?.dispose();
  await storage?.dispose();
  await git?.close();
  await publicGit?.close();
  await new Promise((r) => (cliServer ? cliServer.close(r) : r(undefined)));
  for (const dir of [gitRoot, home]) if (dir) await rm(dir, { recursive: true, force: true });
});

function seedRun() {
  const repo = (name: string) => `${git.url}/${name}.git`;
  return example('pipelinerun.yaml', {
    'app-repo-url': `${publicGit.url}/go-sampleapp.git`,
    'manifest-repo-url': repo('manifests'),
    image: `${registry.host}/demo-ns/go-sampleapp`,
    'test-command': 'sh ./test.sh',
  });
}

function manifestAtMain(path: string): string {
  return execFileSync(
    'git',
    ['--git-dir', join(gitRoot, 'manifests.git'), 'show', `main:${path}`],
    {
      encoding: 'utf8',
    },
  );
}

describe('seed 003 on Tekton: test, build and push to Harbor over TLS, push the tag to the manifests', () => {
  const tag = () => appHead.slice(0, 7);

  it('the README’s commands make the objects the Pipeline binds, and name files that exist', async () => {
    expect(Object.keys(pasted.secrets).sort()).toEqual(['harbor-robot', 'manifest-repo-token']);
    expect(pasted.configMaps['harbor-ca']).toEqual({ 'ca.crt': ca.caPem });
    const auths = JSON.parse(pasted.secrets['harbor-robot']!['.dockerconfigjson']!).auths;
    expect(auths[registry.host].username).toBe(ROBOT);
    for (const line of await readmeTekton())
      for (const m of line.matchAll(/-f (\S+)/g))
        if (!m[1]!.startsWith('https://')) expect(existsSync(join(ROOT, m[1]!)), m[1]).toBe(true);
  });

  it('runs end to end: the image is in the registry and main deploys it, the rest of the file as it was', async () => {
    const r = await run(await seedRun());
    expect(r.status, `${r.message}\n${r.taskRuns.map((t) => t.log).join('\n')}`).toBe('Succeeded');
    expect(r.taskRuns.map((t) => `${t.name} ${t.status}`)).toEqual([
      'fetch-source Succeeded',
      'unit-test Succeeded',
      'build-and-push Succeeded',
      'update-manifest Succeeded',
    ]);
    expect(task(r, 'unit-test').log).toContain('unit tests passed');
    const built = task(r, 'build-and-push');
    const manifest = await registry.manifest('demo-ns/go-sampleapp', tag());
    expect(built.results).toEqual({
      IMAGE_URL: `${registry.host}/demo-ns/go-sampleapp:${tag()}`,
      IMAGE_DIGEST: manifest.digest,
      SKIPPED: 'false',
    });
    // Verified TLS with the CA from the registry-ca workspace: no insecure warning anywhere.
    expect(built.log).not.toContain('WARNING');
    expect(r.results).toMatchObject({
      'image-url': built.results.IMAGE_URL,
      'image-digest': manifest.digest,
    });

    expect(manifestAtMain('go-sampleapp/pod.yaml')).toBe(
      MANIFEST(registry.host).replace(':88596e5', `:${tag()}`),
    );
    const log = execFileSync(
      'git',
      ['--git-dir', join(gitRoot, 'manifests.git'), 'log', '-1', '--format=%H %s', 'main'],
      {
        encoding: 'utf8',
      },
    ).trim();
    expect(log).toBe(
      `${task(r, 'update-manifest').results.COMMIT_SHA} Update go-sampleapp to ${tag()}`,
    );
    expect(task(r, 'update-manifest').results.RESULT).toBe('pushed');

    // Argo CD's side: what it renders from main deploys the new image.
    const checkout = await mkdtemp(join(tmpdir(), 'gr-argocd-'));
    sh(checkout, 'clone', '-q', join(gitRoot, 'manifests.git'), '.');
    const rendered = execFileSync('kubectl', ['kustomize', join(checkout, 'go-sampleapp')], {
      encoding: 'utf8',
    });
    expect(rendered).toContain(`image: ${registry.host}/demo-ns/go-sampleapp:${tag()}`);
    await rm(checkout, { recursive: true, force: true });
  });

  it('a re-run builds nothing (SKIPPED true, same digest) and writes no new manifest commit', async () => {
    const before = sh(gitRoot, '--git-dir', join(gitRoot, 'manifests.git'), 'rev-parse', 'main');
    const r = await run(await seedRun());
    expect(r.status, r.message).toBe('Succeeded');
    const built = task(r, 'build-and-push');
    expect(built.results.SKIPPED).toBe('true');
    expect(built.results.IMAGE_DIGEST).toBe(
      (await registry.manifest('demo-ns/go-sampleapp', tag())).digest,
    );
    expect(built.log).not.toContain('STEP 1/');
    expect(task(r, 'update-manifest').results.RESULT).toBe('unchanged');
    expect(sh(gitRoot, '--git-dir', join(gitRoot, 'manifests.git'), 'rev-parse', 'main')).toBe(
      before,
    );
  });

  it('INSECURE_REGISTRIES without the CA: the registry is still reached, and the log says WARNING', async () => {
    const pipelineRun = await seedRun();
    pipelineRun.spec.params.push({ name: 'insecure-registries', value: registry.host });
    pipelineRun.spec.workspaces = pipelineRun.spec.workspaces.filter(
      (w: { name: string }) => w.name !== 'harbor-ca',
    );
    const r = await run(pipelineRun);
    expect(r.status, r.message).toBe('Succeeded');
    const built = task(r, 'build-and-push');
    expect(built.log).toContain(`WARNING: --insecure-registry ${registry.host}`);
    expect(built.results.SKIPPED).toBe('true');
  });

  it('a missing Secret stops the run at the task that mounts it, naming the Secret', async () => {
    const { 'harbor-robot': _, ...rest } = defaultSecrets();
    const r = await run(await seedRun(), cluster(rest));
    expect(r.status).toBe('Failed');
    expect(task(r, 'build-and-push').message).toBe(
      'MountVolume.SetUp failed for volume "ws-harbor-login" : secret "harbor-robot" not found',
    );
    expect(r.taskRuns.map((t) => t.name)).not.toContain('update-manifest');
  });

  it('a Secret without a docker config: the Task says which workspace and which keys', async () => {
    const r = await run(
      await seedRun(),
      cluster({ ...defaultSecrets(), 'harbor-robot': { password: ROBOT_SECRET } }),
    );
    expect(r.status).toBe('Failed');
    const built = task(r, 'build-and-push');
    expect(built.log).toContain(
      'the workspace dockerconfig holds neither config.json nor .dockerconfigjson',
    );
    expect(built.log).not.toContain(ROBOT_SECRET);
  });

  it('a wrong robot secret is refused by the registry, and the secret is not printed', async () => {
    const r = await run(
      await seedRun(),
      cluster({
        ...defaultSecrets(),
        'harbor-robot': dockerConfigSecret(registry.host, ROBOT, 'wrong-one'),
      }),
    );
    expect(r.status).toBe('Failed');
    const built = task(r, 'build-and-push');
    expect(built.log).toContain(`registry ${registry.host}`);
    expect(built.log).toContain(ROBOT);
    expect(built.log).not.toContain('wrong-one');
  });
});

describe('the release pull request variant: image-exists gates the catalog buildah Task', () => {
  let sim: GitHubSimulator;
  beforeAll(async () => {
    sim = await startGitHubSimulator();
    // Another repository than the seed run's, so that this one starts with the tag missing.
    await sim.createRepo('demo/manifests', {
      'go-sampleapp/pod.yaml': MANIFEST(registry.host).replace('/go-sampleapp:', '/web:'),
    });
  });
  afterAll(async () => {
    await sim?.close();
  });

  function prRun() {
    return example('pipelinerun-release-pr.yaml', {
      'app-repo-url': `${publicGit.url}/go-sampleapp.git`,
      'manifest-repo': 'demo/manifests',
      'github-url': sim.url,
      image: `${registry.host}/demo-ns/web`,
    });
  }

  it('first run: EXISTS false, buildah builds, the release pull request is opened', async () => {
    const c = cluster({ ...defaultSecrets(), 'manifest-repo-token': { token: sim.tokens.write } });
    const r = await run(await prRun(), c);
    expect(r.status, `${r.message}\n${r.taskRuns.map((t) => t.log).join('\n')}`).toBe('Succeeded');
    expect(task(r, 'image-exists').results.EXISTS).toBe('false');
    expect(task(r, 'build').status).toBe('Succeeded');
    const release = task(r, 'release');
    expect(release.results.RESULT).toBe('created');
    const [pr] = sim.pullRequests('demo/manifests');
    expect(release.results.PULL_REQUEST_NUMBER).toBe(String(pr!.number));
    expect(r.results['pull-request-url']).toBe(release.results.PULL_REQUEST_URL);
    expect(
      await sim.readFile('demo/manifests', release.results.BRANCH!, 'go-sampleapp/pod.yaml'),
    ).toContain(`${registry.host}/demo-ns/web:${appHead.slice(0, 7)}`);
  });

  it('re-run: EXISTS true, the build Task is skipped by when:, the release still runs', async () => {
    const c = cluster({ ...defaultSecrets(), 'manifest-repo-token': { token: sim.tokens.write } });
    const r = await run(await prRun(), c);
    expect(r.status, r.message).toBe('Succeeded');
    expect(task(r, 'image-exists').results).toMatchObject({
      EXISTS: 'true',
      IMAGE_DIGEST: (await registry.manifest('demo-ns/web', appHead.slice(0, 7))).digest,
    });
    expect(task(r, 'build')).toMatchObject({ status: 'Skipped' });
    expect(task(r, 'build').message).toContain('When Expressions evaluated to false');
    expect(task(r, 'release').results.RESULT).toBe('updated');
  });
});
