import { type ImageReference, isSameImage, tryParseImageReference } from '../image/reference.js';
import type { ImageEditPlan } from '../manifest/types.js';
import type { CommitComparison, GitHost } from './host.js';

// The out-of-order guard: a slower pipeline of an older commit must not replace a newer tag.

const HEX_SHA = /^[0-9a-f]{7,40}$/;

export interface GuardOutcome {
  older?: { from: string; to: string };
  comparison?: CommitComparison;
}

export type ComparisonCache = Map<string, Promise<CommitComparison | undefined>>;

export async function guardOlder(
  request: { images: ImageReference[]; appRepository?: string; allowDowngrade?: boolean },
  host: GitHost,
  plan: ImageEditPlan,
  cache: ComparisonCache,
): Promise<GuardOutcome | undefined> {
  if (!request.appRepository || !host.compareCommits) return undefined;
  const outcome: GuardOutcome = {};
  for (const image of request.images) {
    const to = image.tag;
    if (!to || !HEX_SHA.test(to)) continue;
    for (const edit of plan.edits) {
      for (const change of edit.changes) {
        const was = tryParseImageReference(change.from);
        if (!was || !isSameImage(was, image)) continue;
        const deployed = was.tag;
        if (!deployed || deployed === to || !HEX_SHA.test(deployed)) continue;
        const key = `${deployed}..${to}`;
        if (!cache.has(key)) {
          cache.set(
            key,
            host.compareCommits({ repository: request.appRepository, base: deployed, head: to }),
          );
        }
        const comparison = await cache.get(key)!;
        if (!comparison) continue;
        if (comparison.status === 'behind' && !request.allowDowngrade) {
          return { older: { from: deployed, to } };
        }
        outcome.comparison ??= comparison;
      }
    }
  }
  return outcome;
}
