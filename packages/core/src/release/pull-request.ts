import { ReleasePullRequestGoneError } from '../errors.js';
import type { ReleaseRequest, ReleaseResult } from './create-release-pr.js';
import type { GitHost, PullRequestInfo, PullRequestRequest } from './host.js';
import { imageRows, type ReleasePlan } from './plan.js';

// Step 4 of a release: the pull request, opened or updated — never one that was merged or closed.

/** Throws when the host's answer says the pull request is merged or closed. */
function refuseGone(branch: string, pr: PullRequestInfo): void {
  if (pr.state === 'merged' || pr.state === 'closed')
    throw new ReleasePullRequestGoneError(branch, {
      number: pr.number,
      url: pr.url,
      state: pr.state,
    });
}

/**
 * Opens or updates the pull request (unless the commit's round trip already did) and settles the
 * body on a shared branch. Throws ReleasePullRequestGoneError when the host's answer says it is merged/closed.
 */
export async function openOrUpdate(
  request: ReleaseRequest,
  host: GitHost,
  plan: ReleasePlan,
  prRequest: PullRequestRequest,
  written: PullRequestInfo | undefined,
  commitSha: string,
  result: ReleaseResult,
): Promise<PullRequestInfo> {
  const branch = plan.branch!;
  let pr = written ?? (await host.upsertPullRequest!(prRequest));
  refuseGone(branch, pr);

  // On a shared branch another pipeline may have committed after the state this body was made
  // from, and its update may have landed before ours: re-read until the branch holds still, so
  // the last writer's body lists every change (only when sharing; a lone release skips this).
  let described = commitSha;
  for (let check = 0; plan.accumulate && check < 5; check++) {
    const now = await host.read({ base: plan.base, branch, paths: request.paths });
    if (!now.branch || now.branch.sha === described) break;
    described = now.branch.sha;
    const rows = imageRows(now.files, now.branch.files);
    const body = plan.bodyFor(rows);
    pr = await host.upsertPullRequest!({
      ...prRequest,
      existing: now.pullRequest ?? pr,
      body,
    });
    refuseGone(branch, pr);
    result.body = body;
    result.changes = rows;
    result.changedFiles = [...new Set(rows.map((r) => r.path))];
  }
  return pr;
}
