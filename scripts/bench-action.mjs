// pnpm bench:action — what the action costs a workflow before it does any work: the size of the
// committed bundle, the wall time of running it for a no-op against a Node floor that does the
// same work without our code, against `node -e 0`, and its peak memory.
//
// The no-op: a dry run of create_release_pr whose image the manifest repository already deploys,
// against the GitHub simulator on 127.0.0.1 (result `unchanged`, one read, nothing written). Each
// round runs `node -e 0` and `node dist/action.cjs` back to back (interleaved, so load on the
// machine hits both alike), under the same Node, the way the runner starts a node24 action.
// Medians of the rounds; the ratio is what a workflow pays for the action's start-up and its read.
// The floor (bundled like the action, same YAML library) sends the same requests the action sent,
// recorded by the simulator, parses every YAML text in the answers and writes the same output.
//
// Options: --runs N (default 40)  --warmup N (default 3)
// Last line: {"bench":"action","bundle_kib":K,"noop_vs_node_floor":X,"peak_rss_mib":M,…}
import { execFile, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { peakRssMiB } from './bench-lib.mjs';

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
let recorded = [];
sim.onRequest((r) => { recorded.push(r); });
process.on('message', async (m) => {
  if (m.do === 'clear') { sim.clearRequests(); recorded = []; }
  if (m.do === 'stats')
    process.send({ requests: sim.requests.length, writes: sim.requests.filter((r) => r.write).length, recorded });
  if (m.do === 'close') await sim.close();
  if (m.do !== 'stats') process.send({ done: m.do }, () => m.do === 'close' && process.exit(0));
});
process.on('disconnect', () => process.exit(0)); // the bench died: do not outlive it
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

// The floor: one action run's requests, recorded, then replayed by a bundled Node script.
await sim.ask('clear');
await runAction();
const oneRun = (await sim.ask('stats')).recorded;
const floorSource = join(work, 'floor.mjs');
writeFileSync(
  floorSource,
  `import { appendFileSync, readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
const [url, token, requestsFile, output] = process.argv.slice(2);
function texts(v, out) {
  if (typeof v === 'string') { if (v.includes('\\n')) out.push(v); }
  else if (v && typeof v === 'object') for (const x of Object.values(v)) texts(x, out);
  return out;
}
(async () => {
for (const r of JSON.parse(readFileSync(requestsFile, 'utf8'))) {
  const res = await fetch(url + (r.kind === 'graphql' ? '/graphql' : r.path), {
    method: r.method,
    headers: { authorization: 'token ' + token, 'content-type': 'application/json' },
    body: r.method === 'GET' ? undefined : JSON.stringify(r.body),
  });
  for (const t of texts(await res.json(), [])) parseAllDocuments(t);
}
appendFileSync(output, 'result<<EOF\\nunchanged\\nEOF\\n');
})();
`,
);
const floorBundle = join(work, 'floor.cjs');
await esbuild.build({
  absWorkingDir: root,
  entryPoints: [floorSource],
  outfile: floorBundle,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  minify: true,
  nodePaths: [join(root, 'packages/core/node_modules')],
  logLevel: 'warning',
});
const requestsFile = join(work, 'requests.json');
writeFileSync(requestsFile, JSON.stringify(oneRun));
async function runFloor() {
  writeFileSync(files.output, '');
  const ms = await timedRun(
    process.execPath,
    [floorBundle, sim.url, sim.token, requestsFile, files.output],
    bareEnv,
    work,
  );
  if (!readFileSync(files.output, 'utf8').includes('unchanged'))
    throw new Error('the floor wrote no output');
  return ms;
}

log(`node ${process.version} (${process.execPath})`);
log(`bundle: ${BUNDLE} ${bundleKib.toFixed(1)} KiB`);
for (let i = 0; i < WARMUP; i++) {
  await runBare();
  await runFloor();
  await runAction();
}
const bare = [];
const floor = [];
const action = [];
const contenders = [
  [bare, runBare],
  [floor, runFloor],
  [action, runAction],
];
await sim.ask('clear');
for (let i = 0; i < RUNS; i++) {
  // Rotate which goes first, so none always follows another.
  for (let k = 0; k < contenders.length; k++) {
    const [times, fn] = contenders[(i + k) % contenders.length];
    times.push(await fn());
  }
}
const stats = await sim.ask('stats');
// The floor's requests are the simulator's too: count the action's alone.
const requests = (stats.requests - oneRun.length * RUNS) / RUNS;
const writes = stats.writes;
// The simulator's own share of the no-op: its answer to the action's request, replayed.
const recorded = oneRun[0];
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
for (const f of Object.values(files)) writeFileSync(f, '');
const peak = await peakRssMiB([BUNDLE], { env: actionEnv, cwd: work });
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
const floorMs = median(floor);
log(
  `node floor (same requests, same YAML parse, same output): median ${floorMs.toFixed(1)} ms (min ${Math.min(...floor).toFixed(1)})`,
);
console.log(
  JSON.stringify({
    bench: 'action',
    bundle_kib: Math.round(bundleKib * 10) / 10,
    noop_vs_node_floor: Math.round((actionMs / floorMs) * 100) / 100,
    peak_rss_mib: peak,
    noop_ms: Math.round(actionMs * 10) / 10,
    floor_ms: Math.round(floorMs * 10) / 10,
    bare_node_ms: Math.round(bareMs * 10) / 10,
    noop_vs_bare_node: Math.round((actionMs / bareMs) * 100) / 100,
    requests_per_run: requests,
    runs: RUNS,
    loadavg: (await import('node:os'))
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
  }),
);
