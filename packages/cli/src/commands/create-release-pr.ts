import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  branchNameProblem,
  commitIdentities,
  createReleasePr,
  DEFAULT_BRANCH_TEMPLATE,
  DEFAULT_TITLE_TEMPLATE,
  formatImageReference,
  type GitHost,
  type ImageReference,
  InvalidImageReferenceError,
  lowercaseImageName,
  type MergeMethod,
  parseImageReference,
  pullRequestOutputs,
  type ReleaseRequest,
  type ReleaseResult,
  UsageError,
  unifiedDiff,
} from '@gitops-release/core';
// The hosts are imported when the command runs, and only the one it uses: Octokit is most of the
// bundle's start-up cost, and set-image or --host git need none of it.
import { redact } from '@gitops-release/github/errors';
import {
  type Command,
  flag,
  githubTokenVariable,
  type Io,
  listOption,
  looksLikeGitHubRepo,
  oneOf,
  type ParsedArgs,
  progress,
  requiredOption,
  stringOption,
} from '../command.js';
import {
  CI_SHA_VARIABLES,
  commitFromFlagOrEnv,
  type FoundCommit,
  findCommit,
  shaLengthOption,
} from '../commit.js';
import {
  createGitLabHostFromArgs,
  GITLAB_TOKEN_ENV,
  gitlabHelp,
  gitlabOptions,
  gitPushHelp,
  gitPushOptions,
  gitPushSettings,
  looksLikeGitLabProject,
  mergeRequestLink,
} from './gitlab-options.js';

const help = `Usage: gitops-release create-release-pr --repo REPO --path PATH --image IMAGE[:TAG] [options]

Releases images into a GitOps manifest repository: reads only the target files, changes the image
tags (comments and formatting kept), writes ONE commit and opens or updates the release pull
request. On GitHub nothing is cloned (2 API round trips for a one-file release); on any other git
remote only the target files are fetched. Safe to re-run and to run in parallel.

Where:
  --repo OWNER/NAME|URL|PATH  The manifest repository: OWNER/NAME on GitHub, or a git URL
                              (https://, ssh://, git@host:path) or a local path for plain git.
  --path PATH                 A file or directory (searched for *.yaml, *.yml) to edit; repeatable.
  --image IMAGE[:TAG]         The image to release; repeatable. Without a tag, the tag is the
                              commit's short SHA (see --commit).
  --base BRANCH               The branch to release into (default: the repository's default branch).
  --key PATH                  Edit only this place (yq-style, as set-image --key; one image only).
  --add-missing               In a kustomization, add an images: entry when there is none.

Commit (the tag of images given without one, and {sha} in templates):
  --commit SHA                The application commit, e.g. Tekton git-clone's result "commit".
                              Default: GITHUB_SHA, CIRCLE_SHA1, CI_COMMIT_SHA or GIT_COMMIT
                              (Jenkins), else 'git rev-parse HEAD' in --app-dir.
  --sha-length N              Length of the short SHA (default 7, as build-and-push-image).
  --app-dir DIR               The application's checkout for the git fallback (default .).

How:
  --host github|gitlab|git    Default: github for OWNER/NAME (gitlab inside GitLab CI, where
                              CI_SERVER_URL is set), git for URLs and paths.
  --token-env NAME            The environment variable holding the token (default: GH_TOKEN, then
                              GITHUB_TOKEN, in the order the gh CLI reads them; GITLAB_TOKEN with
                              --host gitlab).
                              The token is never printed; for git it is sent as an HTTP header.
  --github-url URL            GitHub Enterprise Server (https://HOST or https://HOST/api/v3);
                              default $GITHUB_API_URL, else https://api.github.com.
  --api graphql|rest|auto     GitHub API to write with (default auto: GraphQL, REST if absent).
${gitlabHelp}
  --ssh-key PATH              Private key for an SSH git remote.
${gitPushHelp}
  --mode pull-request|push    pull-request (default): a person merges. push: commit straight onto
                              the base branch (continuous deployment).

Pull request:
  --branch TEMPLATE           Release branch (default "${DEFAULT_BRANCH_TEMPLATE}").
  --title TEMPLATE            Title (default "${DEFAULT_TITLE_TEMPLATE}").
  --commit-message TEMPLATE   Commit message (default: the title).
  --body TEMPLATE             Text (Markdown) above the generated table of changes.
  --body-path FILE            The same, read from FILE.
                              Templates know {sha} {app} {tag} {image} {base}.
  --author "NAME <EMAIL>"     The commit's author. Default: GIT_AUTHOR_NAME/GIT_AUTHOR_EMAIL; with
                              --host git also the CI's user (GitHub Actions: the actor's
                              ID+LOGIN@users.noreply.github.com; GitLab: GITLAB_USER_EMAIL), else
                              "gitops-release <>". On GitHub without it the commit is the token's
                              own, signed; with it, it goes through the REST Git Data API.
  --committer "NAME <EMAIL>"  The committer. Default: GIT_COMMITTER_NAME/EMAIL, else the author.
  --label L, --reviewer R, --team-reviewer T, --assignee A   Repeatable.
  --milestone N               Put the pull request in milestone number N.
  --draft                     Open the pull request as a draft.
  --auto-merge                Enable auto-merge, with --merge-method squash|merge|rebase (squash).
  --close-superseded          Close older open release pull requests for the same images and
                              paths, with a comment linking the new one.
  --delete-branch             With --close-superseded, also delete their branches.

Safety:
  --app-repo REPO             The application repository: OWNER/NAME on the same GitHub (the pull
                              request lists its commits since the deployed tag), or a git URL or
                              path with --host git. A commit older than the deployed one is
                              skipped (result skipped-older).
  --allow-downgrade           Release an older commit anyway (a deliberate rollback).
  --dry-run                   Read and plan only: print the diff and the pull request; write nothing.
  --json                      Print the result as JSON on stdout.
  --quiet                     Print no progress on stderr (warnings and errors still).

Results (exit 0): created, updated, unchanged (the base already deploys it; nothing written),
pushed (push mode, or a plain git remote: a branch was pushed), skipped-older. Errors exit 1,
wrong usage exits 2.

Examples:
  # GitHub Actions: a pull request into the manifest repository, reviewed and auto-merged
  GITHUB_TOKEN=\${{ secrets.MANIFESTS_TOKEN }} gitops-release create-release-pr \\
    --repo my-org/manifests --path overlays/staging \\
    --image ghcr.io/my-org/web:\${GITHUB_SHA::7} --app-repo my-org/web \\
    --reviewer alice --label release --auto-merge --merge-method squash --close-superseded

  # Any git remote (GitLab, Gitea, a local path): push a release branch
  GIT_TOKEN=... gitops-release create-release-pr --host git --token-env GIT_TOKEN \\
    --repo https://gitlab.com/my-org/manifests.git --path overlays/staging \\
    --image registry.gitlab.com/my-org/web:abc1234

  # Continuous deployment into a local repository: commit straight onto main
  gitops-release create-release-pr --repo ../manifests --mode push \\
    --path overlays/prod/kustomization.yaml --image 127.0.0.1:5000/web:abc1234
`;

/** --app-repo as the host will read it: OWNER/NAME on GitHub; a URL or an existing path for git. */
function checkAppRepo(value: string, hostKind: 'github' | 'gitlab' | 'git', cwd: string): string {
  if (hostKind === 'github' && !/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(value)) {
    throw new UsageError(
      `--app-repo "${value}" is not OWNER/NAME (the application repository on the same GitHub)`,
      { input: '--app-repo' },
    );
  }
  if (hostKind === 'git' && !/^[a-z][a-z0-9+.-]*:\/\/|^[^/]+@[^:]+:/i.test(value)) {
    if (!existsSync(resolve(cwd, value))) {
      throw new UsageError(`--app-repo "${value}": no such directory, and not a git URL`, {
        input: '--app-repo',
      });
    }
  }
  return value;
}

/** Flags that contradict each other are a usage error, not one of them silently ignored. */
function checkCombinations(
  args: Parameters<Command['run']>[0],
  mode: string | undefined,
  key: string | undefined,
  imageCount: number,
): void {
  if (key !== undefined && imageCount > 1) {
    throw new UsageError(
      `--key edits one place, so give exactly one --image (${imageCount} were given)`,
      {
        input: '--key',
      },
    );
  }
  if (mode !== 'push') return;
  const prOnly = [
    'branch',
    'draft',
    'auto-merge',
    'close-superseded',
    'label',
    'reviewer',
    'team-reviewer',
    'assignee',
  ];
  const given = prOnly.find((name) => args.values[name] !== undefined);
  if (given) {
    throw new UsageError(
      `--${given} is for pull-request mode; --mode push commits straight onto the base and opens no pull request`,
      { input: `--${given}` },
    );
  }
}

/** An --image value with neither tag nor digest (one that cannot be parsed is left to images()). */
function lacksTag(value: string): boolean {
  try {
    const ref = parseImageReference(value.toLowerCase(), '--image');
    return ref.tag === undefined && ref.digest === undefined;
  } catch {
    return false;
  }
}

function images(values: string[], sha: string | undefined, io: Io): ImageReference[] {
  if (values.length === 0) throw new UsageError('--image is required', { input: '--image' });
  return values.map((given) => {
    const value = lowercaseImageName(given);
    if (value !== given)
      io.stderr(
        `notice: --image "${given}" has upper-case letters, which registries refuse in an image name: using "${value}"\n`,
      );
    let ref: ImageReference;
    try {
      ref = parseImageReference(value, '--image');
    } catch (err) {
      // A malformed flag value is wrong usage (exit 2).
      if (err instanceof InvalidImageReferenceError) {
        throw new UsageError(err.message, { input: '--image', cause: err });
      }
      throw err;
    }
    if (ref.tag === undefined && ref.digest === undefined) {
      if (!sha) {
        throw new UsageError(
          `--image ${value} has no tag, and the commit to take it from is unknown: no --commit, none of ${CI_SHA_VARIABLES.join(', ')} set, and no git checkout in --app-dir; give the tag (${value}:TAG) or --commit SHA`,
          { input: '--image' },
        );
      }
      ref.tag = sha;
    }
    return ref;
  });
}

/** `--body` or `--body-path FILE` (read whole; a missing file is named). */
function readBody(args: ParsedArgs, io: Io): string | undefined {
  const text = stringOption(args, 'body');
  const path = stringOption(args, 'body-path');
  if (text !== undefined && path !== undefined)
    throw new UsageError('give --body or --body-path, not both', { input: '--body-path' });
  if (path === undefined) return text;
  const file = resolve(io.cwd, path);
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(
      `--body-path: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
      { input: '--body-path' },
    );
  }
}

/** The JSON result: everything but the whole file texts (and the body, except in a dry run). */
function toJson(result: ReleaseResult): Record<string, unknown> {
  const { edits: _edits, body, ...rest } = result;
  const pr = pullRequestOutputs(result);
  const outputs = { pullRequestOperation: pr.operation, pullRequestHeadSha: pr.headSha ?? null };
  return result.dryRun && body !== undefined
    ? { ...rest, body, ...outputs }
    : { ...rest, ...outputs };
}

/** What core's createReleasePr is asked: every flag the command reads, with its value. */
export function releaseRequest(
  args: ParsedArgs,
  io: Io,
  hostKind: 'github' | 'gitlab' | 'git',
  // The application commit; run() also asks git in --app-dir when a tag depends on it.
  commit: FoundCommit | undefined = commitFromFlagOrEnv(stringOption(args, 'commit'), io.env),
): ReleaseRequest {
  const paths = listOption(args, 'path');
  if (paths.length === 0) throw new UsageError('--path is required', { input: '--path' });
  const sha = commit?.sha.slice(0, shaLengthOption(stringOption(args, 'sha-length')) ?? 7);
  const request: ReleaseRequest = { images: images(listOption(args, 'image'), sha, io), paths };
  const mergeMethod = stringOption(args, 'merge-method');
  const mode = oneOf(stringOption(args, 'mode'), ['pull-request', 'push'] as const, 'mode');
  const base = stringOption(args, 'base');
  const baseProblem = base === undefined ? undefined : branchNameProblem(base);
  if (baseProblem) {
    throw new UsageError(`--base "${base}" is not a branch name git accepts: ${baseProblem}`, {
      input: '--base',
    });
  }
  if (base) request.base = base;
  if (mode) request.mode = mode;
  if (sha) request.sha = sha;
  const branch = stringOption(args, 'branch');
  if (branch) request.branchTemplate = branch;
  const title = stringOption(args, 'title');
  if (title) request.titleTemplate = title;
  const message = stringOption(args, 'commit-message');
  if (message) request.messageTemplate = message;
  const body = readBody(args, io);
  if (body) request.bodyTemplate = body;
  // The CI's user is the default author on plain git only: on GitHub the token's own is signed.
  Object.assign(
    request,
    commitIdentities(
      { author: stringOption(args, 'author'), committer: stringOption(args, 'committer') },
      io.env,
      { useCiUser: hostKind === 'git' },
    ),
  );
  const milestone = stringOption(args, 'milestone');
  if (milestone !== undefined) {
    if (!/^[1-9]\d*$/.test(milestone))
      throw new UsageError(`--milestone takes the milestone's number, got "${milestone}"`, {
        input: '--milestone',
      });
    request.milestone = Number(milestone);
  }
  request.labels = listOption(args, 'label');
  request.reviewers = listOption(args, 'reviewer');
  request.teamReviewers = listOption(args, 'team-reviewer');
  request.assignees = listOption(args, 'assignee');
  if (flag(args, 'draft')) request.draft = true;
  if (flag(args, 'auto-merge')) request.autoMerge = (mergeMethod ?? 'squash') as MergeMethod;
  if (flag(args, 'close-superseded')) request.closeSuperseded = true;
  if (flag(args, 'delete-branch')) request.deleteBranch = true;
  if (flag(args, 'allow-downgrade')) request.allowDowngrade = true;
  const appRepo = stringOption(args, 'app-repo');
  if (appRepo) request.appRepository = checkAppRepo(appRepo, hostKind, io.cwd);
  const key = stringOption(args, 'key');
  if (key) request.key = key;
  if (flag(args, 'add-missing')) request.addMissing = true;
  if (flag(args, 'dry-run')) request.dryRun = true;
  checkCombinations(args, mode, key, request.images.length);
  return request;
}

export const createReleasePrCommand: Command = {
  name: 'create-release-pr',
  summary:
    'Change image tags in a manifest repository with one commit and open the release pull request',
  help,
  options: {
    repo: { type: 'string' },
    path: { type: 'string', multiple: true },
    image: { type: 'string', multiple: true },
    base: { type: 'string' },
    host: { type: 'string' },
    'token-env': { type: 'string' },
    'github-url': { type: 'string' },
    api: { type: 'string' },
    'ssh-key': { type: 'string' },
    ...gitlabOptions,
    ...gitPushOptions,
    mode: { type: 'string' },
    branch: { type: 'string' },
    title: { type: 'string' },
    'commit-message': { type: 'string' },
    body: { type: 'string' },
    'body-path': { type: 'string' },
    author: { type: 'string' },
    committer: { type: 'string' },
    milestone: { type: 'string' },
    label: { type: 'string', multiple: true },
    reviewer: { type: 'string', multiple: true },
    'team-reviewer': { type: 'string', multiple: true },
    assignee: { type: 'string', multiple: true },
    draft: { type: 'boolean' },
    'auto-merge': { type: 'boolean' },
    'merge-method': { type: 'string' },
    'close-superseded': { type: 'boolean' },
    'delete-branch': { type: 'boolean' },
    'allow-downgrade': { type: 'boolean' },
    'app-repo': { type: 'string' },
    key: { type: 'string' },
    'add-missing': { type: 'boolean' },
    commit: { type: 'string' },
    'sha-length': { type: 'string' },
    'app-dir': { type: 'string' },
    'dry-run': { type: 'boolean' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean' },
  },

  async run(args, io) {
    const repo = requiredOption(args, 'repo');
    const hostKind =
      oneOf(stringOption(args, 'host'), ['github', 'gitlab', 'git'] as const, 'host') ??
      (looksLikeGitLabProject(repo, io.env, io.cwd)
        ? 'gitlab'
        : looksLikeGitHubRepo(repo, io.cwd)
          ? 'github'
          : 'git');
    // git is asked only when a tag depends on it or --app-dir names the checkout: a tagged release
    // run in some other checkout (the manifests) must not take that checkout's HEAD as {sha}.
    const appDir = stringOption(args, 'app-dir');
    const found =
      appDir !== undefined || listOption(args, 'image').some(lacksTag)
        ? await findCommit({
            given: stringOption(args, 'commit'),
            env: io.env,
            dir: resolve(io.cwd, appDir ?? '.'),
          })
        : commitFromFlagOrEnv(stringOption(args, 'commit'), io.env);
    const request = releaseRequest(args, io, hostKind, found);
    const imageRefs = request.images;
    // Checked before any request: a wrong value is wrong usage whatever the host.
    oneOf(stringOption(args, 'mode'), ['pull-request', 'push'] as const, 'mode');
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
    const api = oneOf(stringOption(args, 'api'), ['graphql', 'rest', 'auto'] as const, 'api');
    const tokenEnv =
      stringOption(args, 'token-env') ??
      (hostKind === 'gitlab' ? GITLAB_TOKEN_ENV : githubTokenVariable(io.env));
    const token = io.env[tokenEnv]?.trim() || undefined;
    const json = flag(args, 'json');
    const show = progress(args, io);
    const log = (line: string) => show(token ? redact(line, [token]) : line);
    if (found?.from.startsWith('git ')) log(`commit ${request.sha} (from ${found.from})`);

    // Every flag is checked before the host exists: a usage error leaves no temporary repository.
    let host: GitHost;
    let dispose: () => Promise<void> = async () => {};
    if (hostKind === 'github') {
      if (!token) {
        throw new UsageError(
          `no GitHub token: set the environment variable ${stringOption(args, 'token-env') ?? 'GH_TOKEN or GITHUB_TOKEN'} (or name another with --token-env)`,
          { input: '--token-env' },
        );
      }
      const { createGitHubHost } = await import('@gitops-release/github');
      host = createGitHubHost({
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
    } else if (hostKind === 'gitlab') {
      host = createGitLabHostFromArgs(args, io, repo, tokenEnv, token, log);
    } else {
      const sshKey = stringOption(args, 'ssh-key');
      const { createGitHost } = await import('@gitops-release/git');
      const git = await createGitHost({
        remote: repo,
        cwd: io.cwd,
        env: io.env,
        ...(token ? { token } : {}),
        ...(sshKey ? { sshKeyPath: sshKey } : {}),
        ...gitPushSettings(args, request, tokenEnv),
      });
      const link = mergeRequestLink(args, repo);
      if (link) git.compareUrl = link;
      host = git;
      dispose = () => git.dispose();
    }

    let result: ReleaseResult;
    try {
      result = await createReleasePr(request, host, { log });
    } finally {
      await dispose();
    }

    if (result.dryRun && !json) {
      for (const edit of result.edits) io.stdout(unifiedDiff(edit.path, edit.before, edit.after));
      if (result.title) {
        io.stdout(
          `\nPull request ${result.branch} → ${result.base}: ${result.title}\n\n${result.body ?? ''}\n`,
        );
      }
    }
    if (json) io.stdout(`${JSON.stringify(toJson(result), null, 2)}\n`);
    else io.stdout(`${result.result}: ${result.message}\n`);
    if (!json && result.result === 'unchanged') {
      log(`(${imageRefs.map(formatImageReference).join(', ')} already in ${result.base})`);
    }
    return 0;
  },
};
