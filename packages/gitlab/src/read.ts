// The read step on GitLab: one GraphQL document reads the branch heads, the target files (with
// each file's own last commit, for last_commit_id) and the release merge request; the release
// branch's parents come from REST in parallel. A directory costs one more document for the files
// found below it.
import {
  PathError,
  type PullRequestInfo,
  type ReadRequest,
  type RepositorySnapshot,
} from '@gitops-release/core';
import { GitLabApiError, type GitLabClient } from './client.js';

type ManifestFile = RepositorySnapshot['files'][number];

const MANIFEST = /\.ya?ml$/;

export interface GqlMergeRequest {
  iid: string;
  webUrl: string;
  title: string;
  description: string | null;
  sourceBranch: string;
  targetBranch: string;
}

export const MR_FIELDS = 'iid webUrl title description sourceBranch targetBranch';

export function toPullRequest(mr: GqlMergeRequest): PullRequestInfo {
  return {
    number: Number(mr.iid),
    url: mr.webUrl,
    title: mr.title,
    body: mr.description ?? '',
    head: mr.sourceBranch,
    base: mr.targetBranch,
  };
}

interface GqlTree {
  lastCommit: { sha: string } | null;
  blobs?: { nodes: { path: string }[]; pageInfo?: { hasNextPage: boolean } };
}

interface GqlBlobs {
  nodes: { path: string; rawTextBlob: string | null }[];
}

/** What the commit step needs from the read: the last commit of each file at each head read. */
export class ReadMemory {
  private readonly lastCommits = new Map<string, string>();

  remember(head: string, path: string, commit: string): void {
    this.lastCommits.set(`${head}\0${path}`, commit);
  }

  lastCommitOf(head: string, path: string): string | undefined {
    return this.lastCommits.get(`${head}\0${path}`);
  }
}

export function cleanPath(path: string): string {
  return path
    .replace(/^\.\/+/, '')
    .replace(/\/+$/, '')
    .replace(/\/{2,}/g, '/');
}

export function encodeProject(project: string): string {
  return encodeURIComponent(project);
}

/** One ref's part of the document: its head, the given paths as blobs, and each path as a tree. */
function refFields(prefix: string, refVar: string, count: number): string[] {
  const fields = [
    `${prefix}Head: tree(ref: ${refVar}) { lastCommit { sha } }`,
    `${prefix}Blobs: blobs(ref: ${refVar}, paths: $paths) { nodes { path rawTextBlob } }`,
  ];
  for (let i = 0; i < count; i++) {
    // On a file path the tree is empty and lastCommit is the file's own last commit
    // (Resolvers::LastCommitResolver: Commit.last_for_path(tree.repository, tree.sha, tree.path)).
    fields.push(
      `${prefix}${i}: tree(ref: ${refVar}, path: $p${i}, recursive: true) { lastCommit { sha } blobs(first: 100) { nodes { path } pageInfo { hasNextPage } } }`,
    );
  }
  return fields;
}

export async function readSnapshot(
  client: GitLabClient,
  project: string,
  request: ReadRequest,
  memory: ReadMemory,
  notFound: (what: string) => Error,
): Promise<{ snapshot: RepositorySnapshot; webUrl: string }> {
  const paths = request.paths.map(cleanPath);
  const declared = ['$fullPath: ID!', '$base: String', '$paths: [String!]!'];
  const variables: Record<string, unknown> = {
    fullPath: project,
    base: request.base ?? null,
    paths,
  };
  paths.forEach((p, i) => {
    declared.push(`$p${i}: String!`);
    variables[`p${i}`] = p;
  });
  const repoFields = ['rootRef', ...refFields('base', '$base', paths.length)];
  const projectFields = ['webUrl'];
  if (request.branch) {
    declared.push('$branch: String!', '$branches: [String!]');
    variables.branch = request.branch;
    variables.branches = [request.branch];
    repoFields.push(...refFields('branch', '$branch', paths.length));
    projectFields.push(
      `release: mergeRequests(sourceBranches: $branches, state: opened, first: 20) { nodes { ${MR_FIELDS} } }`,
    );
  }
  if (request.openPullRequests) {
    projectFields.push(
      `open: mergeRequests(state: opened, first: 100, sort: CREATED_DESC) { nodes { ${MR_FIELDS} } }`,
    );
  }
  const query = `query Release(${declared.join(', ')}) { project(fullPath: $fullPath) { ${projectFields.join(' ')} repository { ${repoFields.join(' ')} } } }`;
  type Data = {
    project: {
      webUrl: string;
      release?: { nodes: GqlMergeRequest[] };
      open?: { nodes: GqlMergeRequest[] };
      repository: ({ rootRef: string | null } & Record<string, unknown>) | null;
    } | null;
  };
  const branchRest = request.branch
    ? client
        .rest<{ commit: { id: string; parent_ids?: string[] } }>(
          'GET',
          `/projects/${encodeProject(project)}/repository/branches/${encodeURIComponent(request.branch)}`,
        )
        .catch((err) => {
          if (err instanceof GitLabApiError && err.status === 404) return undefined;
          throw err;
        })
    : Promise.resolve(undefined);
  const [data, branchInfo] = await Promise.all([
    client.graphql<Data>(query, variables),
    branchRest,
  ]);
  const repo = data.project?.repository;
  if (!data.project || !repo) throw notFound('project not found, or the token cannot see it');
  const at = <T>(key: string) => repo[key] as T;
  const baseName = request.base ?? repo.rootRef;
  if (!baseName) {
    throw new PathError(`${project} has no default branch (is it empty?); pass --base`, {
      input: 'base',
    });
  }
  const baseSha = at<GqlTree | null>('baseHead')?.lastCommit?.sha;
  if (!baseSha) throw notFound(`no branch "${baseName}"`);

  const base = await filesAt(client, project, paths, 'base', at, baseSha, baseName, memory);
  const snapshot: RepositorySnapshot = {
    defaultBranch: repo.rootRef ?? baseName,
    base: { name: baseName, sha: baseSha },
    files: base,
  };
  const branchSha = at<GqlTree | null>('branchHead')?.lastCommit?.sha;
  if (request.branch && branchSha && branchInfo) {
    const files = await filesAt(
      client,
      project,
      paths,
      'branch',
      at,
      branchSha,
      request.branch,
      memory,
    ).catch((err) => {
      if (err instanceof PathError) return []; // the branch lost a file: a leftover, rebuilt
      throw err;
    });
    snapshot.branch = {
      name: request.branch,
      sha: branchSha,
      files,
      ...(branchInfo.commit.id === branchSha
        ? { parents: branchInfo.commit.parent_ids ?? [] }
        : {}),
    };
  }
  const release = data.project.release?.nodes.find((mr) => mr.targetBranch === baseName);
  if (release) snapshot.pullRequest = toPullRequest(release);
  if (data.project.open) {
    snapshot.openPullRequests = data.project.open.nodes
      .filter((mr) => mr.targetBranch === baseName)
      .map(toPullRequest);
  }
  return { snapshot, webUrl: data.project.webUrl };
}

async function filesAt(
  client: GitLabClient,
  project: string,
  paths: string[],
  prefix: string,
  at: <T>(key: string) => T,
  head: string,
  where: string,
  memory: ReadMemory,
): Promise<ManifestFile[]> {
  const blobs = new Map(
    (at<GqlBlobs | null>(`${prefix}Blobs`)?.nodes ?? []).map((b) => [b.path, b.rawTextBlob]),
  );
  const files: ManifestFile[] = [];
  const seen = new Set<string>();
  const below: string[] = [];
  for (let i = 0; i < paths.length; i++) {
    const path = paths[i]!;
    const tree = at<GqlTree | null>(`${prefix}${i}`);
    const text = blobs.get(path);
    if (text !== undefined && text !== null) {
      if (!seen.has(path)) files.push({ path, text });
      seen.add(path);
      if (tree?.lastCommit) memory.remember(head, path, tree.lastCommit.sha);
      continue;
    }
    const found = (tree?.blobs?.nodes ?? []).map((b) => b.path).filter((p) => MANIFEST.test(p));
    if (tree?.blobs?.pageInfo?.hasNextPage) {
      throw new PathError(
        `${path}: more than 100 files below it in ${project} at ${where}; give the subdirectory or the files to edit`,
        { input: 'path' },
      );
    }
    if (found.length === 0) {
      throw new PathError(
        `${path}: not found, or no *.yaml / *.yml below it, in ${project} at ${where}`,
        { input: 'path' },
      );
    }
    for (const p of found) if (!seen.has(p) && !below.includes(p)) below.push(p);
  }
  if (below.length === 0) return files;
  // The files below a directory: one more document, at the head read (a sha), so they match it.
  const declared = ['$fullPath: ID!', '$ref: String!', '$paths: [String!]!'];
  const variables: Record<string, unknown> = { fullPath: project, ref: head, paths: below };
  const fields = ['blobs(ref: $ref, paths: $paths) { nodes { path rawTextBlob } }'];
  below.forEach((p, j) => {
    declared.push(`$f${j}: String!`);
    variables[`f${j}`] = p;
    fields.push(`l${j}: tree(ref: $ref, path: $f${j}) { lastCommit { sha } }`);
  });
  const data = await client.graphql<{
    project: { repository: Record<string, unknown> & { blobs: GqlBlobs } } | null;
  }>(
    `query ReleaseFiles(${declared.join(', ')}) { project(fullPath: $fullPath) { repository { ${fields.join(' ')} } } }`,
    variables,
  );
  const repo = data.project?.repository;
  const texts = new Map((repo?.blobs.nodes ?? []).map((b) => [b.path, b.rawTextBlob]));
  below.forEach((p, j) => {
    const text = texts.get(p);
    if (text === undefined || text === null) return; // binary or vanished: not a manifest to edit
    files.push({ path: p, text });
    const last = (repo?.[`l${j}`] as GqlTree | null)?.lastCommit?.sha;
    if (last) memory.remember(head, p, last);
  });
  return files;
}
