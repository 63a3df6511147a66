// The part of GitLab's GraphQL API the host reads, run by graphql-js. The types, fields,
// arguments and defaults are GitLab's as its reference documents them
// (https://docs.gitlab.com/api/graphql/reference/: Query.project, Project.repository,
// Project.mergeRequests, Repository.tree, Repository.blobs, Tree.lastCommit, Tree.blobs,
// RepositoryBlob.rawTextBlob); a document asking for anything else fails validation, as it would
// against a schema without it, so the host cannot come to rely on a field this file lacks.
import { buildSchema, type GraphQLSchema, graphql } from 'graphql';
import type { GitLabState, MergeRequestState, Project } from './state.js';

const SDL = /* GraphQL */ `
  scalar BigInt
  enum MergeRequestState { merged opened closed locked all }
  enum MergeRequestSort { CREATED_ASC CREATED_DESC UPDATED_ASC UPDATED_DESC created_asc created_desc updated_asc updated_desc }
  enum RefType { HEADS TAGS }
  enum EntryType { tree blob commit }
  type PageInfo { hasNextPage: Boolean! hasPreviousPage: Boolean! startCursor: String endCursor: String }
  type Query { project(fullPath: ID!): Project }
  type Project {
    id: ID!
    fullPath: ID!
    name: String!
    webUrl: String
    repository: Repository
    mergeRequests(sourceBranches: [String!], targetBranches: [String!], state: MergeRequestState, sort: MergeRequestSort = created_desc, first: Int, after: String): MergeRequestConnection
  }
  type Repository {
    rootRef: String
    empty: Boolean!
    exists: Boolean!
    tree(path: String = "", ref: String, refType: RefType, recursive: Boolean = false): Tree
    blobs(paths: [String!]!, ref: String, refType: RefType, first: Int, after: String): RepositoryBlobConnection
  }
  type Commit { id: ID! sha: String! shortId: String! title: String message: String authorName: String webUrl: String! }
  type Tree {
    lastCommit: Commit
    blobs(first: Int, after: String): BlobConnection!
  }
  type Blob { id: ID! sha: String! name: String! path: String! flatPath: String! type: EntryType! mode: String webUrl: String }
  type BlobConnection { count: Int! nodes: [Blob] pageInfo: PageInfo! }
  type RepositoryBlob { id: ID! oid: String! path: String! name: String! rawBlob: String rawTextBlob: String size: BigInt rawSize: BigInt mode: String webPath: String }
  type RepositoryBlobConnection { nodes: [RepositoryBlob] pageInfo: PageInfo! }
  type MergeRequest { id: ID! iid: String! title: String! description: String state: MergeRequestState! sourceBranch: String! targetBranch: String! webUrl: String draft: Boolean! diffHeadSha: String }
  type MergeRequestConnection { count: Int! nodes: [MergeRequest] pageInfo: PageInfo! }
`;

let schema: GraphQLSchema | undefined;

/** GitLab's connections serve at most 100 nodes a page (GitlabSchema default_max_page_size). */
const MAX_PAGE = 100;

function page<T>(all: T[], first: number | undefined) {
  const size = Math.min(first ?? MAX_PAGE, MAX_PAGE);
  const nodes = all.slice(0, size);
  return {
    count: all.length,
    nodes,
    pageInfo: {
      hasNextPage: all.length > size,
      hasPreviousPage: false,
      startCursor: null,
      endCursor: null,
    },
  };
}

export interface GraphQLViewer {
  /** False for an unauthenticated request: private projects resolve to null. */
  canRead: boolean;
}

function projectNode(state: GitLabState, project: Project) {
  const git = project.git;
  const web = `${state.webUrl()}/${project.fullPath}`;
  const commitish = (ref: string | null | undefined) =>
    git.resolveCommitish(ref ?? project.defaultBranch);
  const commitNode = async (oid: string) => {
    const c = await git.readCommit(oid);
    const message = c.message.replace(/\n$/, '');
    return {
      id: `gid://gitlab/CommitPresenter/${oid}`,
      sha: oid,
      shortId: oid.slice(0, 8),
      title: message.split('\n')[0],
      message,
      authorName: c.author.name,
      webUrl: `${web}/-/commit/${oid}`,
    };
  };
  const mrNode = (mr: MergeRequestState) => ({
    id: `gid://gitlab/MergeRequest/${mr.id}`,
    iid: String(mr.iid),
    title: mr.title,
    description: mr.description,
    state: mr.state,
    sourceBranch: mr.source,
    targetBranch: mr.target,
    webUrl: `${web}/-/merge_requests/${mr.iid}`,
    draft: /^\s*(\[draft\]|\(draft\)|draft:)/i.test(mr.title),
    diffHeadSha: () => git.resolveRef(`refs/heads/${mr.source}`),
  });
  return {
    id: `gid://gitlab/Project/${project.id}`,
    fullPath: project.fullPath,
    name: project.fullPath.split('/').pop(),
    webUrl: web,
    mergeRequests(args: {
      sourceBranches?: string[];
      targetBranches?: string[];
      state?: string;
      sort?: string;
      first?: number;
    }) {
      const wanted = project.mergeRequests.filter(
        (m) =>
          (!args.sourceBranches || args.sourceBranches.includes(m.source)) &&
          (!args.targetBranches || args.targetBranches.includes(m.target)) &&
          (!args.state || args.state === 'all' || args.state === m.state),
      );
      const ascending = /asc/i.test(args.sort ?? 'created_desc');
      const ordered = [...wanted].sort((a, b) => (ascending ? a.id - b.id : b.id - a.id));
      return page(ordered.map(mrNode), args.first);
    },
    repository: {
      rootRef: () => git.resolveRef('HEAD').then((h) => (h ? project.defaultBranch : null)),
      empty: async () => !(await git.resolveRef('HEAD')),
      exists: true,
      // Resolvers::TreeResolver builds a Tree for any ref; on a ref that does not resolve its
      // entries are empty and lastCommit is null.
      async tree(args: { path?: string; ref?: string | null; recursive?: boolean }) {
        const commit = await commitish(args.ref);
        const path = (args.path ?? '').replace(/^\/+|\/+$/g, '');
        return {
          // Resolvers::LastCommitResolver: last_for_path(tree.sha, tree.path), any path.
          lastCommit: async () => {
            if (!commit) return null;
            const oid = await state.lastForPath(project, commit, path);
            return oid ? commitNode(oid) : null;
          },
          blobs: async (b: { first?: number }) => {
            if (!commit) return page([], b.first);
            const entry = await git.entryAt(commit, path);
            if (entry?.type !== 'tree') return page([], b.first);
            const all = args.recursive
              ? (await git.lsTreeRecursive(entry.oid)).map((e) => ({
                  ...e,
                  path: path ? `${path}/${e.path}` : e.path,
                }))
              : (await git.lsTree(entry.oid)).map((e) => ({
                  ...e,
                  path: path ? `${path}/${e.name}` : e.name,
                }));
            const blobs = all
              .filter((e) => e.type === 'blob')
              .map((e) => ({
                id: `gid://gitlab/Gitlab::Graphql::Representation::TreeEntry/${e.oid}`,
                sha: e.oid,
                name: e.name,
                path: e.path,
                flatPath: e.path,
                type: 'blob',
                mode: e.mode,
                webUrl: `${web}/-/blob/${args.ref ?? project.defaultBranch}/${e.path}`,
              }));
            return page(blobs, b.first);
          },
        };
      },
      // Resolvers::BlobsResolver: the paths that are blobs at the ref; others are left out.
      async blobs(args: { paths: string[]; ref?: string | null; first?: number }) {
        const commit = await commitish(args.ref);
        const nodes = [];
        for (const path of commit ? args.paths : []) {
          const entry = await git.entryAt(commit!, path);
          if (entry?.type !== 'blob') continue;
          const bytes = await git.readBlob(entry.oid);
          const binary = bytes.subarray(0, 8000).includes(0);
          nodes.push({
            id: `gid://gitlab/Blob/${entry.oid}`,
            oid: entry.oid,
            path,
            name: path.split('/').pop(),
            rawBlob: binary ? null : bytes.toString('utf8'),
            // "Raw content of the blob, if the blob is text data."
            rawTextBlob: binary ? null : bytes.toString('utf8'),
            size: bytes.length,
            rawSize: bytes.length,
            mode: entry.mode,
            webPath: `/${project.fullPath}/-/blob/${args.ref ?? project.defaultBranch}/${path}`,
          });
        }
        return page(nodes, args.first);
      },
    },
  };
}

export async function runGraphQL(
  state: GitLabState,
  viewer: GraphQLViewer,
  body: {
    query?: string;
    variables?: Record<string, unknown> | null;
    operationName?: string | null;
  },
): Promise<{ data?: unknown; errors?: { message: string }[] }> {
  schema ??= buildSchema(SDL);
  const result = await graphql({
    schema,
    source: body.query ?? '',
    variableValues: body.variables ?? null,
    operationName: body.operationName ?? null,
    rootValue: {
      project: ({ fullPath }: { fullPath: string }) => {
        const project = state.projects.get(fullPath);
        // A private project the viewer may not read is null, not an error, in GitLab's GraphQL.
        return project && viewer.canRead ? projectNode(state, project) : null;
      },
    },
  });
  return {
    ...(result.data ? { data: result.data } : {}),
    ...(result.errors
      ? {
          errors: result.errors.map((e) => ({
            message: e.message,
            locations: e.locations,
            path: e.path,
          })),
        }
      : {}),
  } as { data?: unknown; errors?: { message: string }[] };
}

/** The top-level fields of a document (for the request log). */
export function fieldsOf(query: string): string[] {
  const m = query.match(/\{\s*([A-Za-z_]+)/);
  return m ? [m[1]!] : [];
}
