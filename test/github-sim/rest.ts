// The REST operations the product's GitHost uses (the fallback where GraphQL is not there), each
// checked against GitHub's OpenAPI description on the way in and on the way out.
import type { IncomingHttpHeaders } from 'node:http';
import { type PathChange, ZERO_OID } from './git.js';
import { type Operation, operation } from './openapi.js';
import * as shapes from './shapes.js';
import {
  type GitHubState,
  levelOf,
  type RepoRecord,
  ruleFor,
  StateError,
  type TokenGrant,
} from './state.js';

export interface Reply {
  status: number;
  body?: unknown;
  raw?: Buffer;
  contentType?: string;
  headers?: Record<string, string>;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
    readonly headers: Record<string, string> = {},
  ) {
    super(String(body.message));
  }
}

interface Ctx {
  state: GitHubState;
  urls: shapes.Urls;
  grant: TokenGrant;
  params: Record<string, string>;
  query: URLSearchParams;
  // biome-ignore lint/suspicious/noExplicitAny: the body was validated against the operation's schema
  body: any;
  headers: IncomingHttpHeaders;
  op: Operation;
}

type Handler = (ctx: Ctx) => Promise<Reply>;

interface Route {
  method: string;
  template: string;
  write: boolean;
  handler: Handler;
  op?: Operation;
}

const routes: Route[] = [];
function route(method: string, template: string, handler: Handler): void {
  routes.push({ method, template, write: method !== 'GET', handler });
}

export function findRoute(
  method: string,
  path: string,
): { route: Route; op: Operation; params: Record<string, string> } | undefined {
  for (const r of routes) {
    if (r.method !== method) continue;
    r.op ??= operation(r.method, r.template);
    const params = r.op.match(path);
    if (params) return { route: r, op: r.op, params };
  }
  return undefined;
}

export function fail(
  ctx: { op: Operation },
  status: number,
  message: string,
  extra = {},
  headers: Record<string, string> = {},
): never {
  throw new HttpError(
    status,
    { message, ...extra, documentation_url: ctx.op.documentationUrl, status: String(status) },
    headers,
  );
}

/**
 * The GitHub App permissions an operation accepts, as GitHub names them in the
 * `x-accepted-github-permissions` header of a 403 (alternatives separated by `; `).
 */
export function acceptedPermissions(template: string, write: boolean): string {
  const level = write ? 'write' : 'read';
  if (template.includes('/issues/')) return `issues=${level}; pull_requests=${level}`;
  if (template.includes('/pulls')) return `pull_requests=${level}`;
  return `contents=${level}`;
}

function validationFailed(ctx: Ctx, errors: Record<string, unknown>[]): never {
  fail(ctx, 422, 'Validation Failed', { errors });
}

/** Whether the token may write where this route writes (its fine-grained permission, if any). */
function mayWrite(ctx: Ctx): boolean {
  const t = ctx.op.template;
  if (t.includes('/issues/'))
    return (
      levelOf(ctx.grant, 'issues') === 'write' || levelOf(ctx.grant, 'pull_requests') === 'write'
    );
  if (t.includes('/pulls')) return levelOf(ctx.grant, 'pull_requests') === 'write';
  return levelOf(ctx.grant, 'contents') === 'write';
}

/** The repository of the path, if this token may see it; a write also needs write access. */
function repoOf(ctx: Ctx, write: boolean): RepoRecord {
  const repo = ctx.state.visibleRepo(`${ctx.params.owner}/${ctx.params.repo}`, ctx.grant);
  if (!repo) fail(ctx, 404, 'Not Found');
  if (write && !mayWrite(ctx))
    fail(
      ctx,
      403,
      'Resource not accessible by integration',
      {},
      { 'x-accepted-github-permissions': acceptedPermissions(ctx.op.template, true) },
    );
  return repo;
}

const lookup = (state: GitHubState, repo: RepoRecord) => ({
  user: (login: string) => state.user(login),
  team: (slug: string) => state.team(slug, repo.meta.owner),
  label: (name: string) => state.label(repo, name)!,
  milestone: (number: number) => repo.milestones?.get(number),
});

function repoBody(ctx: Ctx, repo: RepoRecord) {
  return shapes.repository(ctx.urls, repo.meta, ctx.state.user(repo.meta.owner), repo.pushedAt);
}

async function pullBody(ctx: Ctx, repo: RepoRecord, number: number) {
  const pr = ctx.state.findPull(repo, number);
  if (!pr) fail(ctx, 404, 'Not Found');
  const fork = pr.headRepo ? ctx.state.repos.get(pr.headRepo.toLowerCase()) : undefined;
  const head = (await (fork ?? repo).git.resolveRef(`refs/heads/${pr.head}`)) ?? ZERO_OID;
  const base = (await repo.git.resolveRef(`refs/heads/${pr.base}`)) ?? ZERO_OID;
  let stats = { commits: 0, additions: 0, deletions: 0, changedFiles: 0 };
  if (head !== ZERO_OID && base !== ZERO_OID && !fork) {
    const mergeBase = (await repo.git.mergeBase(base, head)) ?? base;
    const files = await repo.git.diffNameStatus(mergeBase, head);
    stats = {
      commits: await repo.git.countBetween(mergeBase, head),
      additions: files.reduce((n, f) => n + f.additions, 0),
      deletions: files.reduce((n, f) => n + f.deletions, 0),
      changedFiles: files.length,
    };
  }
  return shapes.pullRequest(
    ctx.urls,
    repo.meta,
    repoBody(ctx, repo),
    pr,
    { head, base },
    lookup(ctx.state, repo),
    stats,
    fork ? { meta: fork.meta, body: repoBody(ctx, fork) } : undefined,
  );
}

/**
 * Right after a pull request is created, label and assignee calls may not resolve it yet: 422
 * "Validation Failed" with GitHub's node error (peter-evans/create-pull-request#4321).
 */
function refuseUnresolved(
  ctx: Ctx,
  repo: RepoRecord,
  pr: { number: number; unresolvedFor?: number },
  resource: string,
) {
  if (!pr.unresolvedFor) return;
  pr.unresolvedFor--;
  validationFailed(ctx, [
    {
      resource,
      code: 'unprocessable',
      field: 'data',
      message: `Could not resolve to a node with the global id of '${shapes.nodeId('PR', `${repo.meta.fullName}\n${pr.number}`)}'.`,
    },
  ]);
}

// --- repositories and contents ---

route('GET', '/repos/{owner}/{repo}', async (ctx) => {
  const repo = repoOf(ctx, false);
  const write = ctx.grant.permission === 'write';
  return {
    status: 200,
    body: {
      ...repoBody(ctx, repo),
      allow_auto_merge: repo.autoMerge !== 'disallowed',
      allow_merge_commit: repo.mergeMethods.includes('merge'),
      allow_squash_merge: repo.mergeMethods.includes('squash'),
      allow_rebase_merge: repo.mergeMethods.includes('rebase'),
      allow_update_branch: false,
      use_squash_pr_title_as_default: false,
      temp_clone_token: '',
      organization: shapes.simpleUser(ctx.urls, ctx.state.user(repo.meta.owner)),
      permissions: { admin: false, maintain: write, push: write, triage: write, pull: true },
    },
  };
});

route('GET', '/repos/{owner}/{repo}/contents/{path}', async (ctx) => {
  const repo = repoOf(ctx, false);
  const ref = ctx.query.get('ref') ?? repo.meta.defaultBranch;
  const commit = await repo.git.resolveCommitish(ref);
  if (!commit) fail(ctx, 404, `No commit found for the ref ${ref}`);
  const path = ctx.params.path!.replace(/^\/+|\/+$/g, '');
  const entry = await repo.git.entryAt(commit, path);
  if (!entry) fail(ctx, 404, 'Not Found');
  const accept = String(ctx.headers.accept ?? '');
  if (entry.type === 'blob') {
    const bytes = await repo.git.readBlob(entry.oid);
    if (/vnd\.github(\.v3)?\.raw/.test(accept)) {
      return { status: 200, raw: bytes, contentType: 'application/vnd.github.raw; charset=utf-8' };
    }
    const base = shapes.contentEntry(ctx.urls, repo.meta, ref, {
      path,
      type: 'file',
      oid: entry.oid,
      size: bytes.length,
    });
    // Over 1 MB GitHub leaves the JSON content empty (encoding "none"): only raw has the bytes.
    if (bytes.length > 1024 * 1024) {
      return { status: 200, body: { ...base, content: '', encoding: 'none' } };
    }
    // GitHub wraps the base64 text at 60 characters.
    const content = (bytes.toString('base64').match(/.{1,60}/g) ?? []).join('\n');
    return {
      status: 200,
      body: { ...base, content: content ? `${content}\n` : '', encoding: 'base64' },
    };
  }
  if (entry.type !== 'tree') fail(ctx, 404, 'Not Found');
  const entries = await repo.git.lsTree(entry.oid);
  const body = [];
  for (const e of entries) {
    const full = path ? `${path}/${e.name}` : e.name;
    const type =
      e.type === 'tree'
        ? 'dir'
        : e.type === 'commit'
          ? 'submodule'
          : e.mode === '120000'
            ? 'symlink'
            : 'file';
    const size = e.type === 'blob' ? await repo.git.blobSize(e.oid) : 0;
    body.push(
      shapes.contentEntry(ctx.urls, repo.meta, ref, { path: full, type, oid: e.oid, size }),
    );
  }
  return { status: 200, body };
});

// --- git data ---

route('GET', '/repos/{owner}/{repo}/git/ref/{ref}', async (ctx) => {
  const repo = repoOf(ctx, false);
  const name = `refs/${ctx.params.ref}`;
  const oid = await repo.git.resolveRef(name);
  if (!oid) fail(ctx, 404, 'Not Found');
  return { status: 200, body: shapes.gitRef(ctx.urls, repo.meta, name, oid) };
});

route('GET', '/repos/{owner}/{repo}/git/trees/{tree_sha}', async (ctx) => {
  const repo = repoOf(ctx, false);
  const sha = ctx.params.tree_sha!;
  let tree: string | undefined;
  if ((await repo.git.objectType(sha)) === 'tree') tree = sha;
  else {
    const commit = await repo.git.resolveCommitish(sha);
    if (commit) tree = (await repo.git.readCommit(commit)).tree;
  }
  if (!tree) fail(ctx, 404, 'Not Found');
  const r = `${ctx.urls.api}/repos/${repo.meta.fullName}`;
  const recursive = ctx.query.has('recursive');
  const entries = recursive
    ? await repo.git.lsTreeRecursive(tree)
    : (await repo.git.lsTree(tree)).map((e) => ({ ...e, path: e.name, size: undefined }));
  const items = [];
  // Past GitHub's limit a recursive tree lists what fits and says truncated: true.
  const truncated = recursive && entries.length > ctx.state.treeLimit;
  for (const e of truncated ? entries.slice(0, ctx.state.treeLimit) : entries) {
    const size = e.type === 'blob' ? (e.size ?? (await repo.git.blobSize(e.oid))) : undefined;
    items.push({
      path: e.path,
      mode: e.mode,
      type: e.type,
      sha: e.oid,
      ...(size === undefined ? {} : { size }),
      url: `${r}/git/${e.type === 'tree' ? 'trees' : 'blobs'}/${e.oid}`,
    });
  }
  return {
    status: 200,
    body: { sha: tree, url: `${r}/git/trees/${tree}`, tree: items, truncated },
  };
});

route('GET', '/repos/{owner}/{repo}/git/blobs/{file_sha}', async (ctx) => {
  const repo = repoOf(ctx, false);
  const sha = ctx.params.file_sha!;
  if ((await repo.git.objectType(sha)) !== 'blob') fail(ctx, 404, 'Not Found');
  const bytes = await repo.git.readBlob(sha);
  if (/vnd\.github(\.v3)?\.raw/.test(String(ctx.headers.accept ?? ''))) {
    return { status: 200, raw: bytes, contentType: 'application/vnd.github.raw; charset=utf-8' };
  }
  return {
    status: 200,
    body: {
      sha,
      node_id: shapes.nodeId('C', `${repo.meta.fullName}\n${sha}`),
      url: `${ctx.urls.api}/repos/${repo.meta.fullName}/git/blobs/${sha}`,
      size: bytes.length,
      content: `${(bytes.toString('base64').match(/.{1,60}/g) ?? []).join('\n')}\n`,
      encoding: 'base64',
    },
  };
});

route('POST', '/repos/{owner}/{repo}/git/blobs', async (ctx) => {
  const repo = repoOf(ctx, true);
  const { content, encoding = 'utf-8' } = ctx.body as { content: string; encoding?: string };
  const sha = await repo.git.writeBlob(
    Buffer.from(content, encoding === 'base64' ? 'base64' : 'utf8'),
  );
  return {
    status: 201,
    body: { sha, url: `${ctx.urls.api}/repos/${repo.meta.fullName}/git/blobs/${sha}` },
  };
});

route('GET', '/repos/{owner}/{repo}/git/commits/{commit_sha}', async (ctx) => {
  const repo = repoOf(ctx, false);
  const sha = ctx.params.commit_sha!;
  if ((await repo.git.objectType(sha)) !== 'commit') fail(ctx, 404, 'Not Found');
  const c = await repo.git.readCommit(sha);
  return { status: 200, body: shapes.gitCommit(ctx.urls, repo.meta, c, repo.signed.has(sha)) };
});

route('POST', '/repos/{owner}/{repo}/git/trees', async (ctx) => {
  const repo = repoOf(ctx, true);
  const base: string | undefined = ctx.body.base_tree;
  if (base !== undefined && (await repo.git.objectType(base)) !== 'tree') {
    fail(ctx, 422, 'Invalid tree info', { errors: ['base_tree is not a valid tree oid'] });
  }
  const changes = new Map<string, PathChange>();
  for (const item of ctx.body.tree as {
    path?: string;
    mode?: string;
    type?: 'blob' | 'tree' | 'commit';
    sha?: string | null;
    content?: string;
  }[]) {
    if (!item.path) fail(ctx, 422, 'Invalid tree info', { errors: ['tree.path is missing'] });
    if (item.content !== undefined) {
      changes.set(item.path, { content: Buffer.from(item.content, 'utf8'), mode: item.mode });
    } else if (item.sha === null) {
      changes.set(item.path, null);
    } else if (item.sha) {
      const type = await repo.git.objectType(item.sha);
      if (!type)
        fail(ctx, 422, 'Invalid tree info', {
          errors: [`tree.sha ${item.sha} is not a valid ${item.type ?? 'blob'}`],
        });
      changes.set(item.path, { oid: item.sha, mode: item.mode, type: item.type });
    } else {
      fail(ctx, 422, 'Invalid tree info', {
        errors: ['Must supply either tree.sha or tree.content'],
      });
    }
  }
  const tree = await repo.git.writeTree(base, changes);
  const r = `${ctx.urls.api}/repos/${repo.meta.fullName}`;
  const items = (await repo.git.lsTree(tree)).map((e) => ({
    path: e.name,
    mode: e.mode,
    type: e.type,
    sha: e.oid,
    url: `${r}/git/${e.type === 'tree' ? 'trees' : 'blobs'}/${e.oid}`,
  }));
  return {
    status: 201,
    body: { sha: tree, url: `${r}/git/trees/${tree}`, tree: items, truncated: false },
  };
});

route('POST', '/repos/{owner}/{repo}/git/commits', async (ctx) => {
  const repo = repoOf(ctx, true);
  const {
    message,
    tree,
    parents = [],
    author,
    committer,
  } = ctx.body as {
    message: string;
    tree: string;
    parents?: string[];
    author?: { name: string; email: string; date?: string };
    committer?: { name: string; email: string; date?: string };
  };
  if ((await repo.git.objectType(tree)) !== 'tree') fail(ctx, 422, 'Tree SHA does not exist');
  for (const p of parents) {
    if ((await repo.git.objectType(p)) !== 'commit')
      fail(ctx, 422, 'Parent SHA does not exist or is not a commit object');
  }
  const who = ctx.state.identity(ctx.grant.login);
  const asDate = (d?: string) => (d ? Math.floor(Date.parse(d) / 1000) : undefined);
  const a = author ? { name: author.name, email: author.email, date: asDate(author.date) } : who;
  const c = committer
    ? { name: committer.name, email: committer.email, date: asDate(committer.date) }
    : author
      ? a
      : who;
  const oid = await repo.git.commitTree(tree, parents, message, a, c);
  // GitHub signs commits it makes for an app or Actions token when no other identity is given.
  const signed = !author && !committer;
  if (signed) repo.signed.add(oid);
  const info = await repo.git.readCommit(oid);
  return { status: 201, body: shapes.gitCommit(ctx.urls, repo.meta, info, signed) };
});

route('POST', '/repos/{owner}/{repo}/git/refs', async (ctx) => {
  const repo = repoOf(ctx, true);
  const { ref, sha } = ctx.body as { ref: string; sha: string };
  if (!/^refs\/[^/]+\/.+/.test(ref) || ref.includes('..') || /[\s~^:?*[\\]/.test(ref)) {
    fail(ctx, 422, `${ref} is not a valid ref name.`);
  }
  if ((await repo.git.objectType(sha)) !== 'commit') fail(ctx, 422, 'Object does not exist');
  // A ruleset restricting creations answers REST's bare "Reference update failed"
  // (release-plz/action#518, github/rest-api-description#4887): not a race, though it is a 422.
  if (ref.startsWith('refs/heads/') && ruleFor(repo, ref, 'creation'))
    fail(ctx, 422, 'Reference update failed');
  if (!(await repo.git.compareAndSwapRef(ref, sha, ZERO_OID)))
    fail(ctx, 422, 'Reference already exists');
  repo.pushedAt = shapes.timestamp();
  return { status: 201, body: shapes.gitRef(ctx.urls, repo.meta, ref, sha) };
});

route('PATCH', '/repos/{owner}/{repo}/git/refs/{ref}', async (ctx) => {
  const repo = repoOf(ctx, true);
  const name = `refs/${ctx.params.ref}`;
  const { sha, force = false } = ctx.body as { sha: string; force?: boolean };
  if ((await repo.git.objectType(sha)) !== 'commit') fail(ctx, 422, 'Object does not exist');
  // Changes must go through a pull request (satisfactory-factories/application#67, on this call).
  if (ruleFor(repo, name, 'requirePullRequest'))
    fail(
      ctx,
      422,
      'Repository rule violations found\n\nChanges must be made through a pull request.\n\n',
    );
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = await repo.git.resolveRef(name);
    if (!current) fail(ctx, 422, 'Reference does not exist');
    if (!force && !(await repo.git.isAncestor(current, sha)))
      fail(ctx, 422, 'Update is not a fast forward');
    if (await repo.git.compareAndSwapRef(name, sha, current)) {
      repo.pushedAt = shapes.timestamp();
      return { status: 200, body: shapes.gitRef(ctx.urls, repo.meta, name, sha) };
    }
  }
  fail(ctx, 422, 'Reference cannot be updated');
});

route('DELETE', '/repos/{owner}/{repo}/git/refs/{ref}', async (ctx) => {
  const repo = repoOf(ctx, true);
  const name = `refs/${ctx.params.ref}`;
  const current = await repo.git.resolveRef(name);
  if (!current || !(await repo.git.deleteRef(name, current)))
    fail(ctx, 422, 'Reference does not exist');
  return { status: 204 };
});

// --- pull requests ---

route('GET', '/repos/{owner}/{repo}/pulls', async (ctx) => {
  const repo = repoOf(ctx, false);
  const state = ctx.query.get('state') ?? 'open';
  const head = ctx.query.get('head');
  const base = ctx.query.get('base');
  const direction = ctx.query.get('direction') ?? 'desc';
  const perPage = Number(ctx.query.get('per_page') ?? 30);
  const page = Number(ctx.query.get('page') ?? 1);
  let list = repo.pulls.filter((p) => state === 'all' || p.state === state);
  if (head) {
    const [owner, branch] = head.includes(':') ? head.split(':', 2) : [repo.meta.owner, head];
    const headOwner = (p: (typeof list)[number]) =>
      (p.headRepo ?? repo.meta.fullName).split('/')[0]!.toLowerCase();
    list = list.filter((p) => p.head === branch && headOwner(p) === owner?.toLowerCase());
  }
  if (base) list = list.filter((p) => p.base === base);
  list = [...list].sort((a, b) =>
    direction === 'asc' ? a.number - b.number : b.number - a.number,
  );
  const slice = list.slice((page - 1) * perPage, page * perPage);
  const body = [];
  for (const p of slice) {
    const full = await pullBody(ctx, repo, p.number);
    body.push(simple(full));
  }
  // Pagination as GitHub announces it, so octokit.paginate walks every page.
  const last = Math.max(1, Math.ceil(list.length / perPage));
  const pageUrl = (n: number) => {
    const q = new URLSearchParams(ctx.query);
    q.set('page', String(n));
    return `<${ctx.urls.api}/repos/${repo.meta.fullName}/pulls?${q}>`;
  };
  const links: string[] = [];
  if (page < last) links.push(`${pageUrl(page + 1)}; rel="next"`, `${pageUrl(last)}; rel="last"`);
  if (page > 1) links.push(`${pageUrl(1)}; rel="first"`, `${pageUrl(page - 1)}; rel="prev"`);
  const headers: Record<string, string> = {};
  if (links.length) headers.link = links.join(', ');
  return { status: 200, body, headers };
});

/** pull-request-simple: the list shape, without the counters of the single-PR shape. */
function simple(full: Awaited<ReturnType<typeof pullBody>>) {
  const {
    merged: _m,
    mergeable: _a,
    rebaseable: _r,
    mergeable_state: _s,
    merged_by: _b,
    comments: _c,
    review_comments: _rc,
    maintainer_can_modify: _mcm,
    commits: _co,
    additions: _ad,
    deletions: _de,
    changed_files: _cf,
    ...rest
  } = full;
  return rest;
}

route('GET', '/repos/{owner}/{repo}/pulls/{pull_number}', async (ctx) => {
  const repo = repoOf(ctx, false);
  return { status: 200, body: await pullBody(ctx, repo, Number(ctx.params.pull_number)) };
});

route('POST', '/repos/{owner}/{repo}/pulls', async (ctx) => {
  const repo = repoOf(ctx, true);
  const {
    title,
    head,
    base,
    body = null,
    draft = false,
    maintainer_can_modify,
  } = ctx.body as {
    title?: string;
    head: string;
    base: string;
    body?: string;
    draft?: boolean;
    maintainer_can_modify?: boolean;
  };
  if (!title)
    validationFailed(ctx, [{ resource: 'PullRequest', code: 'missing_field', field: 'title' }]);
  if (ctx.grant.actions && !repo.actionsCanOpenPullRequests)
    fail(ctx, 403, 'GitHub Actions is not permitted to create or approve pull requests.');
  // fledge#260: HTTP 422 "Draft pull requests are not supported in this repository."
  if (draft && !repo.drafts)
    fail(ctx, 422, 'Draft pull requests are not supported in this repository.');
  let branch = head;
  if (head.includes(':')) {
    const [owner, name] = head.split(':', 2);
    if (owner!.toLowerCase() !== repo.meta.owner.toLowerCase())
      validationFailed(ctx, [{ resource: 'PullRequest', field: 'head', code: 'invalid' }]);
    branch = name!;
  }
  if (!(await repo.git.resolveRef(`refs/heads/${branch}`)))
    validationFailed(ctx, [{ resource: 'PullRequest', field: 'head', code: 'invalid' }]);
  if (!(await repo.git.resolveRef(`refs/heads/${base}`)))
    validationFailed(ctx, [{ resource: 'PullRequest', field: 'base', code: 'invalid' }]);
  let pr: ReturnType<GitHubState['newPull']>;
  try {
    await ctx.state.checkNewPull(repo, branch, base);
    pr = ctx.state.newPull(repo, { title, body, head: branch, base, draft, user: ctx.grant.login });
  } catch (error) {
    if (error instanceof StateError)
      validationFailed(ctx, [{ resource: 'PullRequest', code: 'custom', message: error.message }]);
    throw error;
  }
  if (maintainer_can_modify !== undefined) pr.maintainerCanModify = maintainer_can_modify;
  return { status: 201, body: await pullBody(ctx, repo, pr.number) };
});

route('PATCH', '/repos/{owner}/{repo}/pulls/{pull_number}', async (ctx) => {
  const repo = repoOf(ctx, true);
  const pr = ctx.state.findPull(repo, Number(ctx.params.pull_number));
  if (!pr) fail(ctx, 404, 'Not Found');
  const { title, body, state, base } = ctx.body as {
    title?: string;
    body?: string;
    state?: 'open' | 'closed';
    base?: string;
  };
  if (base !== undefined) {
    if (!(await repo.git.resolveRef(`refs/heads/${base}`)))
      validationFailed(ctx, [{ resource: 'PullRequest', field: 'base', code: 'invalid' }]);
    pr.base = base;
  }
  if (title !== undefined) pr.title = title;
  if (body !== undefined) pr.body = body;
  if (state === 'closed' && pr.state === 'open') {
    pr.state = 'closed';
    pr.closedAt = shapes.timestamp();
  } else if (state === 'open' && pr.state === 'closed') {
    try {
      ctx.state.reopenPull(repo, pr);
    } catch (error) {
      if (error instanceof StateError)
        validationFailed(ctx, [
          { resource: 'PullRequest', code: 'custom', message: error.message },
        ]);
      throw error;
    }
  }
  pr.updatedAt = shapes.timestamp();
  return { status: 200, body: await pullBody(ctx, repo, pr.number) };
});

route('POST', '/repos/{owner}/{repo}/issues/{issue_number}/comments', async (ctx) => {
  const repo = repoOf(ctx, true);
  const number = Number(ctx.params.issue_number);
  const pr = ctx.state.findPull(repo, number);
  if (!pr) fail(ctx, 404, 'Not Found');
  const comment = ctx.state.addComment(pr, ctx.body.body, ctx.grant.login);
  return {
    status: 201,
    body: shapes.issueComment(
      ctx.urls,
      repo.meta,
      number,
      comment,
      ctx.state.user(ctx.grant.login),
    ),
  };
});

// Update an issue (a pull request is one): only the milestone is simulated. An unknown milestone
// is GitHub's 422 "Validation Failed" with field "milestone", code "invalid"
// (https://docs.github.com/rest/issues/issues#update-an-issue).
route('PATCH', '/repos/{owner}/{repo}/issues/{issue_number}', async (ctx) => {
  const repo = repoOf(ctx, true);
  const pr = ctx.state.findPull(repo, Number(ctx.params.issue_number));
  if (!pr) fail(ctx, 404, 'Not Found');
  if ('milestone' in ctx.body) {
    const given = ctx.body.milestone as number | string | null;
    if (given !== null && !repo.milestones?.has(Number(given)))
      validationFailed(ctx, [
        { value: given, resource: 'Issue', field: 'milestone', code: 'invalid' },
      ]);
    pr.milestone = given === null ? null : Number(given);
  }
  pr.updatedAt = shapes.timestamp();
  return {
    status: 200,
    body: shapes.issueFromPull(ctx.urls, repo.meta, pr, lookup(ctx.state, repo)),
  };
});

route('POST', '/repos/{owner}/{repo}/issues/{issue_number}/labels', async (ctx) => {
  const repo = repoOf(ctx, true);
  const pr = ctx.state.findPull(repo, Number(ctx.params.issue_number));
  if (!pr) fail(ctx, 404, 'Not Found');
  refuseUnresolved(ctx, repo, pr, 'Label');
  const raw = Array.isArray(ctx.body) ? ctx.body : ctx.body.labels;
  const names: string[] = (raw as (string | { name: string })[]).map((l) =>
    typeof l === 'string' ? l : l.name,
  );
  for (const name of names) {
    const l = ctx.state.label(repo, name)!;
    if (!pr.labels.some((n) => n.toLowerCase() === l.name.toLowerCase())) pr.labels.push(l.name);
  }
  pr.updatedAt = shapes.timestamp();
  return {
    status: 200,
    body: pr.labels.map((n) => shapes.label(ctx.urls, repo.meta, ctx.state.label(repo, n)!)),
  };
});

route('POST', '/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers', async (ctx) => {
  const repo = repoOf(ctx, true);
  const pr = ctx.state.findPull(repo, Number(ctx.params.pull_number));
  if (!pr) fail(ctx, 404, 'Not Found');
  const { reviewers = [], team_reviewers = [] } = ctx.body as {
    reviewers?: string[];
    team_reviewers?: string[];
  };
  refuseUnresolved(ctx, repo, pr, 'PullRequest');
  if (reviewers.some((r) => r.toLowerCase() === pr.user.toLowerCase())) {
    fail(ctx, 422, 'Review cannot be requested from pull request author.');
  }
  // peter-evans/create-pull-request#4138: every reviewer must be a collaborator, every team
  // must have access; one that is not refuses the whole request.
  if (
    reviewers.some((r) => !ctx.state.isCollaborator(repo, r)) ||
    team_reviewers.some((t) => !repo.teams.has(t.toLowerCase()))
  ) {
    fail(
      ctx,
      422,
      `Reviews may only be requested from collaborators. One or more of the users or teams you specified is not a collaborator of the ${repo.meta.fullName} repository.`,
    );
  }
  for (const r of reviewers)
    if (!pr.reviewers.includes(r)) pr.reviewers.push(ctx.state.user(r).login);
  for (const t of team_reviewers)
    if (!pr.teamReviewers.includes(t))
      pr.teamReviewers.push(ctx.state.team(t, repo.meta.owner).slug);
  pr.updatedAt = shapes.timestamp();
  return { status: 201, body: simple(await pullBody(ctx, repo, pr.number)) };
});

route('POST', '/repos/{owner}/{repo}/issues/{issue_number}/assignees', async (ctx) => {
  const repo = repoOf(ctx, true);
  const pr = ctx.state.findPull(repo, Number(ctx.params.issue_number));
  if (!pr) fail(ctx, 404, 'Not Found');
  refuseUnresolved(ctx, repo, pr, 'Issue');
  const list = ((ctx.body.assignees ?? []) as (string | { login: string })[]).map((a) =>
    typeof a === 'string' ? a : a.login,
  );
  // Logins that cannot be assigned are left out without an error; the answer shows who was
  // (docs.github.com/rest/issues/assignees, "Check if a user can be assigned").
  for (const a of list)
    if (!pr.assignees.includes(a) && ctx.state.isCollaborator(repo, a))
      pr.assignees.push(ctx.state.user(a).login);
  pr.updatedAt = shapes.timestamp();
  return {
    status: 201,
    body: shapes.issueFromPull(ctx.urls, repo.meta, pr, lookup(ctx.state, repo)),
  };
});

// --- compare, rate limit, user ---

route('GET', '/repos/{owner}/{repo}/compare/{basehead}', async (ctx) => {
  const repo = repoOf(ctx, false);
  const spec = ctx.params.basehead!;
  const split = spec.indexOf('...');
  if (split === -1) fail(ctx, 404, 'Not Found');
  const baseName = spec.slice(0, split);
  const headName = spec.slice(split + 3);
  const base = await repo.git.resolveCommitish(baseName);
  const head = await repo.git.resolveCommitish(headName);
  if (!base || !head) fail(ctx, 404, `No common ancestor between ${baseName} and ${headName}.`);
  const mergeBase = await repo.git.mergeBase(base, head);
  if (!mergeBase) fail(ctx, 404, `No common ancestor between ${baseName} and ${headName}.`);
  const ahead = await repo.git.countBetween(mergeBase, head);
  const behind = await repo.git.countBetween(mergeBase, base);
  const status =
    ahead === 0 && behind === 0
      ? 'identical'
      : behind === 0
        ? 'ahead'
        : ahead === 0
          ? 'behind'
          : 'diverged';
  const perPage = Number(ctx.query.get('per_page') ?? 250);
  const page = Number(ctx.query.get('page') ?? 1);
  const oids = (await repo.git.commitsBetween(mergeBase, head)).slice(
    (page - 1) * perPage,
    page * perPage,
  );
  const toCommit = async (oid: string) => {
    const c = await repo.git.readCommit(oid);
    const userOf = (email: string) => {
      const m = /^\d+\+(.+)@users\.noreply\.github\.com$/.exec(email);
      return m ? ctx.state.user(m[1]!) : undefined;
    };
    return shapes.commit(ctx.urls, repo.meta, c, repo.signed.has(oid), {
      author: userOf(c.author.email),
      committer: userOf(c.committer.email),
    });
  };
  const commits = [];
  for (const oid of oids) commits.push(await toCommit(oid));
  const r = `${ctx.urls.api}/repos/${repo.meta.fullName}`;
  const web = `${ctx.urls.web}/${repo.meta.fullName}`;
  const files = (await repo.git.diffNameStatus(mergeBase, head)).map((f) => ({
    sha: null,
    filename: f.path,
    status: f.status === 'A' ? 'added' : f.status === 'D' ? 'removed' : 'modified',
    additions: f.additions,
    deletions: f.deletions,
    changes: f.additions + f.deletions,
    blob_url: `${web}/blob/${head}/${f.path}`,
    raw_url: `${web}/raw/${head}/${f.path}`,
    contents_url: `${r}/contents/${f.path}?ref=${head}`,
  }));
  return {
    status: 200,
    body: {
      url: `${r}/compare/${spec}`,
      html_url: `${web}/compare/${spec}`,
      permalink_url: `${web}/compare/${repo.meta.owner}:${base}...${repo.meta.owner}:${head}`,
      diff_url: `${web}/compare/${spec}.diff`,
      patch_url: `${web}/compare/${spec}.patch`,
      base_commit: await toCommit(base),
      merge_base_commit: await toCommit(mergeBase),
      status,
      ahead_by: ahead,
      behind_by: behind,
      total_commits: ahead,
      commits,
      files,
    },
  };
});

route('GET', '/rate_limit', async (_ctx) => {
  const reset = Math.floor(Date.now() / 1000) + 3600;
  const limit = { limit: 5000, used: 0, remaining: 5000, reset };
  return {
    status: 200,
    body: {
      resources: { core: limit, graphql: limit, search: { ...limit, limit: 30, remaining: 30 } },
      rate: limit,
    },
  };
});

route('GET', '/user', async (ctx) => {
  const user = ctx.state.user(ctx.grant.login);
  const now = shapes.timestamp();
  return {
    status: 200,
    body: {
      ...shapes.simpleUser(ctx.urls, user),
      name: null,
      company: null,
      blog: '',
      location: null,
      email: null,
      hireable: null,
      bio: null,
      public_repos: 0,
      public_gists: 0,
      followers: 0,
      following: 0,
      created_at: now,
      updated_at: now,
    },
  };
});

export function isWrite(method: string): boolean {
  return method !== 'GET' && method !== 'HEAD';
}
