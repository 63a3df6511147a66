import type { ReleaseResult } from './create-release-pr.js';

/** peter-evans/create-pull-request's `pull-request-operation`: what happened to the pull request. */
export type PullRequestOperation = 'created' | 'updated' | 'none';

/**
 * The two outputs users of peter-evans/create-pull-request branch on: `created` or `updated` (a
 * dry run reports neither: nothing was written), and the head commit of the pull request's branch.
 */
export function pullRequestOutputs(result: ReleaseResult): {
  operation: PullRequestOperation;
  headSha: string | undefined;
} {
  if (result.dryRun || !result.pullRequest) return { operation: 'none', headSha: undefined };
  const operation =
    result.result === 'created' || result.result === 'updated' ? result.result : 'none';
  return { operation, headSha: result.commitSha };
}
