import { execFile } from 'node:child_process';
import { UsageError } from '@gitops-release/core';
import type { Io } from './command.js';

/** Where CI systems put the commit being built: GitHub, CircleCI, GitLab, Jenkins (git plugin). */
export const CI_SHA_VARIABLES = ['GITHUB_SHA', 'CIRCLE_SHA1', 'CI_COMMIT_SHA', 'GIT_COMMIT'];

export interface FoundCommit {
  /** The full SHA, lower case. */
  sha: string;
  /** Where it came from, for the log: `--commit`, a variable's name, or `git rev-parse HEAD in DIR`. */
  from: string;
}

const SHA = /^[0-9a-f]{7,64}$/i;

function gitHead(dir: string, env: Io['env']): Promise<string | undefined> {
  return new Promise((done) => {
    execFile(
      'git',
      ['rev-parse', 'HEAD'],
      { cwd: dir, env: env as NodeJS.ProcessEnv },
      (err, out) => done(err ? undefined : out.trim() || undefined),
    );
  });
}

/** `--commit`, else the CI's variable: what is known without asking git. */
export function commitFromFlagOrEnv(
  given: string | undefined,
  env: Io['env'],
): FoundCommit | undefined {
  if (given !== undefined) {
    const v = given.trim();
    if (!SHA.test(v))
      throw new UsageError(`--commit takes a commit SHA (7 to 64 hex digits), got "${v}"`, {
        input: '--commit',
      });
    return { sha: v.toLowerCase(), from: '--commit' };
  }
  for (const name of CI_SHA_VARIABLES) {
    const v = env[name]?.trim();
    if (!v) continue;
    // A CI variable that holds something else is a broken setup: say so rather than skip it.
    if (!SHA.test(v))
      throw new UsageError(
        `${name} "${v}" is not a full commit SHA: fix ${name}, or pass --commit SHA`,
        { input: name },
      );
    return { sha: v.toLowerCase(), from: name };
  }
  return undefined;
}

/**
 * The application commit: `--commit`, else the CI's variable, else `git rev-parse HEAD` in `dir`
 * (a Tekton git-clone workspace, any checkout). Undefined when none of them knows.
 */
export async function findCommit(options: {
  given: string | undefined;
  env: Io['env'];
  dir: string;
}): Promise<FoundCommit | undefined> {
  const known = commitFromFlagOrEnv(options.given, options.env);
  if (known) return known;
  const head = await gitHead(options.dir, options.env);
  return head && SHA.test(head)
    ? { sha: head.toLowerCase(), from: `git rev-parse HEAD in ${options.dir}` }
    : undefined;
}

/** `--sha-length N`: a whole number from 4 to 64 (git's own abbreviations start at 4). */
export function shaLengthOption(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 4 || n > 64)
    throw new UsageError(`--sha-length takes a whole number from 4 to 64, got "${value}"`, {
      input: '--sha-length',
    });
  return n;
}
