import type { ReleaseRequest } from './create-release-pr.js';
import type { GitHost, GitIdentity, PullRequestInfo, PullRequestRequest } from './host.js';

/** The commit's author and committer, when the release names them. */
export type Identities = { author?: GitIdentity; committer?: GitIdentity };

import type { ReleasePlan } from './plan.js';

// Step 3 of a release: the one commit (compare-and-swap on the branch), carrying the pull request
// along when the host can open it in the same round trip.

export interface Written {
  commitSha: string;
  /** The pull request, when the host opened or updated it with the commit. */
  pullRequest?: PullRequestInfo;
  /** False on a re-run whose branch already carried the images: nothing was written. */
  wrote: boolean;
}

/** Push mode: one commit straight onto the base. */
export async function pushToBase(
  plan: ReleasePlan,
  host: GitHost,
  identities: Identities = {},
): Promise<Written> {
  const commit = await host.commit({
    branch: plan.base,
    observed: plan.snapshot.base.sha,
    parent: plan.snapshot.base.sha,
    files: plan.basePlan.edits.map((e) => ({ path: e.path, text: e.after })),
    message: plan.message,
    ...identities,
  });
  return { commitSha: commit.sha, wrote: true };
}

/**
 * The pull request as the host is asked to open or update it. Hosts with applyExtras get labels,
 * reviewers, assignees and auto-merge there instead; reviewers and assignees are asked for only
 * when the pull request is created, so an update never re-requests a review someone dismissed.
 */
export function pullRequestRequest(
  request: ReleaseRequest,
  plan: ReleasePlan,
  host: GitHost,
): PullRequestRequest | undefined {
  if (!host.supportsPullRequests || !host.upsertPullRequest) return undefined;
  const existing = plan.snapshot.pullRequest;
  const inline = !host.applyExtras;
  return {
    ...(existing ? { existing } : {}),
    head: plan.branch!,
    base: plan.base,
    title: plan.title,
    body: plan.body,
    ...(request.draft ? { draft: true } : {}),
    ...(inline && request.labels?.length ? { labels: request.labels } : {}),
    ...(inline && !existing && request.reviewers?.length ? { reviewers: request.reviewers } : {}),
    ...(inline && !existing && request.teamReviewers?.length
      ? { teamReviewers: request.teamReviewers }
      : {}),
    ...(inline && !existing && request.assignees?.length ? { assignees: request.assignees } : {}),
    ...(inline && request.autoMerge ? { autoMerge: request.autoMerge } : {}),
    ...(inline && request.milestone ? { milestone: request.milestone } : {}),
  };
}

/** Pull-request mode: one commit on the release branch (created, added to, or rebuilt). */
export async function commitToBranch(
  plan: ReleasePlan,
  host: GitHost,
  prRequest: PullRequestRequest | undefined,
  identities: Identities = {},
): Promise<Written> {
  const found = plan.snapshot.branch;
  if (plan.accumulate && plan.branchPlan.edits.length === 0) {
    return { commitSha: found!.sha, wrote: false }; // a re-run: the branch already carries these images
  }
  const written = await host.commit({
    branch: plan.branch!,
    observed: found?.sha ?? null,
    parent: plan.accumulate ? found!.sha : plan.snapshot.base.sha,
    files: plan.branchPlan.edits.map((e) => ({ path: e.path, text: e.after })),
    message: plan.message,
    ...identities,
    ...(prRequest ? { pullRequest: prRequest } : {}),
  });
  return {
    commitSha: written.sha,
    wrote: true,
    ...(written.pullRequest ? { pullRequest: written.pullRequest } : {}),
  };
}
