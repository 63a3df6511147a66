// pnpm bench:build — times a first build-and-push of a small image against a second run of the same
// commit, with the bundled CLI as a process, a real registry (htpasswd auth) and a real builder.
// The re-run should cost a request, not a build. Last line:
//   {"bench":"build","rerun_vs_build":X,"rerun_registry_requests":N}   (targets: X <= 0.1, N <= 2)
// Usage: node scripts/bench-build.mjs [--builder docker|buildah|podman]   (default docker)
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const builderArg = process.argv.indexOf('--builder');
const builder = builderArg === -1 ? 'docker' : process.argv[builderArg + 1];
const RERUNS = 5;

// The test helpers that start the registry and the engine are TypeScript: bundle them once here.
const work = await mkdtemp(join(tmpdir(), 'gr-bench-'));
const support = join(work, 'support.mjs');
await esbuild.build({
  stdin: {
    contents:
      "export * from './test/support/registry.ts'; export * from './test/support/docker-engine.ts';",
    resolveDir: root,
    loader: 'ts',
  },
  bundle: true,
  platform: 'node',
  format: 'esm',
  outfile: support,
  logLevel: 'warning',
});
const { startRegistry, startDockerEngine, TEST_USER, TEST_PASSWORD } = await import(
  pathToFileURL(support).href
);

const context = join(work, 'context');
await mkdir(join(context, 'bin'), { recursive: true });
await copyFile('/bin/busybox', join(context, 'bin', 'busybox'));
await writeFile(
  join(context, 'Dockerfile'),
  'FROM scratch\nCOPY bin/busybox /bin/busybox\nRUN ["/bin/busybox", "sh", "-c", "/bin/busybox mkdir -p /app && /bin/busybox date > /app/built"]\nCOPY app.txt /app/app.txt\n',
);
await writeFile(join(context, 'app.txt'), 'bench\n');

const registry = await startRegistry('htpasswd');
let engine;
let env = { ...process.env };
if (builder === 'docker') {
  engine = await startDockerEngine();
  env = { ...engine.env };
} else {
  const conf = join(work, 'storage.conf');
  await writeFile(
    conf,
    `[storage]\ndriver = "vfs"\ngraphroot = "${join(work, 'root')}"\nrunroot = "${join(work, 'run')}"\n`,
  );
  env = { ...env, CONTAINERS_STORAGE_CONF: conf, BUILDAH_ISOLATION: 'chroot' };
}
// A fresh commit per bench run, so the first run really builds.
env = {
  ...env,
  GITHUB_SHA: randomBytes(20).toString('hex'),
  BENCH_REGISTRY_PASSWORD: TEST_PASSWORD,
};

function runCli() {
  const args = [
    join(root, 'dist/cli.cjs'),
    'build-and-push-image',
    '--image',
    `${registry.host}/bench/app`,
    '--username',
    TEST_USER,
    '--password-env',
    'BENCH_REGISTRY_PASSWORD',
    '--builder',
    builder,
    '--json',
  ];
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, args, {
      cwd: context,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) reject(new Error(`build-and-push-image exited ${code}:\n${err}`));
      else resolve({ seconds, result: JSON.parse(out) });
    });
  });
}

try {
  const first = await runCli();
  console.log(`first run:  ${first.result.result} in ${first.seconds.toFixed(3)} s (${builder})`);
  const reruns = [];
  let requests;
  for (let i = 0; i < RERUNS; i++) {
    const before = registry.requests().length;
    const again = await runCli();
    const seen = await registry.requestsSince(before, 1); // the log lags the answers
    requests ??= seen.length;
    if (again.result.result !== 'skipped-exists' || again.result.digest !== first.result.digest)
      throw new Error(`re-run did not skip: ${JSON.stringify(again.result)}`);
    reruns.push(again.seconds);
    console.log(
      `re-run ${i + 1}:  ${again.result.result} in ${again.seconds.toFixed(3)} s, registry requests: ${seen.map((r) => `${r.method} ${r.status}`).join(', ')}`,
    );
  }
  const median = [...reruns].sort((a, b) => a - b)[Math.floor(reruns.length / 2)];
  console.log(
    JSON.stringify({
      bench: 'build',
      rerun_vs_build: Number((median / first.seconds).toFixed(4)),
      rerun_registry_requests: requests,
    }),
  );
} finally {
  await registry.stop();
  await engine?.stop();
  await rm(work, { recursive: true, force: true });
}
