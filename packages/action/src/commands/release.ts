import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  commitIdentities,
  createReleasePr,
  type GitHost,
  GitopsReleaseError,
  parseImageReference,
  pullRequestOutputs,
  type ReleaseRequest,
  type ReleaseResult,
  UsageError,
} from '@gitops-release/core';
import { httpFetch } from '../http-fetch.js';
import {
  type Env,
  looksLikeGitUrl,
  type ReleaseInputs,
  type RepositoryInputs,
  shortCommit,
} from '../inputs.js';
import type { CommandRunner } from '../main.js';
import { code, text } from '../markdown.js';
import type { Runtime } from '../runtime.js';

// create_release_pr: core's createReleasePr over the GitHub host (API, no clone) or the plain git
// host, as the CLI's create-release-pr calls it; inputs from the action, outputs and summary back.

/** The host of a git remote URL, lowercased; undefined for paths and scp-style remotes we can't parse. */
function remoteHost(remote: string): string | undefined {
  try {
    return new URL(remote).host.toLowerCase();
  } catch {
    return undefined;
  }
}

/**
 * The token for a plain git remote: `git-token`, given for that remote; else the GitHub token, but
 * only to the GitHub the workflow runs on: sent as a header to any other git server, the
 * workflow's token would be handed to that server.
 */
export function tokenForRemote(inputs: RepositoryInputs, env: Env): string | undefined {
  if (inputs.gitToken) return inputs.gitToken;
  if (!inputs.githubToken) return undefined;
  const server = remoteHost(env.GITHUB_SERVER_URL || 'https://github.com');
  const host = remoteHost(inputs.repo);
  return host !== undefined && host === server ? inputs.githubToken : undefined;
}

export interface OpenHost {
  host: GitHost;
  close(): Promise<void>;
}

/** Progress lines to the log; a line that starts with "warning: " becomes a warning annotation. */
function logTo(rt: Runtime): (line: string) => void {
  return (line) =>
    line.startsWith('warning: ') ? rt.warning(line.slice('warning: '.length)) : rt.info(line);
}

/** The GitHub or plain git host of `repo`; promote opens it the same way. */
export async function openHost(inputs: RepositoryInputs, rt: Runtime): Promise<OpenHost> {
  const log = logTo(rt);
  if (inputs.host === 'github') {
    if (!inputs.githubToken)
      throw new UsageError(
        `input "github-token" is empty: ${inputs.command} on GitHub needs a token that can write to the manifest repository`,
        { input: 'github-token' },
      );
    // Each host's code is loaded only when chosen: loading the GitHub client's modules alone took
    // 17 to 55 ms of a run (README, GitHub Actions: Size and start-up).
    const { createGitHubHost } = await import('@gitops-release/github');
    const host = createGitHubHost({
      token: inputs.githubToken,
      baseUrl: inputs.githubUrl,
      api: inputs.api,
      repository: inputs.repo,
      fetch: httpFetch as typeof fetch,
      log,
      // A refusal of the workflow's own token on another repository then says so.
      ...(rt.env.GITHUB_REPOSITORY ? { workflowRepository: rt.env.GITHUB_REPOSITORY } : {}),
    });
    return { host, close: async () => {} };
  }
  // An SSH key goes to a private file for git's ssh, removed afterwards.
  let keyDir: string | undefined;
  if (inputs.sshKey) {
    keyDir = await mkdtemp(join(tmpdir(), 'gitops-release-ssh-'));
    await writeFile(join(keyDir, 'key'), `${inputs.sshKey.trim()}\n`, { mode: 0o600 });
  }
  const token = tokenForRemote(inputs, rt.env);
  try {
    const { createGitHost } = await import('@gitops-release/git');
    const host = await createGitHost({
      remote: inputs.repo,
      ...(token ? { token } : {}),
      ...(keyDir ? { sshKeyPath: join(keyDir, 'key') } : {}),
      env: rt.env,
      cwd: rt.cwd,
    });
    return {
      host,
      close: async () => {
        await host.dispose();
        if (keyDir) await rm(keyDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    if (keyDir) await rm(keyDir, { recursive: true, force: true });
    throw err;
  }
}

/** `body`, or the file `body-path` names (relative to the workspace). */
async function readBody(inputs: ReleaseInputs, cwd: string): Promise<string | undefined> {
  if (inputs.bodyPath === undefined) return inputs.body;
  const file = resolve(cwd, inputs.bodyPath);
  return readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`input "body-path": cannot read ${file} (${err.code ?? err.message})`, {
      input: 'body-path',
    });
  });
}

function headline(r: ReleaseResult): string {
  const pr = r.pullRequest ? `[#${r.pullRequest.number}](${r.pullRequest.url})` : '';
  const prefix = r.dryRun ? 'Dry run: would have ' : '';
  switch (r.result) {
    case 'created':
      return r.dryRun
        ? 'Dry run: would open a release pull request'
        : `Release pull request ${pr} opened`;
    case 'updated':
      return `${prefix}${r.dryRun ? 'updated' : 'Updated'} release pull request ${pr}`;
    case 'pushed':
      return `${prefix}${r.dryRun ? 'pushed' : 'Pushed'} the release to ${code(r.branch ?? r.base)}`;
    case 'unchanged':
      return 'Already deployed: nothing to release';
    case 'skipped-older':
      return 'Skipped: the new image is older than the deployed one';
  }
}

function summary(r: ReleaseResult): string {
  const lines = [`### ${headline(r)}`, ''];
  // With a pull request its title says it all; otherwise the message says why or where.
  if (r.pullRequest && r.title) lines.push(`**${text(r.title)}**`, '');
  else lines.push(text(r.message), '');
  if (r.changes.length > 0) {
    lines.push('| File | Line | Old image | New image |', '| --- | --- | --- | --- |');
    for (const c of r.changes)
      lines.push(`| ${code(c.path)} | ${c.line} | ${code(c.from)} | ${code(c.to)} |`);
    lines.push('');
  }
  const facts: string[] = [`Repository: ${code(r.repository)}, base ${code(r.base)}`];
  if (r.branch && r.branch !== r.base) facts.push(`Branch: ${code(r.branch)}`);
  if (r.commitSha) facts.push(`Commit: ${code(r.commitSha)}`);
  if (r.compareUrl) facts.push(`Open the pull request: ${r.compareUrl}`);
  if (r.closedPullRequests.length > 0)
    facts.push(`Closed as superseded: ${r.closedPullRequests.map((n) => `#${n}`).join(', ')}`);
  if (r.replacedPullRequest)
    facts.push(
      `#${r.replacedPullRequest.number} was ${r.replacedPullRequest.state.replace('-or-', ' or ')} while this release was written; it went into a new pull request`,
    );
  if (r.merged) facts.push('Merged at once: auto-merge was asked and nothing was left to wait for');
  lines.push(...facts.map((f) => `- ${f}`), '');
  if (r.warnings.length > 0) {
    lines.push('#### Warnings', '', ...r.warnings.map((w) => `- ${text(w.message)}`), '');
  }
  return lines.join('\n');
}

/** What core's createReleasePr is asked: every input the command reads, with its value. */
export async function releaseRequest(
  inputs: ReleaseInputs,
  env: Env = {},
  cwd = '.',
): Promise<ReleaseRequest> {
  const body = await readBody(inputs, cwd);
  return {
    images: inputs.images.map((image) => parseImageReference(image, 'image')),
    paths: inputs.paths,
    base: inputs.base,
    mode: inputs.mode,
    // {sha} in the templates is the commit, as the CLI's; without it core falls back to the tag.
    sha: shortCommit(inputs),
    branchTemplate: inputs.branch,
    titleTemplate: inputs.title,
    messageTemplate: inputs.commitMessage,
    ...(body === undefined ? {} : { bodyTemplate: body }),
    // The actor is the default author on plain git only: on GitHub the token's own is signed.
    ...commitIdentities({ author: inputs.author, committer: inputs.committer }, env, {
      useCiUser: inputs.host === 'git',
      authorInput: 'input "author"',
      committerInput: 'input "committer"',
    }),
    ...(inputs.milestone === undefined ? {} : { milestone: inputs.milestone }),
    labels: inputs.labels,
    reviewers: inputs.reviewers,
    teamReviewers: inputs.teamReviewers,
    assignees: inputs.assignees,
    draft: inputs.draft,
    autoMerge: inputs.autoMerge ? (inputs.mergeMethod ?? 'squash') : undefined,
    closeSuperseded: inputs.closeSuperseded,
    deleteBranch: inputs.deleteBranch,
    allowDowngrade: inputs.allowDowngrade,
    // On a plain git remote the guard fetches the application repository: a URL or path only.
    appRepository:
      inputs.host === 'github' || (inputs.appRepo && looksLikeGitUrl(inputs.appRepo))
        ? inputs.appRepo
        : undefined,
    key: inputs.key,
    addMissing: inputs.addMissing,
    dryRun: inputs.dryRun,
  };
}

export const releaseCommand: CommandRunner<ReleaseInputs> = async (inputs, rt) => {
  const request = await releaseRequest(inputs, rt.env, rt.cwd);
  const { host, close } = await openHost(inputs, rt);
  try {
    const result = await rt.group(
      `Release ${inputs.images.join(', ')} into ${host.repository}`,
      () => createReleasePr(request, host, { log: (line) => rt.info(line) }),
    );
    // The release stands; what it did without is a warning annotation (and in the summary).
    for (const warning of result.warnings) rt.warning(warning.message);
    return {
      outputs: {
        result: result.result,
        image: inputs.images.join('\n'),
        'pull-request-number': result.pullRequest ? String(result.pullRequest.number) : '',
        'pull-request-url': result.pullRequest?.url ?? '',
        branch: result.branch ?? '',
        'commit-sha': result.commitSha ?? '',
        'changed-files': result.changedFiles.join('\n'),
        'pull-request-operation': pullRequestOutputs(result).operation,
        'pull-request-head-sha': pullRequestOutputs(result).headSha ?? '',
      },
      summary: summary(result),
      message: result.message,
    };
  } catch (err) {
    throw inputsOfGitHost(err, inputs, rt.env);
  } finally {
    await close();
  }
};

/** The git host names its token flag; in a workflow that is `git-token` (or why none was sent). */
export function inputsOfGitHost(err: unknown, inputs: RepositoryInputs, env: Env): unknown {
  if (inputs.host !== 'git' || !(err instanceof GitopsReleaseError) || err.input !== 'token-env')
    return err;
  const withheld = !inputs.gitToken && inputs.githubToken && !tokenForRemote(inputs, env);
  err.message = err.message.replace(/--token-env/g, 'input "git-token"');
  if (withheld)
    err.message += `\n(github-token is not sent to ${remoteHost(inputs.repo) ?? inputs.repo}: it is a token for ${env.GITHUB_SERVER_URL || 'https://github.com'}; give this remote's token in "git-token".)`;
  return err;
}
