import { spawn } from 'node:child_process';

/** Terminal colour codes, which builders print even into pipes. */
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*[A-Za-z]`, 'g');

export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The last lines of stdout and stderr as they came, for error messages. */
  tail: string[];
}

export interface RunOptions {
  cwd?: string;
  env?: Readonly<Record<string, string | undefined>>;
  /** Each line the process prints, as it prints it. */
  onLine?: (line: string) => void;
  tailLines?: number;
  /** Applied to each line before it is passed on or kept (hides secret values). */
  redact?: (line: string) => string;
}

/** Starts a program with an argument array (never a shell) and collects what it prints. */
export function runProcess(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<ProcessResult> {
  const keep = options.tailLines ?? 15;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env as NodeJS.ProcessEnv | undefined,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const tail: string[] = [];
    const partial = { stdout: '', stderr: '' };
    const feed = (which: 'stdout' | 'stderr', chunk: Buffer) => {
      (which === 'stdout' ? out : err).push(chunk);
      const lines = (partial[which] + chunk.toString('utf8')).split(/\r?\n|\r/);
      partial[which] = lines.pop() ?? '';
      for (const line of lines) push(line);
    };
    const push = (raw: string) => {
      const plain = raw.replace(ANSI, '');
      const line = options.redact ? options.redact(plain) : plain;
      if (line.trim() === '') return;
      options.onLine?.(line);
      tail.push(line);
      if (tail.length > keep) tail.shift();
    };
    child.stdout.on('data', (c: Buffer) => feed('stdout', c));
    child.stderr.on('data', (c: Buffer) => feed('stderr', c));
    child.on('error', reject);
    child.on('close', (code) => {
      push(partial.stdout);
      push(partial.stderr);
      resolve({
        code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        tail,
      });
    });
  });
}

/** The full path of a program on PATH, or undefined. */
export async function findOnPath(
  program: string,
  env: Readonly<Record<string, string | undefined>>,
): Promise<string | undefined> {
  const { access, constants } = await import('node:fs/promises');
  const { delimiter, join } = await import('node:path');
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, program);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}
