import type { Io } from './command.js';
import { run } from './main.js';

/** Runs the CLI in-process, capturing what it prints. */
export async function runCli(
  argv: string[],
  options: { cwd: string; env?: Record<string, string> },
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    env: options.env ?? {},
    cwd: options.cwd,
  };
  const code = await run(argv, io);
  return { code, stdout, stderr };
}
