// GitHub's GraphQL API for the subset the product uses, executed by graphql-js against GitHub's
// own published schema (npm @octokit/graphql-schema): a document GitHub would reject fails here.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildSchema,
  type DocumentNode,
  execute,
  GraphQLError,
  type GraphQLError as GraphQLErrorType,
  GraphQLObjectType,
  GraphQLSchema,
  parse,
  validate,
} from 'graphql';
import type { PathChange } from './git.js';
import * as shapes from './shapes.js';
import {
  type GitHubState,
  levelOf,
  type PermissionScope,
  type RepoRecord,
  ruleFor,
  StateError,
  type TokenGrant,
  WEB_FLOW,
} from './state.js';

interface Ctx {
  state: GitHubState;
  urls: shapes.Urls;
  grant: TokenGrant;
  /** Refs createRef made earlier in this document (see GitHubState.refVisibleInSameDocument). */
  createdRefs?: Set<string>;
}

type Args = Record<string, unknown>;
// biome-ignore lint/suspicious/noExplicitAny: mutation inputs were validated by graphql-js against GitHub's schema
type Input = any;

/**
 * The SDL file of @octokit/graphql-schema. Read directly: the package's entry point also parses
 * its 5 MB JSON introspection at import, a second copy of the same schema we do not need.
 */
function schemaFile(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'node_modules', '@octokit', 'graphql-schema', 'schema.graphql');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('github-sim: @octokit/graphql-schema is not installed');
    dir = parent;
  }
}

let schema: GraphQLSchema | undefined;
export function githubSchema(): GraphQLSchema {
  if (!schema) {
    schema = buildSchema(readFileSync(schemaFile(), 'utf8'), { assumeValidSDL: true });
  }
  return schema;
}

let oldSchema: GraphQLSchema | undefined;
/**
 * GitHub's schema without createCommitOnBranch, as an Enterprise Server older than 3.4 serves it
 * (the mutation arrived in GHES 3.4; docs.github.com/enterprise-server@3.4/graphql/reference/mutations).
 */
export function schemaWithoutCreateCommitOnBranch(): GraphQLSchema {
  if (!oldSchema) {
    const config = githubSchema().toConfig();
    const mutation = githubSchema().getMutationType()!;
    const { createCommitOnBranch: _gone, ...fields } = mutation.toConfig().fields;
    const older = new GraphQLObjectType({ ...mutation.toConfig(), fields });
    oldSchema = new GraphQLSchema({
      ...config,
      mutation: older,
      types: config.types.map((t) => (t.name === mutation.name ? older : t)),
    });
  }
  return oldSchema;
}

function gqlError(type: string, message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { type } });
}

function fromState(error: unknown): never {
  if (error instanceof StateError) throw gqlError(error.kind, error.message);
  throw error;
}

// --- connections (GitHub insists on `first` or `last`) ---

function connection<T>(items: T[], args: Args, name: string) {
  const first = args.first as number | undefined;
  const last = args.last as number | undefined;
  if (first === undefined && last === undefined) {
    throw gqlError(
      'MISSING_PAGINATION_BOUNDARIES',
      `You must provide a \`first\` or \`last\` value to properly paginate the \`${name}\` connection.`,
    );
  }
  for (const [key, value] of [
    ['first', first],
    ['last', last],
  ] as const) {
    if (value !== undefined && (value < 0 || value > 100)) {
      throw gqlError(
        'EXCESSIVE_PAGINATION',
        `Requesting ${value} records on the \`${name}\` connection exceeds the \`${key}\` limit of 100 records.`,
      );
    }
  }
  let start = 0;
  let end = items.length;
  const cursor = (i: number) => Buffer.from(`cursor:v2:${i}`).toString('base64');
  const fromCursor = (c: unknown) =>
    Number(Buffer.from(String(c), 'base64').toString().split(':')[2]);
  if (args.after) start = fromCursor(args.after) + 1;
  if (args.before) end = fromCursor(args.before);
  if (first !== undefined) end = Math.min(end, start + first);
  if (last !== undefined) start = Math.max(start, end - last);
  const slice = items.slice(start, end);
  return {
    totalCount: items.length,
    nodes: slice,
    edges: slice.map((node, i) => ({ node, cursor: cursor(start + i) })),
    pageInfo: {
      hasNextPage: end < items.length,
      hasPreviousPage: start > 0,
      startCursor: slice.length ? cursor(start) : null,
      endCursor: slice.length ? cursor(end - 1) : null,
    },
  };
}

// --- views: plain objects whose function fields graphql-js calls as resolvers ---

function userView(ctx: Ctx, login: string) {
  const user = ctx.state.user(login);
  return {
    __typename:
      user.type === 'Bot' ? 'Bot' : user.type === 'Organization' ? 'Organization' : 'User',
    id: shapes.nodeId('U', user.login),
    databaseId: user.id,
    login: user.login,
    name: null,
    url: `${ctx.urls.web}/${encodeURIComponent(user.login)}`,
    resourcePath: `/${encodeURIComponent(user.login)}`,
    avatarUrl: `${ctx.urls.web}/avatars/u/${user.id}?v=4`,
  };
}

function teamView(ctx: Ctx, org: string, slug: string) {
  const t = ctx.state.team(slug, org);
  return {
    __typename: 'Team',
    id: shapes.nodeId('T', `${t.org}/${t.slug}`),
    databaseId: t.id,
    slug: t.slug,
    name: t.slug,
    combinedSlug: `${t.org}/${t.slug}`,
    url: `${ctx.urls.web}/orgs/${t.org}/teams/${t.slug}`,
  };
}

function organizationView(ctx: Ctx, login: string) {
  return {
    ...userView(ctx, login),
    __typename: 'Organization',
    team: ({ slug }: Args) => teamView(ctx, login, String(slug)),
  };
}

function labelView(ctx: Ctx, repo: RepoRecord, name: string) {
  const l = ctx.state.label(repo, name)!;
  return {
    __typename: 'Label',
    id: shapes.nodeId('LA', `${repo.meta.fullName}\n${l.name}`),
    name: l.name,
    color: l.color,
    description: l.description,
    isDefault: false,
    url: `${ctx.urls.web}/${repo.meta.fullName}/labels/${encodeURIComponent(l.name)}`,
  };
}

const BLOB_TEXT_LIMIT = 512_000;

function blobView(ctx: Ctx, repo: RepoRecord, oid: string) {
  let bytes: Promise<Buffer> | undefined;
  const read = () => {
    bytes ??= repo.git.readBlob(oid);
    return bytes;
  };
  return {
    __typename: 'Blob',
    id: shapes.nodeId('C', `${repo.meta.fullName}\n${oid}`),
    oid,
    abbreviatedOid: oid.slice(0, 7),
    commitUrl: `${ctx.urls.web}/${repo.meta.fullName}`,
    commitResourcePath: `/${repo.meta.fullName}`,
    byteSize: async () => (await read()).length,
    isBinary: async () => (await read()).includes(0),
    // GitHub cuts Blob.text at 512,000 bytes and says so in isTruncated.
    isTruncated: async () => (await read()).length > BLOB_TEXT_LIMIT,
    text: async () => {
      const b = await read();
      return b.includes(0) ? null : b.subarray(0, BLOB_TEXT_LIMIT).toString('utf8');
    },
    repository: () => repoView(ctx, repo),
  };
}

function treeView(ctx: Ctx, repo: RepoRecord, oid: string, basePath: string) {
  return {
    __typename: 'Tree',
    id: shapes.nodeId('C', `${repo.meta.fullName}\n${oid}`),
    oid,
    abbreviatedOid: oid.slice(0, 7),
    commitUrl: `${ctx.urls.web}/${repo.meta.fullName}`,
    commitResourcePath: `/${repo.meta.fullName}`,
    repository: () => repoView(ctx, repo),
    entries: async () =>
      (await repo.git.lsTree(oid)).map((e) => {
        const path = basePath ? `${basePath}/${e.name}` : e.name;
        return {
          name: e.name,
          nameRaw: Buffer.from(e.name).toString('base64'),
          path,
          pathRaw: Buffer.from(path).toString('base64'),
          type: e.type,
          mode: Number.parseInt(e.mode, 8),
          oid: e.oid,
          extension: e.name.includes('.') ? e.name.slice(e.name.lastIndexOf('.')) : null,
          isGenerated: false,
          size: async () => (e.type === 'blob' ? repo.git.blobSize(e.oid) : 0),
          repository: () => repoView(ctx, repo),
          object: () => objectView(ctx, repo, e.type, e.oid, path),
        };
      }),
  };
}

function objectView(ctx: Ctx, repo: RepoRecord, type: string, oid: string, path: string) {
  if (type === 'blob') return blobView(ctx, repo, oid);
  if (type === 'tree') return treeView(ctx, repo, oid, path);
  if (type === 'commit') return commitView(ctx, repo, oid);
  return null;
}

function commitView(ctx: Ctx, repo: RepoRecord, oid: string) {
  let info: ReturnType<RepoRecord['git']['readCommit']> | undefined;
  const read = () => {
    info ??= repo.git.readCommit(oid);
    return info;
  };
  const actor = async (which: 'author' | 'committer') => {
    const c = await read();
    const who = c[which];
    const m = /^\d+\+(.+)@users\.noreply\.github\.com$/.exec(who.email);
    return {
      name: who.name,
      email: who.email,
      date: shapes.timestamp(new Date(who.date * 1000)),
      user: m ? userView(ctx, m[1]!) : null,
    };
  };
  const signed = repo.signed.has(oid);
  return {
    __typename: 'Commit',
    id: shapes.nodeId('C', `${repo.meta.fullName}\n${oid}`),
    oid,
    abbreviatedOid: oid.slice(0, 7),
    url: `${ctx.urls.web}/${repo.meta.fullName}/commit/${oid}`,
    commitUrl: `${ctx.urls.web}/${repo.meta.fullName}/commit/${oid}`,
    resourcePath: `/${repo.meta.fullName}/commit/${oid}`,
    message: async () => (await read()).message.replace(/\n$/, ''),
    messageHeadline: async () => (await read()).message.split('\n')[0],
    messageBody: async () =>
      (await read()).message
        .split('\n')
        .slice(1)
        .join('\n')
        .replace(/^\n+|\n+$/g, ''),
    committedDate: async () => shapes.timestamp(new Date((await read()).committer.date * 1000)),
    authoredDate: async () => shapes.timestamp(new Date((await read()).author.date * 1000)),
    author: () => actor('author'),
    committer: () => actor('committer'),
    signature: signed
      ? async () => ({
          __typename: 'GpgSignature',
          isValid: true,
          state: 'VALID',
          wasSignedByGitHub: true,
          email: WEB_FLOW.email,
          keyId: 'B5690EEEBB952194',
          payload: '',
          signature: '',
          signer: null,
          verifiedAt: shapes.timestamp(new Date((await read()).committer.date * 1000)),
        })
      : null,
    tree: async () => treeView(ctx, repo, (await read()).tree, ''),
    parents: async (args: Args) =>
      connection(
        await Promise.all((await read()).parents.map((p) => commitView(ctx, repo, p))),
        args,
        'parents',
      ),
    file: async ({ path }: Args) => {
      const entry = await repo.git.entryAt(oid, String(path));
      if (!entry) return null;
      return {
        name: entry.name,
        path: String(path),
        type: entry.type,
        mode: Number.parseInt(entry.mode, 8),
        oid: entry.oid,
        object: () => objectView(ctx, repo, entry.type, entry.oid, String(path)),
      };
    },
    repository: () => repoView(ctx, repo),
  };
}

function refView(ctx: Ctx, repo: RepoRecord, qualifiedName: string, oid: string) {
  const prefix = qualifiedName.startsWith('refs/heads/')
    ? 'refs/heads/'
    : qualifiedName.startsWith('refs/tags/')
      ? 'refs/tags/'
      : 'refs/';
  return {
    __typename: 'Ref',
    id: shapes.nodeId('REF', `${repo.meta.fullName}\n${qualifiedName}`),
    name: qualifiedName.slice(prefix.length),
    prefix,
    target: () => commitView(ctx, repo, oid),
    repository: () => repoView(ctx, repo),
    associatedPullRequests: (args: Args) =>
      pullConnection(
        ctx,
        repo,
        repo.pulls.filter((p) => `refs/heads/${p.head}` === qualifiedName),
        args,
        'associatedPullRequests',
      ),
  };
}

async function resolveRefView(ctx: Ctx, repo: RepoRecord, name: string) {
  const qualified = name.startsWith('refs/') ? name : `refs/heads/${name}`;
  const oid = await repo.git.resolveRef(qualified);
  return oid ? refView(ctx, repo, qualified, oid) : null;
}

function pullView(ctx: Ctx, repo: RepoRecord, number: number) {
  const pr = ctx.state.findPull(repo, number)!;
  const url = `${ctx.urls.web}/${repo.meta.fullName}/pull/${pr.number}`;
  return {
    __typename: 'PullRequest',
    id: shapes.nodeId('PR', `${repo.meta.fullName}\n${pr.number}`),
    databaseId: pr.id,
    number: pr.number,
    url,
    permalink: url,
    resourcePath: `/${repo.meta.fullName}/pull/${pr.number}`,
    title: pr.title,
    body: pr.body ?? '',
    bodyText: pr.body ?? '',
    headRefName: pr.head,
    baseRefName: pr.base,
    // A fork's pull request names a branch of the fork, which may share its name with ours.
    isCrossRepository: pr.headRepo !== undefined,
    headRepository: () => repoView(ctx, headRepoOf(ctx, repo, pr)),
    headRepositoryOwner: () => userView(ctx, headRepoOf(ctx, repo, pr).meta.owner),
    headRefOid: async () =>
      (await headRepoOf(ctx, repo, pr).git.resolveRef(`refs/heads/${pr.head}`)) ?? null,
    baseRefOid: async () => (await repo.git.resolveRef(`refs/heads/${pr.base}`)) ?? null,
    headRef: () => resolveRefView(ctx, repo, pr.head),
    baseRef: () => resolveRefView(ctx, repo, pr.base),
    isDraft: pr.draft,
    state: pr.merged ? 'MERGED' : pr.state === 'open' ? 'OPEN' : 'CLOSED',
    closed: pr.state === 'closed',
    merged: pr.merged !== null,
    mergedAt: pr.merged?.at ?? null,
    mergeCommit: pr.merged ? () => commitView(ctx, repo, pr.merged!.sha) : null,
    mergeable: 'MERGEABLE',
    maintainerCanModify: pr.maintainerCanModify,
    createdAt: pr.createdAt,
    updatedAt: pr.updatedAt,
    closedAt: pr.closedAt,
    author: () => userView(ctx, pr.user),
    repository: () => repoView(ctx, repo),
    labels: (args: Args) =>
      connection(
        pr.labels.map((n) => labelView(ctx, repo, n)),
        args,
        'labels',
      ),
    assignees: (args: Args) =>
      connection(
        pr.assignees.map((a) => userView(ctx, a)),
        args,
        'assignees',
      ),
    reviewRequests: (args: Args) =>
      connection(
        [
          ...pr.reviewers.map((r) => ({ requestedReviewer: userView(ctx, r) })),
          ...pr.teamReviewers.map((t) => ({
            requestedReviewer: teamView(ctx, repo.meta.owner, t),
          })),
        ],
        args,
        'reviewRequests',
      ),
    comments: (args: Args) =>
      connection(
        pr.comments.map((c) => commentView(ctx, repo, pr.number, c.id)),
        args,
        'comments',
      ),
    autoMergeRequest: pr.autoMerge
      ? {
          enabledAt: pr.autoMerge.enabledAt,
          mergeMethod: pr.autoMerge.mergeMethod.toUpperCase(),
          enabledBy: userView(ctx, pr.autoMerge.enabledBy),
          commitHeadline: null,
          commitBody: null,
          authorEmail: null,
          pullRequest: () => pullView(ctx, repo, number),
        }
      : null,
  };
}

function headRepoOf(ctx: Ctx, repo: RepoRecord, pr: { headRepo?: string }): RepoRecord {
  return pr.headRepo ? (ctx.state.repos.get(pr.headRepo.toLowerCase()) ?? repo) : repo;
}

function commentView(ctx: Ctx, repo: RepoRecord, number: number, id: number) {
  const pr = ctx.state.findPull(repo, number)!;
  const c = pr.comments.find((x) => x.id === id)!;
  return {
    __typename: 'IssueComment',
    id: shapes.nodeId('IC', `${repo.meta.fullName}\n${c.id}`),
    databaseId: c.id,
    body: c.body,
    bodyText: c.body,
    createdAt: c.createdAt,
    url: `${ctx.urls.web}/${repo.meta.fullName}/pull/${number}#issuecomment-${c.id}`,
    author: () => userView(ctx, c.user),
  };
}

function pullConnection(
  ctx: Ctx,
  repo: RepoRecord,
  pulls: RepoRecord['pulls'],
  args: Args,
  name: string,
) {
  let list = pulls;
  const states = args.states as string[] | undefined;
  if (states?.length) {
    list = list.filter((p) =>
      states.includes(p.merged ? 'MERGED' : p.state === 'open' ? 'OPEN' : 'CLOSED'),
    );
  }
  if (args.headRefName) list = list.filter((p) => p.head === args.headRefName);
  if (args.baseRefName) list = list.filter((p) => p.base === args.baseRefName);
  const labels = args.labels as string[] | undefined;
  if (labels?.length) {
    list = list.filter((p) =>
      p.labels.some((l) => labels.some((x) => x.toLowerCase() === l.toLowerCase())),
    );
  }
  const order = args.orderBy as { field: string; direction: string } | undefined;
  const key = (p: RepoRecord['pulls'][number]) =>
    order?.field === 'UPDATED_AT'
      ? p.updatedAt + String(p.number).padStart(9, '0')
      : String(p.number).padStart(9, '0');
  list = [...list].sort((a, b) => key(a).localeCompare(key(b)));
  if (order?.direction === 'DESC') list.reverse();
  return connection(
    list.map((p) => pullView(ctx, repo, p.number)),
    args,
    name,
  );
}

function repoView(ctx: Ctx, repo: RepoRecord) {
  const meta = repo.meta;
  return {
    __typename: 'Repository',
    id: shapes.nodeId('R', meta.fullName),
    databaseId: meta.id,
    name: meta.name,
    nameWithOwner: meta.fullName,
    url: `${ctx.urls.web}/${meta.fullName}`,
    resourcePath: `/${meta.fullName}`,
    isArchived: false,
    isPrivate: true,
    autoMergeAllowed: repo.autoMerge !== 'disallowed',
    owner: () => userView(ctx, meta.owner),
    viewerPermission: ctx.grant.permission === 'write' ? 'WRITE' : 'READ',
    viewerCanAdminister: false,
    defaultBranchRef: () => resolveRefView(ctx, repo, meta.defaultBranch),
    ref: ({ qualifiedName }: Args) => resolveRefView(ctx, repo, String(qualifiedName)),
    object: async ({ expression, oid }: Args) => {
      if (oid) {
        const type = await repo.git.objectType(String(oid));
        return type ? objectView(ctx, repo, type, String(oid), '') : null;
      }
      const text = String(expression ?? '');
      const colon = text.indexOf(':');
      const rev = colon === -1 ? text : text.slice(0, colon);
      const commit = await repo.git.resolveCommitish(rev || meta.defaultBranch);
      if (!commit) return null;
      if (colon === -1) return commitView(ctx, repo, commit);
      const path = text.slice(colon + 1).replace(/^\/+|\/+$/g, '');
      const entry = await repo.git.entryAt(commit, path);
      return entry ? objectView(ctx, repo, entry.type, entry.oid, path) : null;
    },
    pullRequests: (args: Args) => pullConnection(ctx, repo, repo.pulls, args, 'pullRequests'),
    pullRequest: ({ number }: Args) =>
      ctx.state.findPull(repo, Number(number)) ? pullView(ctx, repo, Number(number)) : null,
    labels: (args: Args) => {
      const query = String(args.query ?? '').toLowerCase();
      const all = [...repo.labels.values()].filter((l) => l.name.toLowerCase().includes(query));
      return connection(
        all.map((l) => labelView(ctx, repo, l.name)),
        args,
        'labels',
      );
    },
    label: ({ name }: Args) =>
      ctx.state.label(repo, String(name), false) ? labelView(ctx, repo, String(name)) : null,
  };
}

// --- lookups by name and by global ID ---

function repoByName(ctx: Ctx, fullName: string): RepoRecord {
  const repo = ctx.state.visibleRepo(fullName, ctx.grant);
  if (!repo)
    throw gqlError('NOT_FOUND', `Could not resolve to a Repository with the name '${fullName}'.`);
  return repo;
}

function notFoundNode(id: string): GraphQLError {
  return gqlError('NOT_FOUND', `Could not resolve to a node with the global id of '${id}'`);
}

/** The repository and key a global ID names, if this token may see it. */
function byId(
  ctx: Ctx,
  id: unknown,
  kinds: shapes.IdKind[],
): { repo: RepoRecord; key: string; kind: shapes.IdKind } {
  const parsed = parseNode(String(id));
  if (!parsed || !kinds.includes(parsed.kind)) throw notFoundNode(String(id));
  const [fullName, key = ''] = parsed.kind === 'R' ? [parsed.key] : parsed.key.split('\n');
  const repo = ctx.state.visibleRepo(fullName!, ctx.grant);
  if (!repo) throw notFoundNode(String(id));
  return { repo, key, kind: parsed.kind };
}

function parseNode(id: string) {
  return shapes.parseNodeId(id);
}

function pullById(ctx: Ctx, id: unknown) {
  const { repo, key } = byId(ctx, id, ['PR']);
  const pr = ctx.state.findPull(repo, Number(key));
  if (!pr) throw notFoundNode(String(id));
  // Right after creation GitHub may not resolve the new pull request's node yet
  // (peter-evans/create-pull-request#4321, KBVE/kbve#8599).
  if (pr.unresolvedFor) {
    pr.unresolvedFor--;
    throw notFoundNode(String(id));
  }
  return { repo, pr };
}

/**
 * A token without write on the scope: FORBIDDEN "Resource not accessible by integration", as for
 * a GitHub App or Actions token (peterjgrainger/action-create-branch#372,
 * test-room-7/action-update-file#10; REST says the same with HTTP 403).
 */
function requireWrite(ctx: Ctx, scope: PermissionScope = 'contents'): void {
  if (levelOf(ctx.grant, scope) !== 'write') {
    throw gqlError('FORBIDDEN', 'Resource not accessible by integration');
  }
}

/** Issue-like writes (comments, labels, assignees) accept issues or pull requests write. */
function requireIssueWrite(ctx: Ctx): void {
  if (levelOf(ctx.grant, 'issues') !== 'write' && levelOf(ctx.grant, 'pull_requests') !== 'write')
    throw gqlError('FORBIDDEN', 'Resource not accessible by integration');
}

/**
 * Direct commits to a branch whose protection requires pull requests: classic branch protection
 * answers BRANCH_PROTECTION_RULE_VIOLATION with "Changes must be made through a pull request."
 * (Thinkmill/keystatic's handling of it, and issue #1598); a ruleset answers with GitHub's
 * "Repository rule violations found" text (satisfactory-factories/application#67).
 */
function refuseDirectWrite(repo: RepoRecord, branch: string): void {
  const rule = ruleFor(repo, branch, 'requirePullRequest');
  if (!rule) return;
  if (rule.kind === 'protection')
    throw gqlError(
      'BRANCH_PROTECTION_RULE_VIOLATION',
      'Changes must be made through a pull request.',
    );
  throw gqlError(
    'UNPROCESSABLE',
    'Repository rule violations found\n\nChanges must be made through a pull request.\n\n',
  );
}

function loginOfUserId(ctx: Ctx, id: unknown): string {
  const parsed = parseNode(String(id));
  if (parsed?.kind !== 'U') throw notFoundNode(String(id));
  return ctx.state.user(parsed.key).login;
}

function labelNameOfId(ctx: Ctx, repo: RepoRecord, id: unknown): string {
  const parsed = parseNode(String(id));
  if (parsed?.kind !== 'LA') throw notFoundNode(String(id));
  const [fullName, name] = parsed.key.split('\n');
  if (fullName?.toLowerCase() !== repo.meta.fullName.toLowerCase()) throw notFoundNode(String(id));
  const l = ctx.state.label(repo, name!, false);
  if (!l) throw notFoundNode(String(id));
  return l.name;
}

function nodeView(ctx: Ctx, id: unknown) {
  const parsed = parseNode(String(id));
  if (!parsed) throw notFoundNode(String(id));
  if (parsed.kind === 'U') return userView(ctx, parsed.key);
  const { repo, key } = byId(ctx, id, [parsed.kind]);
  switch (parsed.kind) {
    case 'R':
      return repoView(ctx, repo);
    case 'PR':
      return pullView(ctx, repo, Number(key));
    case 'LA':
      return labelView(ctx, repo, key);
    case 'REF':
      return resolveRefView(ctx, repo, key);
    case 'C':
      return commitView(ctx, repo, key);
    default:
      throw notFoundNode(String(id));
  }
}

/**
 * A workflow's GITHUB_TOKEN opens pull requests only with "Allow GitHub Actions to create and
 * approve pull requests" on, off by default (microsoft/AL-Go#159 for the GraphQL wording,
 * peter-evans/create-pull-request#3979 for REST).
 */
export function refuseActionsPullRequest(ctx: { grant: TokenGrant }, repo: RepoRecord): void {
  if (ctx.grant.actions && !repo.actionsCanOpenPullRequests) {
    throw gqlError(
      'FORBIDDEN',
      'GitHub Actions is not permitted to create or approve pull requests.',
    );
  }
}

function touch(pr: { updatedAt: string }) {
  pr.updatedAt = shapes.timestamp();
}

function root(ctx: Ctx) {
  const query = {
    viewer: () => userView(ctx, ctx.grant.login),
    repository: ({ owner, name }: Args) => repoView(ctx, repoByName(ctx, `${owner}/${name}`)),
    user: ({ login }: Args) => userView(ctx, String(login)),
    organization: ({ login }: Args) => organizationView(ctx, String(login)),
    node: ({ id }: Args) => nodeView(ctx, id),
    nodes: ({ ids }: Args) => (ids as unknown[]).map((id) => nodeView(ctx, id)),
    rateLimit: () => ({
      cost: 1,
      limit: 5000,
      nodeCount: 1,
      remaining: 4999,
      used: 1,
      resetAt: shapes.timestamp(new Date(Date.now() + 3600_000)),
    }),
  };

  const mutation = {
    createCommitOnBranch: async ({ input }: { input: Input }) => {
      const branch = input.branch as {
        repositoryNameWithOwner?: string;
        branchName?: string;
        id?: string;
      };
      let repo: RepoRecord;
      let branchName: string;
      if (branch.id) {
        const found = byId(ctx, branch.id, ['REF']);
        repo = found.repo;
        branchName = found.key.replace(/^refs\/heads\//, '');
      } else if (branch.repositoryNameWithOwner && branch.branchName) {
        repo = repoByName(ctx, branch.repositoryNameWithOwner);
        branchName = branch.branchName.replace(/^refs\/heads\//, '');
      } else {
        throw gqlError(
          'UNPROCESSABLE',
          'Either branch.id or both repositoryNameWithOwner and branchName are required.',
        );
      }
      requireWrite(ctx, 'contents');
      refuseDirectWrite(repo, branchName);
      // Undocumented on GitHub whether a ref made earlier in the same document is visible here;
      // the simulator can answer as if it were not.
      if (!ctx.state.refVisibleInSameDocument && ctx.createdRefs?.has(`refs/heads/${branchName}`)) {
        throw gqlError(
          'NOT_FOUND',
          `Could not resolve to a Ref with the name 'refs/heads/${branchName}' in ${repo.meta.fullName}.`,
        );
      }
      const changes = new Map<string, PathChange>();
      for (const d of input.fileChanges?.deletions ?? []) changes.set(d.path, null);
      for (const a of input.fileChanges?.additions ?? []) {
        if (!/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(a.contents)) {
          throw gqlError('UNPROCESSABLE', `The contents of ${a.path} are not valid Base64.`);
        }
        changes.set(a.path, { content: Buffer.from(a.contents, 'base64') });
      }
      const message = input.message.body
        ? `${input.message.headline}\n\n${input.message.body}`
        : input.message.headline;
      try {
        const commit = await ctx.state.commitOnBranch(repo, branchName, changes, message, {
          expectedHeadOid: input.expectedHeadOid,
          author: ctx.state.identity(ctx.grant.login),
          committer: WEB_FLOW,
          signed: true,
          checkDeletions: true,
        });
        return {
          clientMutationId: input.clientMutationId ?? null,
          commit: commitView(ctx, repo, commit.oid),
          ref: refView(ctx, repo, `refs/heads/${branchName}`, commit.oid),
        };
      } catch (error) {
        fromState(error);
      }
    },

    createRef: async ({ input }: { input: Input }) => {
      const { repo } = byId(ctx, input.repositoryId, ['R']);
      requireWrite(ctx, 'contents');
      const name = String(input.name);
      if (!/^refs\/[^/]+\/.+/.test(name))
        throw gqlError('UNPROCESSABLE', `${name} is not a valid ref name.`);
      // A ruleset's "Restrict creations" (dmf-mxl/mxl#356, release-please-action#1194).
      if (name.startsWith('refs/heads/') && ruleFor(repo, name, 'creation')) {
        throw gqlError(
          'UNPROCESSABLE',
          'Repository rule violations found\n\nCannot create ref due to creations being restricted.\n\n',
        );
      }
      if ((await repo.git.objectType(input.oid)) !== 'commit') {
        throw gqlError('UNPROCESSABLE', `Object does not exist: ${input.oid}`);
      }
      if (!(await repo.git.compareAndSwapRef(name, input.oid, '0'.repeat(40)))) {
        throw gqlError('UNPROCESSABLE', `A ref named "${name}" already exists in the repository.`);
      }
      ctx.createdRefs ??= new Set();
      ctx.createdRefs.add(name);
      repo.pushedAt = shapes.timestamp();
      return {
        clientMutationId: input.clientMutationId ?? null,
        ref: refView(ctx, repo, name, input.oid),
      };
    },

    updateRef: async ({ input }: { input: Input }) => {
      const { repo, key: name } = byId(ctx, input.refId, ['REF']);
      requireWrite(ctx, 'contents');
      refuseDirectWrite(repo, name);
      if ((await repo.git.objectType(input.oid)) !== 'commit') {
        throw gqlError('UNPROCESSABLE', `Object does not exist: ${input.oid}`);
      }
      const current = await repo.git.resolveRef(name);
      if (!current) throw notFoundNode(String(input.refId));
      if (!input.force && !(await repo.git.isAncestor(current, input.oid))) {
        throw gqlError('UNPROCESSABLE', 'Update is not a fast forward');
      }
      if (!(await repo.git.compareAndSwapRef(name, input.oid, current))) {
        throw gqlError(
          'STALE_DATA',
          `The ref ${name} moved while it was being updated. Try again.`,
        );
      }
      repo.pushedAt = shapes.timestamp();
      return {
        clientMutationId: input.clientMutationId ?? null,
        ref: refView(ctx, repo, name, input.oid),
      };
    },

    deleteRef: async ({ input }: { input: Input }) => {
      const { repo, key: name } = byId(ctx, input.refId, ['REF']);
      requireWrite(ctx, 'contents');
      const current = await repo.git.resolveRef(name);
      if (!current || !(await repo.git.deleteRef(name, current)))
        throw notFoundNode(String(input.refId));
      return { clientMutationId: input.clientMutationId ?? null };
    },

    createPullRequest: async ({ input }: { input: Input }) => {
      const { repo } = byId(ctx, input.repositoryId, ['R']);
      requireWrite(ctx, 'pull_requests');
      refuseActionsPullRequest(ctx, repo);
      // Drafts need a public repository or a paid plan (cli/cli#520, MetaMask/action-create-release-pr#67).
      if (input.draft && !repo.drafts) {
        throw gqlError(
          'UNPROCESSABLE',
          'Draft pull requests are not supported in this repository.',
        );
      }
      const head = String(input.headRefName)
        .replace(/^refs\/heads\//, '')
        .replace(/^[^:]+:/, '');
      const base = String(input.baseRefName).replace(/^refs\/heads\//, '');
      let pr: ReturnType<GitHubState['newPull']>;
      try {
        await ctx.state.checkNewPull(repo, head, base);
        pr = ctx.state.newPull(repo, {
          title: input.title,
          body: input.body ?? null,
          head,
          base,
          draft: Boolean(input.draft),
          user: ctx.grant.login,
        });
      } catch (error) {
        fromState(error);
      }
      if (input.maintainerCanModify === false) pr.maintainerCanModify = false;
      return {
        clientMutationId: input.clientMutationId ?? null,
        pullRequest: pullView(ctx, repo, pr.number),
      };
    },

    updatePullRequest: async ({ input }: { input: Input }) => {
      const { repo, pr } = pullById(ctx, input.pullRequestId);
      requireWrite(ctx, 'pull_requests');
      if (input.baseRefName) {
        if (!(await repo.git.resolveRef(`refs/heads/${input.baseRefName}`))) {
          throw gqlError('UNPROCESSABLE', `Base ref ${input.baseRefName} does not exist.`);
        }
        pr.base = input.baseRefName;
      }
      if (input.title != null) pr.title = input.title;
      if (input.body != null) pr.body = input.body;
      if (input.labelIds)
        pr.labels = (input.labelIds as unknown[]).map((id) => labelNameOfId(ctx, repo, id));
      if (input.assigneeIds)
        pr.assignees = (input.assigneeIds as unknown[]).map((id) => loginOfUserId(ctx, id));
      if (input.state === 'CLOSED' && pr.state === 'open') {
        pr.state = 'closed';
        pr.closedAt = shapes.timestamp();
      } else if (input.state === 'OPEN' && pr.state === 'closed') {
        try {
          ctx.state.reopenPull(repo, pr);
        } catch (error) {
          fromState(error);
        }
      }
      touch(pr);
      return {
        clientMutationId: input.clientMutationId ?? null,
        pullRequest: pullView(ctx, repo, pr.number),
      };
    },

    closePullRequest: async ({ input }: { input: Input }) => {
      const { repo, pr } = pullById(ctx, input.pullRequestId);
      requireWrite(ctx, 'pull_requests');
      if (pr.state === 'open') {
        pr.state = 'closed';
        pr.closedAt = shapes.timestamp();
        touch(pr);
      }
      return {
        clientMutationId: input.clientMutationId ?? null,
        pullRequest: pullView(ctx, repo, pr.number),
      };
    },

    mergePullRequest: async ({ input }: { input: Input }) => {
      const { repo, pr } = pullById(ctx, input.pullRequestId);
      requireWrite(ctx, 'contents');
      const method = String(input.mergeMethod ?? 'MERGE').toLowerCase() as
        | 'merge'
        | 'squash'
        | 'rebase';
      // leynier/alera#721: "Merge commits are not allowed on this repository."
      if (!repo.mergeMethods.includes(method)) {
        const what =
          method === 'merge'
            ? 'Merge commits'
            : method === 'squash'
              ? 'Squash merges'
              : 'Rebase merges';
        throw gqlError('UNPROCESSABLE', `${what} are not allowed on this repository.`);
      }
      try {
        await ctx.state.mergePull(repo, pr, method, ctx.grant.login);
      } catch (error) {
        fromState(error);
      }
      return {
        clientMutationId: input.clientMutationId ?? null,
        actor: userView(ctx, ctx.grant.login),
        pullRequest: pullView(ctx, repo, pr.number),
      };
    },

    addComment: async ({ input }: { input: Input }) => {
      const { repo, pr } = pullById(ctx, input.subjectId);
      requireIssueWrite(ctx);
      const c = ctx.state.addComment(pr, input.body, ctx.grant.login);
      const node = commentView(ctx, repo, pr.number, c.id);
      return {
        clientMutationId: input.clientMutationId ?? null,
        commentEdge: { cursor: Buffer.from(String(c.id)).toString('base64'), node },
        subject: pullView(ctx, repo, pr.number),
        timelineEdge: { cursor: Buffer.from(String(c.id)).toString('base64'), node },
      };
    },

    addLabelsToLabelable: async ({ input }: { input: Input }) => {
      const { repo, pr } = pullById(ctx, input.labelableId);
      requireIssueWrite(ctx);
      for (const id of input.labelIds as unknown[]) {
        const name = labelNameOfId(ctx, repo, id);
        if (!pr.labels.includes(name)) pr.labels.push(name);
      }
      touch(pr);
      return {
        clientMutationId: input.clientMutationId ?? null,
        labelable: pullView(ctx, repo, pr.number),
      };
    },

    createLabel: async ({ input }: { input: Input }) => {
      const { repo } = byId(ctx, input.repositoryId, ['R']);
      requireIssueWrite(ctx);
      if (ctx.state.label(repo, input.name, false)) {
        throw gqlError('UNPROCESSABLE', 'Name has already been taken');
      }
      const l = ctx.state.label(repo, input.name)!;
      l.color = input.color;
      l.description = input.description ?? null;
      return {
        clientMutationId: input.clientMutationId ?? null,
        label: labelView(ctx, repo, l.name),
      };
    },

    requestReviews: async ({ input }: { input: Input }) => {
      const { repo, pr } = pullById(ctx, input.pullRequestId);
      requireWrite(ctx, 'pull_requests');
      const users = ((input.userIds ?? []) as unknown[]).map((id) => loginOfUserId(ctx, id));
      const teams = ((input.teamIds ?? []) as unknown[]).map((id) => {
        const parsed = parseNode(String(id));
        if (parsed?.kind !== 'T') throw notFoundNode(String(id));
        return ctx.state.team(parsed.key, repo.meta.owner).slug;
      });
      if (users.some((u) => u.toLowerCase() === pr.user.toLowerCase())) {
        throw gqlError('UNPROCESSABLE', 'Review cannot be requested from pull request author.');
      }
      if (input.union) {
        for (const u of users) if (!pr.reviewers.includes(u)) pr.reviewers.push(u);
        for (const t of teams) if (!pr.teamReviewers.includes(t)) pr.teamReviewers.push(t);
      } else {
        pr.reviewers = users;
        pr.teamReviewers = teams;
      }
      touch(pr);
      return {
        clientMutationId: input.clientMutationId ?? null,
        actor: userView(ctx, ctx.grant.login),
        pullRequest: pullView(ctx, repo, pr.number),
      };
    },

    addAssigneesToAssignable: async ({ input }: { input: Input }) => {
      const { repo, pr } = pullById(ctx, input.assignableId);
      requireIssueWrite(ctx);
      for (const id of input.assigneeIds as unknown[]) {
        const login = loginOfUserId(ctx, id);
        if (!pr.assignees.includes(login)) pr.assignees.push(login);
      }
      touch(pr);
      return {
        clientMutationId: input.clientMutationId ?? null,
        assignable: pullView(ctx, repo, pr.number),
      };
    },

    enablePullRequestAutoMerge: async ({ input }: { input: Input }) => {
      const { repo, pr } = pullById(ctx, input.pullRequestId);
      requireWrite(ctx, 'pull_requests');
      if (pr.state !== 'open') throw gqlError('UNPROCESSABLE', 'Pull request is closed');
      // "Allow auto-merge" is off by default (AliceJump/ok-end-field#211, enfabrica/enkit#1172).
      if (repo.autoMerge === 'disallowed') {
        throw gqlError(
          'UNPROCESSABLE',
          'Pull request Auto merge is not allowed for this repository',
        );
      }
      // Nothing to wait for (no required check or review pending): GitHub refuses to arm it
      // (peter-evans/enable-pull-request-automerge#343, rjwalters/loom#3379).
      if (repo.autoMerge === 'clean-status') {
        throw gqlError('UNPROCESSABLE', 'Pull request Pull request is in clean status');
      }
      const wanted = String(input.mergeMethod ?? 'MERGE').toLowerCase() as
        | 'merge'
        | 'squash'
        | 'rebase';
      if (!repo.mergeMethods.includes(wanted)) {
        // coder/coder#16297
        throw gqlError(
          'UNPROCESSABLE',
          `Merge method ${wanted === 'merge' ? 'merge commits' : wanted === 'squash' ? 'squash merging' : 'rebase merging'} are not allowed on this repository`,
        );
      }
      if (input.expectedHeadOid) {
        const head = await repo.git.resolveRef(`refs/heads/${pr.head}`);
        if (head !== input.expectedHeadOid) {
          throw gqlError('UNPROCESSABLE', 'Head sha did not match expected head oid');
        }
      }
      pr.autoMerge = {
        mergeMethod: String(input.mergeMethod ?? 'MERGE').toLowerCase() as
          | 'merge'
          | 'squash'
          | 'rebase',
        enabledBy: ctx.grant.login,
        enabledAt: shapes.timestamp(),
      };
      touch(pr);
      return {
        clientMutationId: input.clientMutationId ?? null,
        actor: userView(ctx, ctx.grant.login),
        pullRequest: pullView(ctx, repo, pr.number),
      };
    },
  };
  return { query, mutation };
}

export interface GraphQLOutcome {
  body: { data?: unknown; errors?: unknown[] };
  /** The document broke GitHub's schema (graphql-js validation). */
  invalid?: string;
  /** A resolver failed in a way GitHub would not (an exception without a GitHub error type). */
  bug?: string;
  operationName: string | undefined;
  mutation: boolean;
  fields: string[];
}

/** Reads the operation's name and top-level fields without running it (for the request log). */
export function describe(source: string, operationName?: string) {
  try {
    const document = parse(source);
    const ops = document.definitions.filter((d) => d.kind === 'OperationDefinition');
    const op = operationName ? ops.find((o) => o.name?.value === operationName) : ops[0];
    return {
      document,
      operationName: op?.name?.value,
      mutation: op?.operation === 'mutation',
      fields:
        op?.selectionSet.selections.flatMap((s) => (s.kind === 'Field' ? [s.name.value] : [])) ??
        [],
    };
  } catch {
    return { document: undefined, operationName, mutation: false, fields: [] };
  }
}

function formatError(error: GraphQLErrorType) {
  const type = error.extensions?.type as string | undefined;
  const out: Record<string, unknown> = {};
  if (type) out.type = type;
  if (error.path) out.path = error.path;
  if (error.locations) out.locations = error.locations;
  out.message = error.message;
  if (!type && error.extensions && Object.keys(error.extensions).length)
    out.extensions = error.extensions;
  return out;
}

export async function runGraphQL(
  ctx: Ctx,
  request: { query?: unknown; variables?: unknown; operationName?: unknown },
): Promise<GraphQLOutcome> {
  const source = typeof request.query === 'string' ? request.query : '';
  const wanted = typeof request.operationName === 'string' ? request.operationName : undefined;
  const info = describe(source, wanted);
  const base = { operationName: info.operationName, mutation: info.mutation, fields: info.fields };
  if (!source) {
    return {
      ...base,
      body: { errors: [{ message: 'A query attribute must be specified and must be a string.' }] },
    };
  }
  let document: DocumentNode;
  try {
    document = info.document ?? parse(source);
  } catch (error) {
    return {
      ...base,
      body: { errors: [formatError(error as GraphQLErrorType)] },
      invalid: (error as Error).message,
    };
  }
  const schemaNow = ctx.state.withoutCreateCommitOnBranch
    ? schemaWithoutCreateCommitOnBranch()
    : githubSchema();
  const errors = validate(schemaNow, document);
  if (errors.length) {
    return {
      ...base,
      body: { errors: errors.map(formatError) },
      invalid: errors.map((e) => e.message).join('; '),
    };
  }
  const { query, mutation } = root(ctx);
  const result = await execute({
    schema: schemaNow,
    document,
    rootValue: info.mutation ? mutation : query,
    contextValue: ctx,
    variableValues: (request.variables ?? undefined) as Record<string, unknown> | undefined,
    operationName: wanted,
  });
  const body: GraphQLOutcome['body'] = {};
  if (result.data !== undefined) body.data = result.data;
  if (result.errors?.length) body.errors = result.errors.map(formatError);
  // Errors GitHub itself would send carry a `type`; variable coercion errors are the caller's.
  const untyped = (result.errors ?? []).filter((e) => !e.extensions?.type);
  const callers = untyped.filter((e) => !e.path);
  const bugs = untyped.filter((e) => e.path);
  const outcome: GraphQLOutcome = { ...base, body };
  if (callers.length) outcome.invalid = callers.map((e) => e.message).join('; ');
  if (bugs.length) outcome.bug = bugs.map((e) => e.originalError?.stack ?? e.message).join('\n');
  return outcome;
}
