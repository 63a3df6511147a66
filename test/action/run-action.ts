import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root } from './workflow-lint.js';

// Runs the committed bundle as the GitHub runner runs a `node24` action: `node dist/action.cjs`
// with the inputs as INPUT_* variables and the GITHUB_* files, in the workspace as cwd.

export const BUNDLE = join(root, 'dist/action.cjs');

let installed: Promise<string> | undefined;
/**
 * The committed bundle copied where the runner puts an action (`_actions/OWNER/REPO/REF/`), away
 * from this repository: no node_modules to fall back on, so a package left out of the bundle fails.
 */
function installedBundle(): Promise<string> {
  installed ??= (async () => {
    const dir = join(
      await mkdtemp(join(tmpdir(), 'gr-actions-')),
      'gitops-release/gitops-release/v1',
    );
    await mkdir(join(dir, 'dist'), { recursive: true });
    await copyFile(join(root, 'action.yml'), join(dir, 'action.yml'));
    await copyFile(BUNDLE, join(dir, 'dist/action.cjs'));
    return join(dir, 'dist/action.cjs');
  })();
  return installed;
}

export interface ActionRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** GITHUB_OUTPUT parsed as the runner parses it. */
  outputs: Record<string, string>;
  outputsFile: string;
  summary: string;
  envFile: string;
  /** The `::error …::` lines. */
  errors: string[];
  /** Everything the action printed or wrote, but the `::add-mask::` lines that tell the runner what to hide. */
  everything: string;
}

/** The runner's input variable for an input name. */
export function inputEnv(inputs: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(inputs).map(([k, v]) => [`INPUT_${k.replace(/ /g, '_').toUpperCase()}`, v]),
  );
}

/** GITHUB_OUTPUT's `name<<DELIMITER … DELIMITER` blocks (and `name=value` lines). */
export function parseOutputsFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const heredoc = line.match(/^([^=<]+)<<(.+)$/);
    if (heredoc) {
      const [, name, delimiter] = heredoc as unknown as [string, string, string];
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== delimiter; i++) value.push(lines[i]!);
      if (i >= lines.length) throw new Error(`output ${name}: no closing delimiter`);
      if (name in out) throw new Error(`output ${name} set twice`);
      out[name] = value.join('\n');
    } else if (line.includes('=')) {
      out[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
    } else if (line !== '') throw new Error(`unexpected line in GITHUB_OUTPUT: ${line}`);
  }
  return out;
}

export async function runAction(
  inputs: Record<string, string>,
  options: { env?: Record<string, string | undefined>; cwd?: string } = {},
): Promise<ActionRun> {
  const dir = await mkdtemp(join(tmpdir(), 'gr-runner-'));
  const outputsFile = join(dir, 'output');
  const summaryFile = join(dir, 'summary');
  const envFile = join(dir, 'env');
  await Promise.all([outputsFile, summaryFile, envFile].map((f) => writeFile(f, '')));
  const workspace = options.cwd ?? dir;
  const bundle = await installedBundle();
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: workspace,
    RUNNER_TEMP: dir,
    GITHUB_OUTPUT: outputsFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_ENV: envFile,
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_REPOSITORY: 'acme/web',
    GITHUB_ACTOR: 'octocat',
    ...options.env,
    ...inputEnv(inputs),
  };
  const { code, stdout, stderr } = await new Promise<{
    code: number | null;
    stdout: string;
    stderr: string;
  }>((resolve) => {
    execFile(
      process.execPath,
      [bundle],
      { cwd: workspace, env, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? null) : 0;
        resolve({ code: typeof code === 'number' ? code : null, stdout, stderr });
      },
    );
  });
  const outputsText = await readFile(outputsFile, 'utf8');
  const summary = await readFile(summaryFile, 'utf8');
  const envText = await readFile(envFile, 'utf8');
  const printed = stdout
    .split('\n')
    .filter((l) => !l.startsWith('::add-mask::'))
    .join('\n');
  return {
    code,
    stdout,
    stderr,
    outputs: parseOutputsFile(outputsText),
    outputsFile: outputsText,
    summary,
    envFile: envText,
    errors: stdout.split('\n').filter((l) => l.startsWith('::error')),
    everything: [printed, stderr, outputsText, summary, envText].join('\n'),
  };
}
