import type {
  ExtrasResult,
  PullRequestExtras,
  PullRequestInfo,
  ReleaseWarning,
} from '@gitops-release/core';
import type { GitHubClient } from './client.js';
import { redact, toHostError } from './errors.js';
import { fieldErrors, restDetail, restStatus } from './refusals.js';

// Labels, reviewers, assignees and auto-merge, after the pull request exists. The release is made
// by then: each refusal becomes a warning in GitHub's own (detailed) words, never a failed run.

export interface ExtrasContext {
  client: GitHubClient;
  owner: string;
  name: string;
  repository: string;
  secrets: readonly string[];
  api: () => 'graphql' | 'rest';
  graphql: <T>(document: string, variables: Record<string, unknown>) => Promise<T>;
  sleep: (ms: number) => Promise<void>;
  tokenHint?: string;
}

/**
 * Right after a pull request is created GitHub may not resolve it yet ("Could not resolve to a
 * node with the global id of 'PR_…'", peter-evans/create-pull-request#4321): retried with a short
 * backoff before it counts as a refusal.
 */
const NODE_RETRY_MS = [200, 400, 800, 1600];

async function withNodeRetry<T>(ctx: ExtrasContext, run: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await run();
    } catch (err) {
      const text = `${restDetail(err)} ${fieldErrors(err)
        .map((e) => e.message)
        .join(' ')}`;
      if (i >= NODE_RETRY_MS.length || !/could not resolve to (a|an \w+) node/i.test(text))
        throw err;
      await ctx.sleep(NODE_RETRY_MS[i]!);
    }
  }
}

function said(ctx: ExtrasContext, err: unknown): string {
  const gql = fieldErrors(err);
  const text = gql.length ? gql.map((e) => e.message).join('; ') : restDetail(err);
  return redact(text, ctx.secrets).trim();
}

/** A 401/403/404 names the permission; anything else is GitHub's detailed message. */
function why(ctx: ExtrasContext, err: unknown): string {
  const status = restStatus(err);
  if (status === 401 || status === 403 || status === 404) {
    return toHostError(err, 'issues', ctx.repository, ctx.secrets, ctx.tokenHint).message;
  }
  return `GitHub said: ${said(ctx, err)}`;
}

async function labels(ctx: ExtrasContext, pr: PullRequestInfo, names: string[]) {
  // REST creates labels that do not exist yet (GraphQL would need their ids first).
  await withNodeRetry(ctx, () =>
    ctx.client.issues.addLabels({
      owner: ctx.owner,
      repo: ctx.name,
      issue_number: pr.number,
      labels: names,
    }),
  );
}

async function reviewers(ctx: ExtrasContext, pr: PullRequestInfo, extras: PullRequestExtras) {
  await withNodeRetry(ctx, () =>
    ctx.client.pulls.requestReviewers({
      owner: ctx.owner,
      repo: ctx.name,
      pull_number: pr.number,
      reviewers: extras.reviewers ?? [],
      team_reviewers: extras.teamReviewers ?? [],
    }),
  );
}

/** GitHub silently leaves out assignees who cannot be assigned; the answer says who was. */
async function assignees(ctx: ExtrasContext, pr: PullRequestInfo, logins: string[]) {
  const res = await withNodeRetry(ctx, () =>
    ctx.client.issues.addAssignees({
      owner: ctx.owner,
      repo: ctx.name,
      issue_number: pr.number,
      assignees: logins,
    }),
  );
  const assigned = new Set((res.data.assignees ?? []).map((a) => a.login.toLowerCase()));
  return logins.filter((l) => !assigned.has(l.toLowerCase()));
}

const AUTO_MERGE =
  'mutation AutoMerge($id: ID!, $mergeMethod: PullRequestMergeMethod!) { enablePullRequestAutoMerge(input: {pullRequestId: $id, mergeMethod: $mergeMethod}) { pullRequest { number } } }';
const MERGE_NOW =
  'mutation MergeNow($id: ID!, $mergeMethod: PullRequestMergeMethod!) { mergePullRequest(input: {pullRequestId: $id, mergeMethod: $mergeMethod}) { pullRequest { number merged } } }';

async function autoMerge(
  ctx: ExtrasContext,
  pr: PullRequestInfo,
  method: NonNullable<PullRequestExtras['autoMerge']>,
): Promise<{ merged?: boolean; warning?: string }> {
  if (ctx.api() === 'rest') {
    // GitHub has no REST endpoint for auto-merge; without GraphQL it cannot be enabled.
    return {
      warning: `auto-merge was not enabled on #${pr.number}: it needs GitHub's GraphQL API, which this server does not serve`,
    };
  }
  const variables = { id: pr.id, mergeMethod: method.toUpperCase() };
  try {
    await withNodeRetry(ctx, () => ctx.graphql(AUTO_MERGE, variables));
    return {};
  } catch (err) {
    const text = said(ctx, err);
    if (/auto.?merge is not allowed/i.test(text)) {
      return {
        warning: `auto-merge was not enabled on #${pr.number}: it is off for ${ctx.repository} (GitHub: "${text}"). Turn on "Allow auto-merge" in Settings → General → Pull Requests (GitHub's default is off), or drop --auto-merge`,
      };
    }
    if (/clean status/i.test(text)) {
      // Nothing to wait for (no required check or review pending): auto-merge means merge now.
      try {
        await ctx.graphql(MERGE_NOW, variables);
        return { merged: true };
      } catch (mergeErr) {
        return {
          warning: `#${pr.number} could be merged at once (GitHub refuses auto-merge in "clean status"), but merging it with ${method} was refused: ${said(ctx, mergeErr)}. Allow that merge method in Settings → General → Pull Requests, or pick another with --merge-method`,
        };
      }
    }
    return { warning: `auto-merge was not enabled on #${pr.number}: ${why(ctx, err)}` };
  }
}

export async function applyGitHubExtras(
  ctx: ExtrasContext,
  pr: PullRequestInfo,
  extras: PullRequestExtras,
): Promise<ExtrasResult> {
  const warnings: ReleaseWarning[] = [];
  let merged = false;
  const jobs: Promise<void>[] = [];
  if (extras.labels?.length) {
    const list = extras.labels.join(', ');
    jobs.push(
      labels(ctx, pr, extras.labels).catch((err) => {
        warnings.push({
          kind: 'labels',
          message: `labels ${list} were not added to #${pr.number}: ${why(ctx, err)}`,
        });
      }),
    );
  }
  if (extras.reviewers?.length || extras.teamReviewers?.length) {
    const list = [
      ...(extras.reviewers ?? []),
      ...(extras.teamReviewers ?? []).map((t) => `team ${t}`),
    ].join(', ');
    jobs.push(
      reviewers(ctx, pr, extras).catch((err) => {
        warnings.push({
          kind: 'reviewers',
          message: `review was not requested from ${list} on #${pr.number}: ${why(ctx, err)}. Reviewers must be collaborators of ${ctx.repository} (teams need access to it), and not the pull request's author`,
        });
      }),
    );
  }
  if (extras.assignees?.length) {
    jobs.push(
      assignees(ctx, pr, extras.assignees).then(
        (left) => {
          if (left.length)
            warnings.push({
              kind: 'assignees',
              message: `GitHub did not assign ${left.join(', ')} to #${pr.number}: only people who can be assigned in ${ctx.repository} (collaborators) can be; check --assignee`,
            });
        },
        (err) => {
          warnings.push({
            kind: 'assignees',
            message: `${extras.assignees!.join(', ')} were not assigned to #${pr.number}: ${why(ctx, err)}`,
          });
        },
      ),
    );
  }
  if (extras.milestone !== undefined) {
    const milestone = extras.milestone;
    jobs.push(
      withNodeRetry(ctx, () =>
        ctx.client.issues.update({
          owner: ctx.owner,
          repo: ctx.name,
          issue_number: pr.number,
          milestone,
        }),
      ).then(
        () => {},
        (err) => {
          // An unknown milestone is a 422 on field "milestone" (code "invalid").
          const unknown =
            restStatus(err) === 422 &&
            JSON.stringify(
              (err as { response?: { data?: unknown } }).response?.data ?? '',
            ).includes('"milestone"');
          warnings.push({
            kind: 'milestone',
            message: unknown
              ? `#${pr.number} was not put in milestone ${milestone}: there is no such milestone in ${ctx.repository}. Give the number of an open milestone (the N of its page, /milestone/N) to --milestone`
              : `#${pr.number} was not put in milestone ${milestone}: ${why(ctx, err)}`,
          });
        },
      ),
    );
  }
  if (extras.autoMerge) {
    jobs.push(
      autoMerge(ctx, pr, extras.autoMerge).then((outcome) => {
        if (outcome.merged) merged = true;
        if (outcome.warning) warnings.push({ kind: 'auto-merge', message: outcome.warning });
      }),
    );
  }
  await Promise.all(jobs);
  const order: ReleaseWarning['kind'][] = [
    'draft',
    'labels',
    'reviewers',
    'assignees',
    'milestone',
    'auto-merge',
  ];
  warnings.sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
  return merged ? { warnings, merged } : { warnings };
}
