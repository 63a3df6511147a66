import type { ReleaseRequest } from './create-release-pr.js';
import type {
  ExtrasResult,
  GitHost,
  PullRequestExtras,
  PullRequestInfo,
  RepositorySnapshot,
} from './host.js';
import { parseMarker, type ReleaseMarker } from './text.js';

// Step 5 of a release: what comes after the pull request exists. The release is made by then, so
// nothing here fails it: a refusal is a warning that names the setting or the input to change.

/** Labels and auto-merge on every run; reviewers and assignees only on the run that opened it. */
export async function applyExtras(
  request: ReleaseRequest,
  host: GitHost,
  pr: PullRequestInfo,
  created: boolean,
): Promise<ExtrasResult> {
  if (!host.applyExtras) return { warnings: [] };
  const extras: PullRequestExtras = {
    ...(request.labels?.length ? { labels: request.labels } : {}),
    ...(created && request.reviewers?.length ? { reviewers: request.reviewers } : {}),
    ...(created && request.teamReviewers?.length ? { teamReviewers: request.teamReviewers } : {}),
    ...(created && request.assignees?.length ? { assignees: request.assignees } : {}),
    ...(request.autoMerge ? { autoMerge: request.autoMerge } : {}),
    ...(request.milestone ? { milestone: request.milestone } : {}),
  };
  if (Object.keys(extras).length === 0) return { warnings: [] };
  return host.applyExtras(pr, extras);
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const sa = new Set(a);
  return sa.size === new Set(b).size && b.every((x) => sa.has(x));
}

/** Older open release pull requests for the same paths whose images this one covers. */
export function supersededBy(
  snapshot: RepositorySnapshot,
  marker: ReleaseMarker,
  ours: PullRequestInfo,
  branch: string,
): PullRequestInfo[] {
  return (snapshot.openPullRequests ?? []).filter((pr) => {
    if (pr.number === ours.number || pr.head === branch) return false;
    const theirs = parseMarker(pr.body);
    return (
      theirs !== undefined &&
      sameSet(theirs.paths, marker.paths) &&
      theirs.images.every((i) => marker.images.includes(i))
    );
  });
}
