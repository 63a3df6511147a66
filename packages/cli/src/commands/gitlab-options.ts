// create-release-pr on GitLab: the flags, and the defaults GitLab CI's predefined variables give
// (https://docs.gitlab.com/ci/variables/predefined_variables/).
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '@gitops-release/core';
import { createGitLabHost, type GitLabHost } from '@gitops-release/gitlab';
import { flag, type Io, type OptionSpec, type ParsedArgs, stringOption } from '../command.js';

export const gitlabOptions: OptionSpec = {
  'gitlab-url': { type: 'string' },
  'remove-source-branch': { type: 'boolean' },
  squash: { type: 'boolean' },
};

export const gitlabHelp = `  --gitlab-url URL            GitLab instance (self-managed https://HOST); default $CI_SERVER_URL,
                              else https://gitlab.com. With --host gitlab, --repo is
                              GROUP/SUBGROUP/PROJECT or the numeric project id; the token
                              (default GITLAB_TOKEN) needs the api scope and the Developer role.
  --remove-source-branch      GitLab: delete the release branch when its merge request merges.
  --squash                    GitLab: squash the release commits when it merges.`;

/** Inside GitLab CI (CI_SERVER_URL set, not GitHub Actions) a GROUP/PROJECT path means GitLab. */
export function looksLikeGitLabProject(repo: string, env: Io['env'], cwd: string): boolean {
  if (!env.CI_SERVER_URL || env.GITHUB_ACTIONS) return false;
  return (
    (/^\d+$/.test(repo) || /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)+$/.test(repo)) &&
    !existsSync(resolve(cwd, repo))
  );
}

/** The token variable when none is named: GITLAB_TOKEN, as GITHUB_TOKEN on GitHub. */
export const GITLAB_TOKEN_ENV = 'GITLAB_TOKEN';

export function createGitLabHostFromArgs(
  args: ParsedArgs,
  io: Io,
  repo: string,
  tokenEnv: string,
  token: string | undefined,
  log: (line: string) => void,
): GitLabHost {
  if (!token) {
    throw new UsageError(
      `no GitLab token: set the environment variable ${tokenEnv} (or name another with --token-env) to a project access token with the api scope and the Developer role. CI_JOB_TOKEN cannot create commits or merge requests through the API.`,
      { input: '--token-env' },
    );
  }
  return createGitLabHost({
    project: repo,
    token,
    // A job token goes in JOB-TOKEN (GitLab refuses it as a PRIVATE-TOKEN).
    tokenKind: tokenEnv === 'CI_JOB_TOKEN' || token === io.env.CI_JOB_TOKEN ? 'job' : 'private',
    tokenEnv,
    url: stringOption(args, 'gitlab-url') ?? io.env.CI_SERVER_URL ?? 'https://gitlab.com',
    ...(flag(args, 'remove-source-branch') ? { removeSourceBranch: true } : {}),
    ...(flag(args, 'squash') ? { squash: true } : {}),
    log,
  });
}
