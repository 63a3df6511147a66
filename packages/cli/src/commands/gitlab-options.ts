// create-release-pr on GitLab: the flags, and the defaults GitLab CI's predefined variables give
// (https://docs.gitlab.com/ci/variables/predefined_variables/).
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { type ReleaseRequest, UsageError } from '@gitops-release/core';
import { createGitLabHost, type GitLabHost } from '@gitops-release/gitlab';
import {
  flag,
  type Io,
  listOption,
  type OptionSpec,
  type ParsedArgs,
  stringOption,
} from '../command.js';

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

/** The flags of a plain git push to GitLab: its push options, and the HTTP user for the token. */
export const gitPushOptions: OptionSpec = {
  'merge-request': { type: 'boolean' },
  'push-option': { type: 'string', multiple: true },
  'git-user': { type: 'string' },
};

export const gitPushHelp = `  --merge-request             --host git on GitLab: open the merge request with GitLab's push options
                              (merge_request.create, .target, .label, .draft, .remove_source_branch,
                              .squash, .merge_when_pipeline_succeeds), as with git push -o.
  --push-option OPT           Another git push -o option (repeatable).
  --git-user NAME             The HTTPS user the token goes with (default x-access-token;
                              gitlab-ci-token for CI_JOB_TOKEN): oauth2, a deploy token's name.`;

/**
 * GitLab's push options for the merge request (https://docs.gitlab.com/topics/git/commit/#push-options-for-merge-requests).
 * The title is GitLab's default, the commit's title, which is the rendered --title.
 */
export function gitPushSettings(
  args: ParsedArgs,
  request: ReleaseRequest,
  tokenEnv: string,
): { pushOptions?: string[]; httpUser?: string } {
  const options: string[] = [];
  if (flag(args, 'merge-request')) {
    options.push('merge_request.create');
    if (request.base) options.push(`merge_request.target=${request.base}`);
    for (const label of request.labels ?? []) options.push(`merge_request.label=${label}`);
    if (request.draft) options.push('merge_request.draft');
    if (flag(args, 'remove-source-branch')) options.push('merge_request.remove_source_branch');
    if (flag(args, 'squash')) options.push('merge_request.squash');
    if (request.autoMerge) {
      // auto_merge since GitLab 17.11; merge_when_pipeline_succeeds before it.
      options.push('merge_request.merge_when_pipeline_succeeds', 'merge_request.auto_merge');
    }
  }
  options.push(...listOption(args, 'push-option'));
  const httpUser =
    stringOption(args, 'git-user') ?? (tokenEnv === 'CI_JOB_TOKEN' ? 'gitlab-ci-token' : undefined);
  return { ...(options.length ? { pushOptions: options } : {}), ...(httpUser ? { httpUser } : {}) };
}

/** The project's web page for a GitLab git remote (self-managed too): https://HOST/GROUP/PROJECT. */
export function gitlabWebUrl(remote: string): string | undefined {
  const https = remote.match(/^(https?):\/\/(?:[^@/]*@)?([^/]+)\/(.+?)(?:\.git)?\/?$/i);
  if (https) return `${https[1]}://${https[2]}/${https[3]}`;
  const ssh = remote.match(/^(?:ssh:\/\/)?[^@/]+@([^:/]+)(?::\d+)?[:/](.+?)(?:\.git)?\/?$/);
  return ssh ? `https://${ssh[1]}/${ssh[2]}` : undefined;
}

/** With --merge-request the link is the merge request GitLab opened, on the remote's own host. */
export function mergeRequestLink(
  args: ParsedArgs,
  remote: string,
): ((base: string, branch: string) => string | undefined) | undefined {
  const web = flag(args, 'merge-request') ? gitlabWebUrl(remote) : undefined;
  if (!web) return undefined;
  return (_base, branch) =>
    `${web}/-/merge_requests?state=opened&source_branch=${encodeURIComponent(branch)}`;
}
