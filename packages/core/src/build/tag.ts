import { UsageError } from '../errors.js';
import { isValidTag } from '../image/reference.js';

export const DEFAULT_SHA_LENGTH = 7;
const SHA_RE = /^[0-9a-f]{40}$|^[0-9a-f]{64}$/;

/** The commit tag: the SHA shortened to `length` (7 by default, as `git rev-parse --short`). */
export function commitTag(sha: string, length = DEFAULT_SHA_LENGTH, input = 'commit'): string {
  const s = sha.trim().toLowerCase();
  if (!SHA_RE.test(s))
    throw new UsageError(
      `${input}: "${sha}" is not a full commit SHA (40 or 64 hex digits); pass --tag instead`,
      { input },
    );
  if (!Number.isInteger(length) || length < 4 || length > s.length)
    throw new UsageError(
      `the SHA length must be a whole number from 4 to ${s.length}, got ${length}`,
      {
        input: 'sha-length',
      },
    );
  return s.slice(0, length);
}

export interface TagRequest {
  /** An explicit tag; wins over the commit. */
  tag?: string;
  /** The full commit SHA the image is built from. */
  commitSha?: string;
  shaLength?: number;
  /** More tags to put on the same image (e.g. `latest`, a version). */
  extraTags?: readonly string[];
}

export interface ResolvedTags {
  /** The tag the image is known by and checked for in the registry. */
  primary: string;
  /** All tags, primary first, without duplicates. */
  all: string[];
  /** True when the primary tag came from the commit: such a tag names one build, so skipping is safe. */
  fromCommit: boolean;
}

/** Applies the tag rule: explicit tag, else the short commit SHA; then the extra tags. */
export function resolveTags(request: TagRequest): ResolvedTags {
  let primary: string;
  let fromCommit = false;
  if (request.tag !== undefined) {
    primary = request.tag;
  } else if (request.commitSha !== undefined) {
    primary = commitTag(request.commitSha, request.shaLength);
    fromCommit = true;
  } else {
    throw new UsageError(
      'no tag: pass --tag, or run inside a git checkout or a CI that sets GITHUB_SHA, CIRCLE_SHA1 or CI_COMMIT_SHA',
      { input: 'tag' },
    );
  }
  const all = [primary];
  for (const t of request.extraTags ?? []) if (!all.includes(t)) all.push(t);
  for (const t of all)
    if (!isValidTag(t))
      throw new UsageError(
        `"${t}" is not a valid tag (letters, digits, "_", "." and "-", at most 128, not starting with "." or "-")`,
        { input: 'tag' },
      );
  return { primary, all, fromCommit };
}
