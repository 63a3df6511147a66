// pnpm bench:release-pr — how long a release pull request takes on a large manifest repository:
// gitops-release's create-release-pr (GitHub API, no clone) against the seed pipelines' way (full
// clone, edit with yq, commit, push a branch, open the pull request through the API).
//
// The repository has a long history (default 20,000 commits, over 100 MB), generated once with
// `git fast-import` and cached under the temp dir keyed by its parameters. It is served at the same
// time by the GitHub simulator (test/github-sim) and by `git http-backend` (test/support), both on
// 127.0.0.1 and both adding the same latency to every request (default 50 ms).
//
// The GitLab contender: create-release-pr --host gitlab against the GitLab simulator
// (test/gitlab-sim) serving the same repository with the same latency, against the seed 002 way
// (full clone, yq, push with `-o merge_request.create`). Its round trips are counted as GitLab
// sees them: requests that start within one added latency of each other ran in parallel.
//
// Options: --commits N  --blob-kb K  --latency-ms MS  --runs R
// Last line: {"bench":"release-pr","round_trips":N,"speedup_vs_clone":X,
//             "gitlab_round_trips":N,"gitlab_speedup_vs_push_options":X}
import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import * as esbuild from 'esbuild';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(args[i + 1]);
};
const COMMITS = option('commits', 20_000);
const BLOB_KB = option('blob-kb', 6);
const LATENCY = option('latency-ms', 50);
const RUNS = option('runs', 5);
const log = (line) => process.stderr.write(`${line}\n`);

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'bench',
  GIT_AUTHOR_EMAIL: 'bench@example.test',
  GIT_COMMITTER_NAME: 'bench',
  GIT_COMMITTER_EMAIL: 'bench@example.test',
};

function kustomization(tag) {
  return `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - deployment.yaml
images:
  - name: gcr.io/bench/app
    newTag: ${tag} # set by the release pipeline
`;
}

function deployment(name, tag) {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: 2
  selector:
    matchLabels: {app: ${name}}
  template:
    metadata:
      labels: {app: ${name}}
    spec:
      containers:
        - name: ${name}
          image: gcr.io/bench/${name}:${tag}
`;
}

function dirSize(path) {
  let total = 0;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const p = join(path, entry.name);
    total += entry.isDirectory() ? dirSize(p) : statSync(p).size;
  }
  return total;
}

/** The cached bare repository: many commits of manifest changes and incompressible assets. */
async function benchRepository() {
  const dir = join(tmpdir(), `gitops-release-bench-c${COMMITS}-b${BLOB_KB}-v1.git`);
  if (existsSync(join(dir, 'refs/heads/main')) || existsSync(join(dir, 'packed-refs'))) {
    const head = execFileSync('git', ['--git-dir', dir, 'rev-parse', 'refs/heads/main'], {
      encoding: 'utf8',
    }).trim();
    if (head) return dir;
  }
  rmSync(dir, { recursive: true, force: true });
  log(
    `generating ${COMMITS} commits (${BLOB_KB} KB of random data each) with git fast-import into ${dir} ...`,
  );
  execFileSync('git', ['init', '-q', '--bare', '-b', 'main', dir]);
  const child = spawn('git', ['--git-dir', dir, 'fast-import', '--quiet', '--done'], {
    stdio: ['pipe', 'inherit', 'inherit'],
  });
  const write = (chunk) =>
    child.stdin.write(chunk) ? Promise.resolve() : new Promise((r) => child.stdin.once('drain', r));
  const blob = (path, data) => {
    const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data);
    return Buffer.concat([
      Buffer.from(`M 100644 inline ${path}\ndata ${bytes.length}\n`),
      bytes,
      Buffer.from('\n'),
    ]);
  };
  const start = 1_700_000_000;
  for (let i = 0; i < COMMITS; i++) {
    const message = `Update svc-${i % 200} and assets (${i})\n`;
    const parts = [
      Buffer.from(
        `commit refs/heads/main\nmark :${i + 1}\ncommitter bench <bench@example.test> ${start + i * 60} +0000\ndata ${Buffer.byteLength(message)}\n${message}`,
      ),
    ];
    if (i > 0) parts.push(Buffer.from(`from :${i}\n`));
    if (i === 0) {
      parts.push(blob('overlays/staging/kustomization.yaml', kustomization('0000000')));
      parts.push(blob('overlays/staging/deployment.yaml', deployment('app', 'latest')));
      parts.push(blob('README.md', '# manifests\n'));
    }
    parts.push(
      blob(
        `apps/svc-${i % 200}/deployment.yaml`,
        deployment(`svc-${i % 200}`, i.toString(16).padStart(7, '0')),
      ),
    );
    parts.push(blob(`assets/blob-${i % 1000}.bin`, randomBytes(BLOB_KB * 1024)));
    parts.push(Buffer.from('\n'));
    await write(Buffer.concat(parts));
  }
  await write('done\n');
  child.stdin.end();
  await new Promise((resolve, reject) =>
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`git fast-import exited ${code}`)),
    ),
  );
  return dir;
}

/** The simulator and the http-backend server, loaded from their TypeScript sources. */
async function loadServers() {
  const out = join(root, '.tmp', 'bench-build');
  await esbuild.build({
    absWorkingDir: root,
    entryPoints: {
      sim: 'test/github-sim/index.ts',
      gitlab: 'test/gitlab-sim/index.ts',
      git: 'test/support/git-http-server.ts',
    },
    outdir: out,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    logLevel: 'warning',
  });
  const sim = await import(pathToFileURL(join(out, 'sim.mjs')).href);
  const git = await import(pathToFileURL(join(out, 'git.mjs')).href);
  const gitlab = await import(pathToFileURL(join(out, 'gitlab.mjs')).href);
  return {
    startGitLabSimulator: gitlab.startGitLabSimulator,
    startGitHubSimulator: sim.startGitHubSimulator,
    startGitHttpServer: git.startGitHttpServer,
  };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function timed(fn) {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

const cache = await benchRepository();
const packBytes = dirSize(join(cache, 'objects'));
const commitCount = Number(
  execFileSync('git', ['--git-dir', cache, 'rev-list', '--count', 'main'], {
    encoding: 'utf8',
  }).trim(),
);
log(`repository: ${commitCount} commits, ${(packBytes / 1e6).toFixed(1)} MB of objects`);

const { startGitHubSimulator, startGitHttpServer, startGitLabSimulator } = await loadServers();
const sim = await startGitHubSimulator();
await sim.createRepo('bench/manifests', { 'README.md': 'placeholder\n' });
const simRepo = sim.repoPath('bench/manifests');
// The simulator's repository borrows the cached objects (alternates) and points main at them.
writeFileSync(join(simRepo, 'objects/info/alternates'), `${join(cache, 'objects')}\n`);
const bigHead = execFileSync('git', ['--git-dir', cache, 'rev-parse', 'main'], {
  encoding: 'utf8',
}).trim();
execFileSync('git', ['--git-dir', simRepo, 'update-ref', 'refs/heads/main', bigHead]);
for (const [k, v] of [
  ['uploadpack.allowFilter', 'true'],
  ['uploadpack.allowAnySHA1InWant', 'true'],
  ['http.receivepack', 'true'],
  // No background gc between runs: every run meets the same repository.
  ['receive.autogc', 'false'],
  ['gc.auto', '0'],
]) {
  execFileSync('git', ['--git-dir', simRepo, 'config', k, v]);
}
const gitServer = await startGitHttpServer({ root: dirname(dirname(simRepo)), latencyMs: LATENCY });
// The same repository on the GitLab simulator (its own bare repository borrowing the objects).
const gitlab = await startGitLabSimulator();
await gitlab.createProject('bench/manifests', { 'README.md': 'placeholder\n' });
const gitlabRepo = gitlab.repoPath('bench/manifests');
writeFileSync(join(gitlabRepo, 'objects/info/alternates'), `${join(cache, 'objects')}\n`);
execFileSync('git', ['--git-dir', gitlabRepo, 'update-ref', 'refs/heads/main', bigHead]);
for (const [k, v] of [
  ['receive.autogc', 'false'],
  ['gc.auto', '0'],
]) {
  execFileSync('git', ['--git-dir', gitlabRepo, 'config', k, v]);
}
gitlab.setLatency(LATENCY);
const gitlabGitUrl = gitlab
  .gitUrl('bench/manifests')
  .replace('http://', `http://oauth2:${gitlab.tokens.write}@`);
sim.setLatency(LATENCY);
const gitUrl = `${gitServer.url}/bench/manifests.git`;
const token = sim.tokens.write;
const cli = join(root, 'dist', 'cli.cjs');
const work = mkdtempSync(join(tmpdir(), 'gitops-release-bench-run-'));
const tag = (kind, i) =>
  `${kind}${i}`
    .padEnd(7, '0')
    .slice(0, 7)
    .replace(/[^0-9a-f]/g, 'a');

async function ours(i) {
  const image = `gcr.io/bench/app:${tag('c', i)}`;
  const before = sim.requests.length;
  const { stdout } = await run(
    process.execPath,
    [
      cli,
      'create-release-pr',
      '--repo',
      'bench/manifests',
      '--github-url',
      sim.url,
      '--path',
      'overlays/staging/kustomization.yaml',
      '--image',
      image,
      '--json',
    ],
    { env: { ...process.env, GITHUB_TOKEN: token } },
  );
  const result = JSON.parse(stdout);
  if (result.result !== 'created') throw new Error(`create-release-pr: ${stdout}`);
  return sim.requests.length - before;
}

async function oursGit(i) {
  const image = `gcr.io/bench/app:${tag('d', i)}`;
  const { stdout } = await run(
    process.execPath,
    [
      cli,
      'create-release-pr',
      '--host',
      'git',
      '--repo',
      gitUrl,
      '--path',
      'overlays/staging/kustomization.yaml',
      '--image',
      image,
      '--json',
    ],
    { env: { ...process.env, TMPDIR: work } },
  );
  if (JSON.parse(stdout).result !== 'pushed')
    throw new Error(`create-release-pr --host git: ${stdout}`);
}

/** Sequential round trips: a request starting within one added latency of a round's first is in it. */
function rounds(requests) {
  let count = 0;
  let start = -Infinity;
  for (const r of [...requests].sort((a, b) => a.at - b.at)) {
    if (r.at - start >= LATENCY * 0.8) {
      count++;
      start = r.at;
    }
  }
  return count;
}

async function oursGitLab(i) {
  const image = `gcr.io/bench/app:${tag('f', i)}`;
  const before = gitlab.requests.length;
  const { stdout } = await run(
    process.execPath,
    [
      cli,
      'create-release-pr',
      '--host',
      'gitlab',
      '--repo',
      'bench/manifests',
      '--gitlab-url',
      gitlab.url,
      '--path',
      'overlays/staging/kustomization.yaml',
      '--image',
      image,
      '--json',
    ],
    { env: { ...process.env, GITLAB_TOKEN: gitlab.tokens.write } },
  );
  if (JSON.parse(stdout).result !== 'created') throw new Error(`--host gitlab: ${stdout}`);
  return rounds(gitlab.requests.slice(before));
}

/** Seed 002: clone everything, yq the tag, commit, push with GitLab's merge request push options. */
async function seedWayGitLab(i) {
  const sha = tag('g', i);
  const dir = join(work, `gitlab-clone-${i}`);
  await run('git', ['clone', '-q', gitlabGitUrl, dir], { env: GIT_ENV });
  const file = join(dir, 'overlays/staging/kustomization.yaml');
  await run('yq', ['-y', '-i', `.images[0].newTag = "${sha}"`, file]);
  await run('git', ['-C', dir, 'checkout', '-q', '-b', `release-${sha}`], { env: GIT_ENV });
  await run('git', ['-C', dir, 'commit', '-q', '-am', `Release app ${sha}`], { env: GIT_ENV });
  await run(
    'git',
    [
      '-C',
      dir,
      'push',
      '-q',
      '-o',
      'merge_request.create',
      '-o',
      'merge_request.target=main',
      'origin',
      'HEAD',
    ],
    { env: GIT_ENV },
  );
  if (!gitlab.mergeRequests('bench/manifests').some((m) => m.source === `release-${sha}`)) {
    throw new Error('the push options opened no merge request');
  }
  rmSync(dir, { recursive: true, force: true });
}

/** The seed pipelines: clone everything, yq the tag, commit, push a branch, open the PR via the API. */
async function seedWay(i) {
  const sha = tag('e', i);
  const dir = join(work, `clone-${i}`);
  await run('git', ['clone', '-q', gitUrl, dir], { env: GIT_ENV });
  const file = join(dir, 'overlays/staging/kustomization.yaml');
  await run('yq', ['-y', '-i', `.images[0].newTag = "${sha}"`, file]);
  await run('git', ['-C', dir, 'checkout', '-q', '-b', `release-${sha}`], { env: GIT_ENV });
  await run('git', ['-C', dir, 'commit', '-q', '-am', `Release app ${sha}`], { env: GIT_ENV });
  await run('git', ['-C', dir, 'push', '-q', 'origin', 'HEAD'], { env: GIT_ENV });
  const res = await fetch(`${sim.url}/repos/bench/manifests/pulls`, {
    method: 'POST',
    headers: {
      authorization: `token ${token}`,
      'content-type': 'application/json',
      accept: 'application/vnd.github+json',
    },
    body: JSON.stringify({
      title: `Release app ${sha}`,
      head: `release-${sha}`,
      base: 'main',
      body: '',
    }),
  });
  if (res.status !== 201)
    throw new Error(`POST /pulls answered ${res.status}: ${await res.text()}`);
  rmSync(dir, { recursive: true, force: true });
}

// Warm-up, untimed: the simulator compiles its GraphQL schema and OpenAPI validators on first use,
// a cost real GitHub does not have.
await ours(99);
await fetch(`${sim.url}/repos/bench/manifests/pulls?state=open`, {
  headers: { authorization: `token ${token}` },
});

const times = { ours: [], oursGit: [], seed: [], gitlab: [], gitlabSeed: [] };
let roundTrips = 0;
let gitlabRounds = 0;
try {
  for (let i = 0; i < RUNS; i++) {
    let trips = 0;
    times.ours.push(
      await timed(async () => {
        trips = await ours(i);
      }),
    );
    roundTrips = Math.max(roundTrips, trips);
    times.oursGit.push(await timed(() => oursGit(i)));
    times.seed.push(await timed(() => seedWay(i)));
    let glRounds = 0;
    times.gitlab.push(
      await timed(async () => {
        glRounds = await oursGitLab(i);
      }),
    );
    gitlabRounds = Math.max(gitlabRounds, glRounds);
    times.gitlabSeed.push(await timed(() => seedWayGitLab(i)));
    log(
      `run ${i + 1}/${RUNS}: create-release-pr --host gitlab ${times.gitlab.at(-1).toFixed(0)} ms in ${glRounds} round trips; clone+yq+push -o merge_request.create ${times.gitlabSeed.at(-1).toFixed(0)} ms`,
    );
    log(
      `run ${i + 1}/${RUNS}: create-release-pr (GitHub API) ${times.ours.at(-1).toFixed(0)} ms in ${trips} requests; ` +
        `create-release-pr --host git ${times.oursGit.at(-1).toFixed(0)} ms; clone+yq+push+PR ${times.seed.at(-1).toFixed(0)} ms`,
    );
  }
} catch (err) {
  const failed = gitServer.log.filter((e) => e.status >= 400);
  if (failed.length) log(`git http-backend answered: ${JSON.stringify(failed.slice(-5))}`);
  throw err;
} finally {
  await gitServer.close();
  await sim.close();
  await gitlab.close();
  rmSync(work, { recursive: true, force: true });
}

const ms = (v) => `${v.toFixed(0)} ms`;
log(
  `median over ${RUNS} runs, ${LATENCY} ms added per request: create-release-pr (GitHub API) ${ms(median(times.ours))}, ` +
    `create-release-pr --host git ${ms(median(times.oursGit))}, seed way ${ms(median(times.seed))}`,
);
const speedup = median(times.seed) / median(times.ours);
const speedupGit = median(times.seed) / median(times.oursGit);
log(`speedup vs clone: GitHub API ${speedup.toFixed(1)}x, plain git ${speedupGit.toFixed(1)}x`);
const speedupGitLab = median(times.gitlabSeed) / median(times.gitlab);
log(
  `GitLab: create-release-pr --host gitlab ${ms(median(times.gitlab))} in ${gitlabRounds} round trips, seed 002 way ${ms(median(times.gitlabSeed))}: ${speedupGitLab.toFixed(1)}x`,
);
mkdirSync(join(root, '.tmp'), { recursive: true });
console.log(
  JSON.stringify({
    bench: 'release-pr',
    round_trips: roundTrips,
    speedup_vs_clone: Number(speedup.toFixed(1)),
    gitlab_round_trips: gitlabRounds,
    gitlab_speedup_vs_push_options: Number(speedupGitLab.toFixed(1)),
  }),
);
