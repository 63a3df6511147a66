import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from '@gitops-release/core';

/** What a command may touch of the outside world; tests pass their own. */
export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
}

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Full `--help` text. */
  help: string;
  options: OptionSpec;
  allowPositionals?: boolean;
  /** Returns the exit code: 0 done (changed or already up to date), 1 failed. */
  run(args: ParsedArgs, io: Io): Promise<number>;
}

/** util.parseArgs with its errors turned into a UsageError that names the flag. */
export function parseCommandArgs(command: Command, argv: string[]): ParsedArgs {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: command.allowPositionals ?? false,
      strict: true,
    });
    return { values: values as ParsedArgs['values'], positionals };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new UsageError(`${command.name}: ${message.replace(/\. To specify.*$/s, '')}`);
  }
}

export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const v = args.values[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string')
    throw new UsageError(`--${name} takes a value`, { input: `--${name}` });
  if (v.trim() === '') throw new UsageError(`--${name} must not be empty`, { input: `--${name}` });
  return v;
}

export function requiredOption(args: ParsedArgs, name: string): string {
  const v = stringOption(args, name);
  if (v === undefined) throw new UsageError(`--${name} is required`, { input: `--${name}` });
  return v;
}

export function listOption(args: ParsedArgs, name: string): string[] {
  const v = args.values[name];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [String(v)]).flatMap((s) =>
    s
      .split(/[\n,]/)
      .map((x) => x.trim())
      .filter(Boolean),
  );
}

export function flag(args: ParsedArgs, name: string): boolean {
  return args.values[name] === true;
}

/**
 * Where progress lines go: stderr, or (with --quiet) nowhere but the warnings. Results still go to
 * stdout and errors to stderr.
 */
export function progress(args: ParsedArgs, io: Io): (line: string) => void {
  const quiet = flag(args, 'quiet');
  return (line) => {
    if (!quiet || /^\s*warning:/i.test(line)) io.stderr(`${line}\n`);
  };
}

/** GH_TOKEN, then GITHUB_TOKEN: the gh CLI's order, so a job set up for gh needs nothing more. */
export function githubTokenVariable(env: Io['env']): string {
  return env.GH_TOKEN?.trim() ? 'GH_TOKEN' : 'GITHUB_TOKEN';
}

/** OWNER/NAME, and not a local directory of that name (`./m.git`, `repos/manifests`). */
export function looksLikeGitHubRepo(repo: string, cwd: string): boolean {
  return (
    /^[A-Za-z0-9_-][A-Za-z0-9_.-]*\/[A-Za-z0-9_.-]+$/.test(repo) && !existsSync(resolve(cwd, repo))
  );
}

/** A flag's value checked against the values it may take (a usage error names the flag). */
export function oneOf<T extends string>(
  value: string | undefined,
  allowed: readonly T[],
  flagName: string,
): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`--${flagName} must be one of ${allowed.join(', ')} (got "${value}")`, {
      input: `--${flagName}`,
    });
  }
  return value as T;
}
