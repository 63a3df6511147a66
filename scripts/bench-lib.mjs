// What every bench-*.mjs shares: options, interleaved runs, medians with their spread, the
// machine's load, peak memory of a child process, and the test servers loaded from TypeScript.
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);

/** `--name VALUE` as a number (or the fallback). */
export function option(name, fallback) {
  const i = argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(argv[i + 1]);
}

/** `--name VALUE` as a string (or the fallback). */
export function stringOption(name, fallback) {
  const i = argv.indexOf(`--${name}`);
  return i === -1 ? fallback : argv[i + 1];
}

/** `--name 1,2,3` as numbers. */
export function listOption(name, fallback) {
  const value = stringOption(name, undefined);
  return value === undefined ? fallback : value.split(',').map(Number);
}

export const log = (line) => process.stderr.write(`${line}\n`);

/** The load average when called, to print beside every figure. */
export function load() {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

/** Median and spread (min, max) of milliseconds, rounded for printing. */
export function stats(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  const median = sorted.length % 2 ? sorted[Math.floor(mid)] : (sorted[mid - 1] + sorted[mid]) / 2;
  const r = (v) => Math.round(v * 10) / 10;
  return {
    median_ms: r(median),
    min_ms: r(sorted[0]),
    max_ms: r(sorted.at(-1)),
    runs: values.length,
  };
}

export const ratio = (a, b) => Math.round((a / b) * 100) / 100;

/**
 * Runs every contender `runs` times, interleaved and rotated (A B C, B C A, C A B, …) so drift in
 * the machine's load falls on all of them alike. `measure(name, i)` returns the milliseconds of
 * the timed region only (set-up and clean-up are its own business, outside the clock). Warm-up
 * rounds pass a negative index.
 */
export async function interleaved(names, runs, measure, { warmup = 1 } = {}) {
  // Untimed rounds first: the page cache, lazily compiled code, servers' first-request costs.
  for (let i = 0; i < warmup; i++) for (const name of names) await measure(name, -1 - i);
  const times = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < runs; i++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(i + k) % names.length];
      times[name].push(await measure(name, i));
    }
  }
  return times;
}

/** Milliseconds `fn` takes. */
export async function timed(fn) {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

/** Runs a command (`input` goes to its stdin); rejects with its stderr. */
export function run(file, args, { input, ...options } = {}) {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { maxBuffer: 256 * 1024 * 1024, ...options },
      (err, stdout, stderr) => {
        if (err)
          reject(new Error(`${file} ${args.slice(0, 3).join(' ')} …: ${stderr || err.message}`));
        else resolve({ stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin.end(input);
  });
}

const rssPreload = join(root, '.tmp', 'bench-rss.cjs');

/**
 * Peak resident memory (MiB) of one Node process running `args`: a preload prints
 * process.resourceUsage().maxRSS at exit to a file. Untimed: the preload costs a little.
 */
export async function peakRssMiB(args, options = {}) {
  mkdirSync(dirname(rssPreload), { recursive: true });
  writeFileSync(
    rssPreload,
    `process.on('exit', () => require('fs').writeFileSync(process.env.BENCH_RSS_FILE, String(process.resourceUsage().maxRSS)));\n`,
  );
  const file = join(root, '.tmp', `bench-rss-${process.pid}.txt`);
  await run(process.execPath, ['--require', rssPreload, ...args], {
    ...options,
    env: { ...(options.env ?? process.env), BENCH_RSS_FILE: file },
  });
  return Math.round((Number(readFileSync(file, 'utf8')) / 1024) * 10) / 10;
}

/** The test servers (GitHub simulator, git http-backend, registry …) bundled from TypeScript. */
export async function loadTestModules(entryPoints) {
  const esbuild = await import('esbuild');
  const out = join(root, '.tmp', 'bench-build');
  await esbuild.build({
    absWorkingDir: root,
    entryPoints,
    outdir: out,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    logLevel: 'warning',
  });
  const modules = {};
  for (const name of Object.keys(entryPoints)) {
    modules[name] = await import(pathToFileURL(join(out, `${name}.mjs`)).href);
  }
  return modules;
}

/** The last line every benchmark prints: one JSON object, with the load it ran under. */
export function report(figures) {
  console.log(JSON.stringify({ ...figures, loadavg: load() }));
}
