// How promote reaches the manifest repository and writes the commit and pull request: the same
// flags as create-release-pr, read the same way (create-release-pr still reads its own; folding
// it onto these is a follow-up of the Action/CLI spec work, issue 11).

import {
  branchNameProblem,
  type GitHost,
  type MergeMethod,
  type ReleaseRequest,
  UsageError,
} from '@gitops-release/core';
import { createGitHost } from '@gitops-release/git';
import { createGitHubHost, redact } from '@gitops-release/github';
import {
  flag,
  githubTokenVariable,
  type Io,
  listOption,
  looksLikeGitHubRepo,
  type OptionSpec,
  oneOf,
  type ParsedArgs,
  stringOption,
} from './command.js';

import {
  createGitLabHostFromArgs,
  GITLAB_TOKEN_ENV,
  looksLikeGitLabProject,
} from './commands/gitlab-options.js';

/** Flags that say where the manifest repository is and how to reach it. */
export const hostOptionSpec: OptionSpec = {
  repo: { type: 'string' },
  base: { type: 'string' },
  host: { type: 'string' },
  'token-env': { type: 'string' },
  'github-url': { type: 'string' },
  api: { type: 'string' },
  'ssh-key': { type: 'string' },
  // GitLab (--host gitlab): the instance; default $CI_SERVER_URL, else https://gitlab.com.
  'gitlab-url': { type: 'string' },
};

/** Flags that shape the commit and the pull request. */
export const pullRequestOptionSpec: OptionSpec = {
  mode: { type: 'string' },
  branch: { type: 'string' },
  title: { type: 'string' },
  'commit-message': { type: 'string' },
  label: { type: 'string', multiple: true },
  reviewer: { type: 'string', multiple: true },
  'team-reviewer': { type: 'string', multiple: true },
  assignee: { type: 'string', multiple: true },
  draft: { type: 'boolean' },
  'auto-merge': { type: 'boolean' },
  'merge-method': { type: 'string' },
  'close-superseded': { type: 'boolean' },
  'allow-downgrade': { type: 'boolean' },
  'app-repo': { type: 'string' },
  'dry-run': { type: 'boolean' },
  json: { type: 'boolean' },
};

export interface OpenedHost {
  host: GitHost;
  /** Removes what the host made (a plain git host's temporary repository). */
  dispose(): Promise<void>;
  /** Writes a progress line to stderr with the token removed. */
  log(line: string): void;
}

/** The GitHub or plain git host for `--repo`, with the token from `--token-env`. */
export async function openHost(
  args: ParsedArgs,
  io: Io,
  repo: string,
  secrets: readonly string[] = [],
): Promise<OpenedHost> {
  const hostKind =
    oneOf(stringOption(args, 'host'), ['github', 'gitlab', 'git'] as const, 'host') ??
    (looksLikeGitLabProject(repo, io.env, io.cwd)
      ? 'gitlab'
      : looksLikeGitHubRepo(repo, io.cwd)
        ? 'github'
        : 'git');
  const api = oneOf(stringOption(args, 'api'), ['graphql', 'rest', 'auto'] as const, 'api');
  const tokenEnv =
    stringOption(args, 'token-env') ??
    (hostKind === 'gitlab' ? GITLAB_TOKEN_ENV : githubTokenVariable(io.env));
  const token = io.env[tokenEnv]?.trim() || undefined;
  // `secrets` may grow later (a registry password read when first needed): read it at each line.
  const log = (line: string) => {
    const hidden = [...(token ? [token] : []), ...secrets];
    io.stderr(`${hidden.length ? redact(line, hidden) : line}\n`);
  };
  if (hostKind === 'github') {
    if (!token) {
      throw new UsageError(
        `no GitHub token: set the environment variable ${tokenEnv} (or name another with --token-env)`,
        { input: '--token-env' },
      );
    }
    const host = createGitHubHost({
      repository: repo,
      token,
      baseUrl:
        stringOption(args, 'github-url') ?? io.env.GITHUB_API_URL ?? 'https://api.github.com',
      api: api ?? 'auto',
      log,
      // In GitHub Actions a refusal of the workflow's own token on another repository says so.
      ...(io.env.GITHUB_ACTIONS === 'true' && io.env.GITHUB_REPOSITORY
        ? { workflowRepository: io.env.GITHUB_REPOSITORY }
        : {}),
    });
    return { host, dispose: async () => {}, log };
  }
  if (hostKind === 'gitlab') {
    return {
      host: createGitLabHostFromArgs(args, io, repo, tokenEnv, token, log),
      dispose: async () => {},
      log,
    };
  }
  const sshKey = stringOption(args, 'ssh-key');
  const git = await createGitHost({
    remote: repo,
    cwd: io.cwd,
    env: io.env,
    ...(token ? { token } : {}),
    ...(sshKey ? { sshKeyPath: sshKey } : {}),
  });
  return { host: git, dispose: () => git.dispose(), log };
}

/** The commit and pull request fields of a release request, from the shared flags. */
export function pullRequestFields(args: ParsedArgs): Omit<ReleaseRequest, 'images' | 'paths'> {
  const mode = oneOf(stringOption(args, 'mode'), ['pull-request', 'push'] as const, 'mode');
  const mergeMethod = oneOf(
    stringOption(args, 'merge-method'),
    ['squash', 'merge', 'rebase'] as const,
    'merge-method',
  );
  if (mergeMethod && !flag(args, 'auto-merge')) {
    throw new UsageError('--merge-method only goes with --auto-merge', {
      input: '--merge-method',
    });
  }
  const request: Omit<ReleaseRequest, 'images' | 'paths'> = {};
  const base = stringOption(args, 'base');
  const baseProblem = base === undefined ? undefined : branchNameProblem(base);
  if (baseProblem) {
    throw new UsageError(`--base "${base}" is not a branch name git accepts: ${baseProblem}`, {
      input: '--base',
    });
  }
  if (base) request.base = base;
  if (mode) request.mode = mode;
  const branch = stringOption(args, 'branch');
  if (branch) request.branchTemplate = branch;
  const title = stringOption(args, 'title');
  if (title) request.titleTemplate = title;
  const message = stringOption(args, 'commit-message');
  if (message) request.messageTemplate = message;
  request.labels = listOption(args, 'label');
  request.reviewers = listOption(args, 'reviewer');
  request.teamReviewers = listOption(args, 'team-reviewer');
  request.assignees = listOption(args, 'assignee');
  if (flag(args, 'draft')) request.draft = true;
  if (flag(args, 'auto-merge')) request.autoMerge = (mergeMethod ?? 'squash') as MergeMethod;
  if (flag(args, 'close-superseded')) request.closeSuperseded = true;
  if (flag(args, 'allow-downgrade')) request.allowDowngrade = true;
  const appRepo = stringOption(args, 'app-repo');
  if (appRepo) request.appRepository = appRepo;
  if (flag(args, 'dry-run')) request.dryRun = true;
  return request;
}
