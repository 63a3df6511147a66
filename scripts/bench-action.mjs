// pnpm bench:action — what the action costs a workflow before it does any work: the size of the
// committed bundle, and the wall time of running it for a no-op against `node -e 0`.
//
// The no-op: a dry run of create_release_pr whose image the manifest repository already deploys,
// against the GitHub simulator on 127.0.0.1 (result `unchanged`, one read, nothing written). Each
// round runs `node -e 0` and `node dist/action.cjs` back to back (interleaved, so load on the
// machine hits both alike), under the same Node, the way the runner starts a node24 action.
// Medians of the rounds; the ratio is what a workflow pays for the action's start-up and its read.
//
// Options: --runs N (default 40)  --warmup N (default 3)
// Last line: {"bench":"action","bundle_kib":K,"startup_vs_bare_node":X}
import { execFile, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(args[i + 1]);
};
const RUNS = option('runs', 40);
const WARMUP = option('warmup', 3);
const log = (line) => process.stderr.write(`${line}\n`);
const BUNDLE = join(root, 'dist/action.cjs');

/**
 * The simulator in its own process (built from its TypeScript sources), so that its work never
 * stalls the process that does the timing. It answers `{ do }` messages over IPC.
 */
async function startSimulatorProcess(files) {
  const out = join(root, '.tmp', 'bench-action-build');
  await esbuild.build({
    absWorkingDir: root,
    entryPoints: { sim: 'test/github-sim/index.ts' },
    outdir: out,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    logLevel: 'warning',
  });
  const server = join(out, 'server.mjs');
  writeFileSync(
    server,
    `import { startGitHubSimulator } from './sim.mjs';
const sim = await startGitHubSimulator();
await sim.createRepo('bench/manifests', JSON.parse(process.argv[2]));
let recorded;
sim.onRequest((r) => { recorded ??= r; });
process.on('message', async (m) => {
  if (m.do === 'clear') sim.clearRequests();
  if (m.do === 'stats')
    process.send({ requests: sim.requests.length, writes: sim.requests.filter((r) => r.write).length, recorded });
  if (m.do === 'close') await sim.close();
  if (m.do !== 'stats') process.send({ done: m.do }, () => m.do === 'close' && process.exit(0));
});
process.send({ url: sim.url, graphqlUrl: sim.graphqlUrl, token: sim.tokens.write });
`,
  );
  const child = fork(server, [JSON.stringify(files)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = () => new Promise((resolve) => child.once('message', resolve));
  const info = await next();
  const ask = (what) => {
    const answer = next();
    child.send({ do: what });
    return answer;
  };
  return { ...info, ask };
}

/** Runs a command to its end; resolves with its wall time in ms. Async, so the simulator serves. */
function timedRun(file, argv, env, cwd) {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    execFile(file, argv, { env, cwd }, (err, stdout, stderr) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (err)
        reject(new Error(`${file} ${argv.join(' ')} failed: ${err.message}\n${stdout}${stderr}`));
      else resolve(ms);
    });
  });
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const bundleKib = statSync(BUNDLE).size / 1024;
const sim = await startSimulatorProcess({
  'overlays/staging/kustomization.yaml': `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - deployment.yaml
images:
  - name: gcr.io/bench/app
    newTag: abc1234 # set by the release pipeline
`,
  'overlays/staging/deployment.yaml': `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  selector:
    matchLabels: {app: app}
  template:
    metadata:
      labels: {app: app}
    spec:
      containers:
        - name: app
          image: gcr.io/bench/app:abc1234
`,
});

const work = mkdtempSync(join(root, '.tmp', 'bench-action-'));
const files = {
  output: join(work, 'output'),
  summary: join(work, 'summary'),
  env: join(work, 'env'),
};
const actionEnv = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  CI: 'true',
  GITHUB_ACTIONS: 'true',
  GITHUB_SHA: 'abc1234def567890abc1234def567890abc12345',
  GITHUB_REPOSITORY: 'bench/app',
  GITHUB_API_URL: sim.url,
  GITHUB_GRAPHQL_URL: sim.graphqlUrl,
  GITHUB_SERVER_URL: sim.url,
  GITHUB_OUTPUT: files.output,
  GITHUB_STEP_SUMMARY: files.summary,
  GITHUB_ENV: files.env,
  INPUT_COMMAND: 'create_release_pr',
  'INPUT_GITHUB-TOKEN': sim.token,
  INPUT_REPO: 'bench/manifests',
  INPUT_PATHS: 'overlays/staging',
  INPUT_IMAGE: 'gcr.io/bench/app',
  'INPUT_DRY-RUN': 'true',
};
const bareEnv = { PATH: process.env.PATH, HOME: process.env.HOME };

async function runAction() {
  for (const f of Object.values(files)) writeFileSync(f, '');
  const ms = await timedRun(process.execPath, [BUNDLE], actionEnv, work);
  // A no-op it must be: the action read the repository and found the image deployed.
  const out = readFileSync(files.output, 'utf8');
  if (!/^result<<(\S+)\nunchanged\n\1$/m.test(out))
    throw new Error(`the action did not report "unchanged":\n${out}`);
  return ms;
}
const runBare = () => timedRun(process.execPath, ['-e', '0'], bareEnv, work);

// Start-up alone, for the breakdown: the same bundle failing on a missing input, before any
// request (exit 1 is the expected end here).
const startupEnv = { ...actionEnv, INPUT_REPO: '' };
function runStartupOnly() {
  return new Promise((resolve) => {
    const start = process.hrtime.bigint();
    execFile(process.execPath, [BUNDLE], { env: startupEnv, cwd: work }, (err, stdout) => {
      if (!err || !stdout.includes('input "repo"'))
        throw new Error(`expected the missing-input failure, got:\n${stdout}`);
      resolve(Number(process.hrtime.bigint() - start) / 1e6);
    });
  });
}

log(`node ${process.version} (${process.execPath})`);
log(`bundle: ${BUNDLE} ${bundleKib.toFixed(1)} KiB`);
for (let i = 0; i < WARMUP; i++) {
  await runBare();
  await runAction();
}
await sim.ask('clear');
const bare = [];
const action = [];
for (let i = 0; i < RUNS; i++) {
  // Alternate which goes first, so neither always follows the other.
  if (i % 2 === 0) {
    bare.push(await runBare());
    action.push(await runAction());
  } else {
    action.push(await runAction());
    bare.push(await runBare());
  }
}
const stats = await sim.ask('stats');
const requests = stats.requests / RUNS;
const writes = stats.writes;
// The simulator's own share of the no-op: its answer to the action's request, replayed.
const recorded = stats.recorded;
const startupOnly = [];
const replay = [];
for (let i = 0; i < RUNS; i++) {
  startupOnly.push(await runStartupOnly());
  const start = process.hrtime.bigint();
  const res = await fetch(sim.graphqlUrl, {
    method: 'POST',
    headers: { authorization: `token ${sim.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(recorded.body),
  });
  await res.text();
  replay.push(Number(process.hrtime.bigint() - start) / 1e6);
}
await sim.ask('close');
rmSync(work, { recursive: true, force: true });

const bareMs = median(bare);
const actionMs = median(action);
log(
  `runs: ${RUNS} interleaved (+${WARMUP} warm-up), ${requests} request(s) per action run, ${writes} writes`,
);
log(`node -e 0:          median ${bareMs.toFixed(1)} ms (min ${Math.min(...bare).toFixed(1)})`);
log(
  `node dist/action.cjs: median ${actionMs.toFixed(1)} ms (min ${Math.min(...action).toFixed(1)})`,
);
log(
  `  of which the simulator's answer (${recorded.kind} ${recorded.fields.join('+')}, replayed): median ${median(replay).toFixed(1)} ms`,
);
log(
  `start-up alone (fails on a missing input, no request): median ${median(startupOnly).toFixed(1)} ms = ${(median(startupOnly) / bareMs).toFixed(2)} x node -e 0`,
);
console.log(
  JSON.stringify({
    bench: 'action',
    bundle_kib: Math.round(bundleKib * 10) / 10,
    startup_vs_bare_node: Math.round((actionMs / bareMs) * 100) / 100,
  }),
);
