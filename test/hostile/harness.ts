// The hostile-input suite runs the CLI as users run it: the committed bundle (dist/cli.cjs, kept in
// step with the sources by check-dist), in its own process, with only the environment a case sets.
// Each case then checks what a refusal must never do: exit 0 or with a trace, stay silent about the
// input, leak a secret, print a raw control character, change a file, a remote ref or leave a
// temporary directory behind.

import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

const CLI = fileURLToPath(new URL('../../dist/cli.cjs', import.meta.url));
/** Generous: a case that hangs (a FIFO read, a quadratic parse) fails here instead of hanging CI. */
export const TIME_LIMIT_MS = 60_000;

export interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** True when the time limit killed it. */
  timedOut: boolean;
}

/** Running as root, permission cases run the CLI as nobody, whom chmod does stop. */
export const RUN_AS =
  process.getuid?.() === 0 ? { uid: 65534, gid: 65534, name: 'nobody' } : undefined;

export interface RunOptions {
  cwd: string;
  env?: Record<string, string>;
  stdin?: string;
  /** Run as an unprivileged user (see RUN_AS). */
  unprivileged?: boolean;
}

export function cli(argv: string[], options: RunOptions): Promise<Outcome> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...argv], {
      cwd: options.cwd,
      // Nothing inherited: a CI's GITHUB_SHA or token must not change what a case tests.
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: options.cwd, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(options.unprivileged && RUN_AS ? { uid: RUN_AS.uid, gid: RUN_AS.gid } : {}),
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, TIME_LIMIT_MS);
    child.on('error', fail);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr, timedOut });
    });
    child.stdin.on('error', () => {}); // the CLI may exit before reading it
    child.stdin.end(options.stdin ?? '');
  });
}

export interface Refusal {
  code: 1 | 2;
  /** Strings the message must contain: the input's name, the file and line, the reason. */
  names: (string | RegExp)[];
  /** Values that must appear nowhere in the output. */
  secrets?: string[];
}

const STACK_FRAME = /^\s+at .+(?::\d+:\d+\)?|\(native\)|\(<anonymous>\))$/m;
// Raw control characters other than tab, newline and CRLF; bidi overrides.
// biome-ignore lint/complexity/useRegexLiterals: a literal would trip noControlCharactersInRegex
const RAW_CONTROL = new RegExp(
  '\\r(?!\\n)|[\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f\\u202a-\\u202e\\u2066-\\u2069]',
);

/** The checks every refusal must pass. */
export function expectRefused(out: Outcome, refusal: Refusal): void {
  const all = `${out.stdout}\n${out.stderr}`;
  expect(out.timedOut, `finished within ${TIME_LIMIT_MS} ms`).toBe(false);
  expect(out.code, `exit code; stderr:\n${out.stderr}`).toBe(refusal.code);
  for (const name of refusal.names) {
    if (typeof name === 'string') expect(out.stderr).toContain(name);
    else expect(out.stderr).toMatch(name);
  }
  expect(out.stderr).toMatch(/^error: /m);
  expect(all, 'no stack trace without --debug').not.toMatch(STACK_FRAME);
  expect(all).not.toMatch(/internal error|This is a bug/);
  expect(all, 'no raw control character').not.toMatch(RAW_CONTROL);
  for (const secret of refusal.secrets ?? []) expect(all).not.toContain(secret);
}

/** A case that must succeed: finished, exit 0, no trace, no raw control character. */
export function expectDone(out: Outcome): void {
  expect(out.timedOut, `finished within ${TIME_LIMIT_MS} ms`).toBe(false);
  expect(out.code, `exit code; stderr:\n${out.stderr}`).toBe(0);
  expect(`${out.stdout}\n${out.stderr}`).not.toMatch(STACK_FRAME);
  expect(`${out.stdout}\n${out.stderr}`).not.toMatch(RAW_CONTROL);
}

/** A directory anyone may enter (mkdtemp makes 0700), so unprivileged cases can use it. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `gr-hostile-${prefix}-`));
  chmodSync(dir, 0o755);
  return dir;
}

/** Every entry below `dir` with its type, mode and content hash: equal snapshots, nothing changed. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const visit = (rel: string) => {
    const abs = join(dir, rel);
    const info = lstatSync(abs);
    const mode = (info.mode & 0o7777).toString(8);
    if (info.isSymbolicLink()) out[rel] = `link ${readlinkSync(abs)}`;
    else if (info.isDirectory()) {
      out[rel] = `dir ${mode}`;
      let names: string[] = [];
      try {
        names = readdirSync(abs);
      } catch {
        return; // unreadable on purpose: its listing cannot change without us
      }
      for (const name of names.sort()) visit(rel ? join(rel, name) : name);
    } else if (info.isFile()) {
      let hash = 'unreadable';
      try {
        hash = createHash('sha256').update(readFileSync(abs)).digest('hex');
      } catch {}
      out[rel] = `file ${mode} ${hash}`;
    } else out[rel] = `special ${mode}`;
  };
  visit('');
  return out;
}

export type Entry =
  | string
  | Buffer
  | { fifo: true }
  | { symlink: string }
  | { dir: true; mode?: number }
  | { text: string | Buffer; mode?: number; owner?: 'unprivileged' };

/** Writes a tree: text files, raw bytes, FIFOs, symlinks, directories, modes and owners. */
export function writeTree(dir: string, tree: Record<string, Entry>): void {
  for (const [rel, entry] of Object.entries(tree)) {
    const abs = join(dir, rel);
    mkdirSync(dirname(abs), { recursive: true, mode: 0o755 });
    if (typeof entry === 'string' || Buffer.isBuffer(entry)) writeFileSync(abs, entry);
    else if ('fifo' in entry) execFileSync('mkfifo', [abs]);
    else if ('symlink' in entry) symlinkSync(entry.symlink, abs);
    else if ('dir' in entry) mkdirSync(abs, { recursive: true, mode: 0o755 });
    else {
      writeFileSync(abs, entry.text);
      if (entry.owner === 'unprivileged' && RUN_AS) chownSync(abs, RUN_AS.uid, RUN_AS.gid);
    }
  }
  // Modes last: a read-only directory must be filled first.
  for (const [rel, entry] of Object.entries(tree).reverse()) {
    if (
      typeof entry === 'object' &&
      !Buffer.isBuffer(entry) &&
      'mode' in entry &&
      entry.mode !== undefined
    ) {
      chmodSync(join(dir, rel), entry.mode);
    }
  }
}
