// pnpm bench:release-concurrency — 20 pipelines at once, each releasing a different image into
// the same file (`create-release-pr --mode push`): on the GitHub simulator (GraphQL
// createCommitOnBranch with expectedHeadOid) and on `git http-backend` (--host git, push with
// lease). Each refused attempt re-reads and retries with jittered backoff; this counts how many
// land, how long until the last one has, how many attempts they took and how many requests each
// release cost (from the servers' own logs). Every image's final value on main is checked.
//
// Rounds alternate the hosts (GitHub, git, GitHub, git …), each on the file as the last left it.
// Options: --releases 20 --rounds 2 --latency-ms 50
// Last line: {"bench":"release-concurrency","releases":20,"landed":N,"max_attempts":N,…} — the
// worst host's landed and max_attempts, and every host's figures under "hosts".
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import {
  interleaved,
  load,
  loadTestModules,
  log,
  option,
  report,
  root,
  run,
  stats,
} from './bench-lib.mjs';

const RELEASES = option('releases', 20);
const ROUNDS = option('rounds', 2);
const LATENCY = option('latency-ms', 50);
const CLI = join(root, 'dist', 'cli.cjs');
const FILE = 'apps/prod/deploy.yaml';

const image = (i) => `gcr.io/bench/svc${i}`;
const deployment = () => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: all
spec:
  template:
    spec:
      containers:
${Array.from({ length: RELEASES }, (_, i) => `        - name: svc${i}\n          image: ${image(i)}:a000000 # set by CI`).join('\n')}
`;

const { sim: simModule, git: gitModule } = await loadTestModules({
  sim: 'test/github-sim/index.ts',
  git: 'test/support/git-http-server.ts',
});
const sim = await simModule.startGitHubSimulator({ latencyMs: LATENCY });
const work = mkdtempSync(join(tmpdir(), 'gitops-release-bench-concurrency-'));
const repos = {};
for (const host of ['github', 'git']) {
  const fullName = `bench/concurrency-${host}`;
  await sim.createRepo(fullName, { [FILE]: deployment() });
  const bare = sim.repoPath(fullName);
  for (const [k, v] of [
    ['uploadpack.allowFilter', 'true'],
    ['uploadpack.allowAnySHA1InWant', 'true'],
    ['http.receivepack', 'true'],
  ]) {
    execFileSync('git', ['--git-dir', bare, 'config', k, v]);
  }
  repos[host] = { fullName, bare };
}
const gitServer = await gitModule.startGitHttpServer({
  root: dirname(dirname(repos.git.bare)),
  latencyMs: LATENCY,
});
repos.git.url = `${gitServer.url}/${repos.git.fullName}.git`;

let round = 0;
/** One round: every pipeline started at once; milliseconds until the last has landed. */
async function releaseAll(host, figures) {
  const tag = (i) => `${(round + 10).toString(16)}${String(i).padStart(5, '0')}`.slice(0, 7);
  round++;
  const simBefore = sim.requests.length;
  const gitBefore = gitServer.log.length;
  const scratch = mkdtempSync(join(work, `${host}-`));
  const hostArgs =
    host === 'github'
      ? ['--repo', repos.github.fullName, '--github-url', sim.url]
      : ['--host', 'git', '--repo', repos.git.url];
  const start = process.hrtime.bigint();
  const results = await Promise.allSettled(
    Array.from({ length: RELEASES }, async (_, i) => {
      const { stdout } = await run(
        process.execPath,
        [
          CLI,
          'create-release-pr',
          ...hostArgs,
          '--mode',
          'push',
          '--path',
          FILE,
          '--image',
          `${image(i)}:${tag(i)}`,
          '--json',
        ],
        { env: { ...process.env, GITHUB_TOKEN: sim.tokens.write, TMPDIR: scratch } },
      );
      const result = JSON.parse(stdout);
      if (result.result !== 'pushed') throw new Error(`release ${i}: ${stdout}`);
      return result.attempts;
    }),
  );
  const wall = Number(process.hrtime.bigint() - start) / 1e6;
  rmSync(scratch, { recursive: true, force: true });
  // Landed: the process said so and main holds its image's new tag.
  const text = execFileSync('git', ['--git-dir', repos[host].bare, 'show', `main:${FILE}`], {
    encoding: 'utf8',
  });
  const held = parse(text).spec.template.spec.containers.map((c) => c.image);
  const landed = results.filter(
    (r, i) => r.status === 'fulfilled' && held[i] === `${image(i)}:${tag(i)}`,
  ).length;
  for (const r of results)
    if (r.status === 'rejected') log(`${host}: ${r.reason.message.slice(0, 300)}`);
  figures[host].push({
    landed,
    wall,
    attempts: results.filter((r) => r.status === 'fulfilled').map((r) => r.value),
    apiRequests: sim.requests.length - simBefore,
    gitRequests: gitServer.log.length - gitBefore,
  });
  log(
    `${host}: ${landed}/${RELEASES} landed in ${wall.toFixed(0)} ms, attempts ${figures[host].at(-1).attempts.join(',')} (load ${load()})`,
  );
  return wall;
}

const figures = { github: [], git: [] };
const loadBefore = load();
try {
  await interleaved(['github', 'git'], ROUNDS, (host) => releaseAll(host, figures), { warmup: 0 });
} finally {
  await gitServer.close();
  await sim.close();
  rmSync(work, { recursive: true, force: true });
}

const hosts = {};
for (const [host, rounds] of Object.entries(figures)) {
  const attempts = rounds.flatMap((r) => r.attempts);
  const requests = rounds.map((r) => (host === 'github' ? r.apiRequests : r.gitRequests));
  hosts[host] = {
    landed: Math.min(...rounds.map((r) => r.landed)),
    wall_until_last_lands: stats(rounds.map((r) => r.wall)),
    attempts_median: stats(attempts).median_ms,
    attempts_max: Math.max(...attempts),
    requests_per_release: Math.round((Math.max(...requests) / RELEASES) * 10) / 10,
  };
}
const worst = Object.values(hosts);
report({
  bench: 'release-concurrency',
  releases: RELEASES,
  landed: Math.min(...worst.map((h) => h.landed)),
  max_attempts: Math.max(...worst.map((h) => h.attempts_max)),
  latency_ms: LATENCY,
  rounds: ROUNDS,
  hosts,
  loadavg_start: loadBefore,
});
