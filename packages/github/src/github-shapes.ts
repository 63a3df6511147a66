import { type PullRequestInfo, UsageError } from '@gitops-release/core';

// What GitHub answers, as the host reads it: GraphQL fragments, pull request shapes, path forms.

export const MANIFEST = /\.ya?ml$/;
/** Directory levels below a given path that one GraphQL read expands. */
export const TREE_DEPTH = 4;

export function splitRepository(repository: string): { owner: string; name: string } {
  const m = repository.match(/^([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+?)(?:\.git)?$/);
  if (!m) {
    throw new UsageError(`--repo "${repository}" is not OWNER/NAME`, { input: 'repo' });
  }
  return { owner: m[1]!, name: m[2]! };
}

export function cleanPath(path: string): string {
  return path
    .replace(/^\.\/+/, '')
    .replace(/\/+$/, '')
    .replace(/\/{2,}/g, '/');
}

export const BLOB = '... on Blob { oid text isTruncated isBinary }';
/**
 * A directory's structure `depth` levels down: names, types, modes and object ids, no blob text
 * (GraphQL cannot pick blobs by name, and the texts of non-YAML files are not ours to fetch).
 */
export function treeFields(depth: number): string {
  const below = depth === 0 ? '' : ` object { ... on Tree { ${treeFields(depth - 1)} } }`;
  return `entries { name type mode oid${below} }`;
}
export const ENTRY = `${BLOB} ... on Tree { ${treeFields(TREE_DEPTH)} }`;
export const PR_FIELDS =
  'id number url title body headRefName baseRefName state isCrossRepository headRepository { nameWithOwner }';

export interface GqlBlob {
  oid?: string;
  text?: string | null;
  isTruncated?: boolean;
  isBinary?: boolean;
  entries?: { name: string; type: string; mode?: number; oid?: string; object?: GqlBlob | null }[];
}

export interface GqlPr {
  id: string;
  number: number;
  url: string;
  title: string;
  body: string;
  headRefName: string;
  baseRefName: string;
  state?: 'OPEN' | 'CLOSED' | 'MERGED';
  isCrossRepository?: boolean;
  headRepository?: { nameWithOwner: string } | null;
}

export function toPr(pr: GqlPr): PullRequestInfo {
  return {
    id: pr.id,
    number: pr.number,
    url: pr.url,
    title: pr.title,
    body: pr.body ?? '',
    head: pr.headRefName,
    base: pr.baseRefName,
    state: pr.state === 'MERGED' ? 'merged' : pr.state === 'CLOSED' ? 'closed' : 'open',
  };
}

/**
 * Ours: opened from a branch of the manifest repository itself. A fork's pull request from a
 * same-named branch (`release-<sha>` on a public repository) must never be adopted, edited or
 * armed for auto-merge.
 */
export function sameRepository(pr: GqlPr, repository: string): boolean {
  return (
    pr.isCrossRepository === false &&
    pr.headRepository?.nameWithOwner.toLowerCase() === repository.toLowerCase()
  );
}

export interface RestPr {
  node_id: string;
  number: number;
  html_url: string;
  title: string;
  body?: string | null;
  state?: string;
  merged_at?: string | null;
  head: { ref: string; repo?: { full_name: string } | null };
  base: { ref: string };
}

export function restPr(pr: RestPr): PullRequestInfo {
  return {
    id: pr.node_id,
    number: pr.number,
    url: pr.html_url,
    title: pr.title,
    body: pr.body ?? '',
    head: pr.head.ref,
    base: pr.base.ref,
    state: pr.merged_at ? 'merged' : pr.state === 'closed' ? 'closed' : 'open',
  };
}

export function restSameRepository(pr: RestPr, repository: string): boolean {
  return pr.head.repo?.full_name.toLowerCase() === repository.toLowerCase();
}

export function isStatus(err: unknown, ...statuses: number[]): boolean {
  return statuses.includes((err as { status?: number })?.status ?? -1);
}
