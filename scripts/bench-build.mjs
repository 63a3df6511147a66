// pnpm bench:build — a re-run of build-and-push-image for a commit whose image is already in the
// registry (the CLI asks the registry and skips the build), against what a user of
// docker/build-push-action with a warm cache pays for the same re-run: `docker build` hitting the
// layer cache for every step, then `docker push` of layers the registry already holds.
//
// A real Distribution registry per auth kind — open, basic (htpasswd) and bearer (a token
// service, as GHCR, GCR, Docker Hub and Harbor do) — and a real Docker engine; requests counted
// from the registry's own access log plus, for bearer, the token service's log. The first build
// and push, logins and the warm-up are untimed; re-runs and cached builds run interleaved, and
// each is checked (the re-run skipped with the pushed digest; the cached build's push left the
// same tag in the registry).
//
// Options: --runs 5 --auth open,basic,bearer
// Last line: {"bench":"build","rerun_registry_requests_bearer":N,"rerun_vs_cached_build":X,…}
//   (the ratio on the bearer registry; every kind's figures under "auth")
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  interleaved,
  load,
  loadTestModules,
  log,
  option,
  ratio,
  report,
  root,
  run,
  stats,
  stringOption,
  timed,
} from './bench-lib.mjs';

const RUNS = option('runs', 5);
const KINDS = stringOption('auth', 'open,basic,bearer').split(',');
const REGISTRY_AUTH = { open: 'open', basic: 'htpasswd', bearer: 'token' };

const { registryModule, dockerModule } = await loadTestModules({
  registryModule: 'test/support/registry.ts',
  dockerModule: 'test/support/docker-engine.ts',
});
const { startRegistry, TEST_USER, TEST_PASSWORD } = registryModule;
const { startDockerEngine } = dockerModule;

const work = await mkdtemp(join(tmpdir(), 'gr-bench-build-'));
const context = join(work, 'context');
await mkdir(join(context, 'bin'), { recursive: true });
await copyFile('/bin/busybox', join(context, 'bin', 'busybox'));
// A few layers with a RUN step, as an application image has; every one cached on a re-run.
await writeFile(
  join(context, 'Dockerfile'),
  'FROM scratch\nCOPY bin/busybox /bin/busybox\nRUN ["/bin/busybox", "sh", "-c", "/bin/busybox mkdir -p /app && /bin/busybox dd if=/dev/urandom of=/app/data bs=1k count=2048 2>/dev/null"]\nCOPY app.txt /app/app.txt\n',
);
await writeFile(join(context, 'app.txt'), 'bench\n');

const engine = await startDockerEngine();
const results = {};
try {
  for (const kind of KINDS) {
    const registry = await startRegistry(REGISTRY_AUTH[kind]);
    try {
      results[kind] = await measure(kind, registry);
    } finally {
      await registry.stop();
    }
  }
} finally {
  await engine.stop();
  await rm(work, { recursive: true, force: true });
}

async function measure(kind, registry) {
  const sha = randomBytes(20).toString('hex');
  const name = `${registry.host}/bench/app`;
  const dockerConfig = join(work, `docker-config-${kind}`);
  await mkdir(dockerConfig, { recursive: true });
  const env = {
    ...engine.env,
    DOCKER_CONFIG: dockerConfig,
    GITHUB_SHA: sha,
    BENCH_REGISTRY_PASSWORD: TEST_PASSWORD,
  };
  const login =
    kind === 'open' ? [] : ['--username', TEST_USER, '--password-env', 'BENCH_REGISTRY_PASSWORD'];
  const cli = async () => {
    const { stdout } = await run(
      process.execPath,
      [
        join(root, 'dist/cli.cjs'),
        'build-and-push-image',
        '--image',
        name,
        ...login,
        '--builder',
        'docker',
        '--json',
      ],
      { cwd: context, env },
    );
    return JSON.parse(stdout);
  };
  // Untimed: the first build and push, and the docker login the cached-build baseline needs.
  const first = await cli();
  if (first.result !== 'built' || !first.digest)
    throw new Error(`${kind}: first run: ${JSON.stringify(first)}`);
  if (kind !== 'open') {
    await run('docker', ['login', '--username', TEST_USER, '--password-stdin', registry.host], {
      env,
      input: TEST_PASSWORD,
    });
  }
  // Its own tag in the same repository: the registry holds every layer already, and the CLI's
  // tag stays as the first run pushed it.
  const tag = `${name}:cached-${sha.slice(0, 7)}`;
  const counts = { rerun: [], cached: [] };
  const times = await interleaved(['rerun', 'cached'], RUNS, async (contender, i) => {
    const before = registry.requests().length;
    const tokensBefore = registry.tokenRequests().length;
    let ms;
    if (contender === 'rerun') {
      let again;
      ms = await timed(async () => {
        again = await cli();
      });
      if (again.result !== 'skipped-exists' || again.digest !== first.digest) {
        throw new Error(`${kind}: the re-run did not skip: ${JSON.stringify(again)}`);
      }
    } else {
      ms = await timed(async () => {
        await run('docker', ['build', '-q', '-t', tag, '.'], { cwd: context, env });
        await run('docker', ['push', '-q', tag], { env });
      });
      const pushed = await registry.manifest('bench/app', `cached-${sha.slice(0, 7)}`);
      if (!pushed.digest) throw new Error(`${kind}: docker push left no ${tag}`);
    }
    const seen = await registry.requestsSince(before, 1); // the access log lags the answers
    if (i >= 0)
      counts[contender].push(seen.length + (registry.tokenRequests().length - tokensBefore));
    return ms;
  });
  const figures = {
    rerun: { ...stats(times.rerun), requests: Math.max(...counts.rerun) },
    cached_build: { ...stats(times.cached), requests: Math.max(...counts.cached) },
    rerun_vs_cached_build: ratio(stats(times.rerun).median_ms, stats(times.cached).median_ms),
    loadavg: load(),
  };
  log(
    `${kind}: re-run ${figures.rerun.median_ms} ms [${figures.rerun.min_ms}–${figures.rerun.max_ms}] in ${figures.rerun.requests} requests; ` +
      `cached docker build + push ${figures.cached_build.median_ms} ms [${figures.cached_build.min_ms}–${figures.cached_build.max_ms}] in ${figures.cached_build.requests} (load ${figures.loadavg})`,
  );
  return figures;
}

const head = results.bearer ?? Object.values(results).at(-1);
report({
  bench: 'build',
  ...(results.open ? { rerun_registry_requests_open: results.open.rerun.requests } : {}),
  ...(results.basic ? { rerun_registry_requests_basic: results.basic.rerun.requests } : {}),
  ...(results.bearer ? { rerun_registry_requests_bearer: results.bearer.rerun.requests } : {}),
  rerun_ms: head.rerun.median_ms,
  rerun_vs_cached_build: head.rerun_vs_cached_build,
  auth: results,
});
