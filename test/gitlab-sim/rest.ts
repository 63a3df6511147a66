// The REST routes (/api/v4) the GitLab host calls, with GitLab's answers and refusals. Each
// route cites the page of https://docs.gitlab.com/api/ it follows; refusals cite the source.
import type { BranchSchema, RepositoryCompareSchema } from '@gitbeaker/core';
import {
  type CreateCommitBody,
  GitLabRefusal,
  type GitLabState,
  type MergeRequestState,
  type Project,
  type TokenGrant,
} from './state.js';

export interface RestRequest {
  method: string;
  /** Path below /api/v4, still URL-encoded (project ids are `group%2Fproject`). */
  path: string;
  query: URLSearchParams;
  body: Record<string, unknown>;
  /** The token's grant; undefined when the request carries none GitLab accepts here. */
  grant: TokenGrant | undefined;
}

export interface RestReply {
  status: number;
  body: unknown;
}

type Handler = (state: GitLabState, req: RestRequest, params: string[]) => Promise<RestReply>;

const routes: { method: string; pattern: RegExp; handler: Handler; write: boolean }[] = [];

function route(method: string, pattern: RegExp, handler: Handler): void {
  routes.push({ method, pattern, handler, write: method !== 'GET' });
}

// lib/api/helpers.rb: not_found!('Project') → {"message":"404 Project Not Found"}; a private
// project is "not found" to anyone who may not read it, token or not.
function projectOf(state: GitLabState, req: RestRequest, id: string): Project {
  const project = state.find(decodeURIComponent(id));
  if (!project || !req.grant || !state.canRead(req.grant)) {
    throw new GitLabRefusal(404, { message: '404 Project Not Found' });
  }
  return project;
}

/** Writes need the api scope (lib/gitlab/auth/auth_finders.rb: InsufficientScopeError). */
function needApi(req: RestRequest): TokenGrant {
  const grant = req.grant!;
  if (!grant.scopes.includes('api')) {
    throw new GitLabRefusal(403, {
      error: 'insufficient_scope',
      error_description:
        'The request requires higher privileges than provided by the access token.',
      scope: 'api',
    });
  }
  return grant;
}

function mrOf(project: Project, iid: string): MergeRequestState {
  const mr = project.mergeRequests.find((m) => m.iid === Number(iid));
  if (!mr) throw new GitLabRefusal(404, { message: '404 Not found' });
  return mr;
}

function list(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value === 'string')
    return value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  return [];
}

function usernames(state: GitLabState, ids: unknown): string[] {
  const wanted = Array.isArray(ids) ? ids.map(Number) : [];
  return [...state.users.values()].filter((u) => wanted.includes(u.id)).map((u) => u.username);
}

// https://docs.gitlab.com/api/projects/#retrieve-a-project
route('GET', /^\/projects\/([^/]+)$/, async (state, req, [id]) => {
  const p = projectOf(state, req, id!);
  return {
    status: 200,
    body: {
      id: p.id,
      path_with_namespace: p.fullPath,
      default_branch: p.defaultBranch,
      web_url: `${state.webUrl()}/${p.fullPath}`,
      http_url_to_repo: `${state.webUrl()}/${p.fullPath}.git`,
    },
  };
});

// https://docs.gitlab.com/api/branches/#get-single-repository-branch
route(
  'GET',
  /^\/projects\/([^/]+)\/repository\/branches\/(.+)$/,
  async (state, req, [id, name]) => {
    const p = projectOf(state, req, id!);
    const branch = decodeURIComponent(name!);
    const head = await p.git.resolveRef(`refs/heads/${branch}`);
    if (!head) throw new GitLabRefusal(404, { message: '404 Branch Not Found' });
    const commit = await state.commitView(p, head);
    const body: Pick<
      BranchSchema,
      | 'name'
      | 'merged'
      | 'protected'
      | 'default'
      | 'can_push'
      | 'web_url'
      | 'developers_can_push'
      | 'developers_can_merge'
    > & {
      commit: Omit<typeof commit, 'web_url' | 'created_at'>;
    } = {
      name: branch,
      merged: false,
      protected: p.protected.has(branch),
      default: branch === p.defaultBranch,
      developers_can_push: p.protected.get(branch) === 'developer',
      developers_can_merge: p.protected.get(branch) === 'developer',
      can_push: state.canPush(p, req.grant!, branch),
      web_url: `${state.webUrl()}/${p.fullPath}/-/tree/${branch}`,
      commit,
    };
    return { status: 200, body };
  },
);

// https://docs.gitlab.com/api/commits/#create-a-commit
route('POST', /^\/projects\/([^/]+)\/repository\/commits$/, async (state, req, [id]) => {
  const p = projectOf(state, req, id!);
  const grant = needApi(req);
  const commit = await state.createCommit(p, grant, req.body as unknown as CreateCommitBody);
  return { status: 201, body: commit };
});

// https://docs.gitlab.com/api/repositories/#compare-branches-tags-or-commits
route('GET', /^\/projects\/([^/]+)\/repository\/compare$/, async (state, req, [id]) => {
  const p = projectOf(state, req, id!);
  const from = await p.git.resolveCommitish(req.query.get('from') ?? '');
  const to = await p.git.resolveCommitish(req.query.get('to') ?? '');
  // Compare without a resolvable ref: lib/api/repositories.rb → not_found!('Ref')? GitLab 404s.
  if (!from || !to) throw new GitLabRefusal(404, { message: '404 Ref Not Found' });
  const straight = req.query.get('straight') === 'true';
  const base = straight ? from : ((await p.git.mergeBase(from, to)) ?? from);
  // Oldest first, as Gitlab::Git::Compare#commits lists them.
  const oids = await p.git.commitsBetween(base, to);
  const commits = await Promise.all(oids.map((o) => state.commitView(p, o)));
  const strip = ({ message: _m, ...c }: (typeof commits)[number]) => c;
  const body: Pick<RepositoryCompareSchema, 'compare_timeout' | 'compare_same_ref'> & {
    commit: unknown;
    commits: unknown[];
    diffs: unknown[];
    web_url: string;
  } = {
    commit: commits.length ? strip(commits[commits.length - 1]!) : null,
    commits: commits.map(strip),
    diffs: [],
    compare_timeout: false,
    compare_same_ref: from === to,
    web_url: `${state.webUrl()}/${p.fullPath}/-/compare/${from}...${to}`,
  };
  return { status: 200, body };
});

// https://docs.gitlab.com/api/merge_requests/#list-project-merge-requests
route('GET', /^\/projects\/([^/]+)\/merge_requests$/, async (state, req, [id]) => {
  const p = projectOf(state, req, id!);
  const source = req.query.get('source_branch');
  const wanted = req.query.get('state') ?? 'all';
  const mrs = p.mergeRequests.filter(
    (m) => (!source || m.source === source) && (wanted === 'all' || m.state === wanted),
  );
  return {
    status: 200,
    body: await Promise.all([...mrs].reverse().map((m) => state.mrView(p, m))),
  };
});

// https://docs.gitlab.com/api/merge_requests/#create-mr
route('POST', /^\/projects\/([^/]+)\/merge_requests$/, async (state, req, [id]) => {
  const p = projectOf(state, req, id!);
  const grant = needApi(req);
  if (!state.canCreateMr(grant)) throw new GitLabRefusal(403, { message: '403 Forbidden' });
  const b = req.body;
  const missing = ['source_branch', 'target_branch', 'title'].filter(
    (k) => typeof b[k] !== 'string' || b[k] === '',
  );
  if (missing.length)
    throw new GitLabRefusal(400, { error: missing.map((m) => `${m} is missing`).join(', ') });
  const source = String(b.source_branch);
  const target = String(b.target_branch);
  // MergeRequest#validate_branches; lib/api/merge_requests.rb handle_merge_request_errors!
  // answers these with 409 (conflict!) and the messages as an array.
  if (!(await p.git.resolveRef(`refs/heads/${source}`))) {
    throw new GitLabRefusal(409, { message: [`Source branch "${source}" does not exist`] });
  }
  if (!(await p.git.resolveRef(`refs/heads/${target}`))) {
    throw new GitLabRefusal(409, { message: [`Target branch "${target}" does not exist`] });
  }
  const open = state.openMrFor(p, source, target);
  if (open) {
    throw new GitLabRefusal(409, {
      message: [`Another open merge request already exists for this source branch: !${open.iid}`],
    });
  }
  const mr = state.newMr(p, {
    title: String(b.title),
    description: typeof b.description === 'string' ? b.description : '',
    source,
    target,
    author: grant.user,
    labels: list(b.labels),
    assignees: usernames(state, b.assignee_ids ?? (b.assignee_id ? [b.assignee_id] : [])),
    reviewers: usernames(state, b.reviewer_ids),
    removeSourceBranch: b.remove_source_branch === true,
    squash: b.squash === true,
  });
  return { status: 201, body: await state.mrView(p, mr) };
});

// https://docs.gitlab.com/api/merge_requests/#update-mr
route('PUT', /^\/projects\/([^/]+)\/merge_requests\/(\d+)$/, async (state, req, [id, iid]) => {
  const p = projectOf(state, req, id!);
  const grant = needApi(req);
  if (!state.canCreateMr(grant)) throw new GitLabRefusal(403, { message: '403 Forbidden' });
  const mr = mrOf(p, iid!);
  const b = req.body;
  if (typeof b.title === 'string') mr.title = b.title;
  if (typeof b.description === 'string') mr.description = b.description;
  if (b.labels !== undefined) mr.labels = list(b.labels);
  for (const l of list(b.add_labels)) if (!mr.labels.includes(l)) mr.labels.push(l);
  if (b.assignee_ids !== undefined) mr.assignees = usernames(state, b.assignee_ids);
  if (b.reviewer_ids !== undefined) mr.reviewers = usernames(state, b.reviewer_ids);
  if (typeof b.remove_source_branch === 'boolean') mr.removeSourceBranch = b.remove_source_branch;
  if (typeof b.squash === 'boolean') mr.squash = b.squash;
  // A merged merge request cannot be closed or reopened; its title and description still change.
  if (b.state_event === 'close' && mr.state === 'opened') {
    mr.state = 'closed';
    mr.closedAt = new Date().toISOString();
  } else if (b.state_event === 'reopen' && mr.state === 'closed') {
    mr.state = 'opened';
    mr.closedAt = null;
  }
  mr.updatedAt = new Date().toISOString();
  return { status: 200, body: await state.mrView(p, mr) };
});

// https://docs.gitlab.com/api/merge_requests/#merge-a-merge-request
route(
  'PUT',
  /^\/projects\/([^/]+)\/merge_requests\/(\d+)\/merge$/,
  async (state, req, [id, iid]) => {
    const p = projectOf(state, req, id!);
    const grant = needApi(req);
    const mr = mrOf(p, iid!);
    // lib/api/merge_requests.rb: not_allowed! unless the merge request is open and mergeable.
    if (mr.state !== 'opened') throw new GitLabRefusal(405, { message: '405 Method Not Allowed' });
    if (!state.canPush(p, grant, mr.target))
      throw new GitLabRefusal(401, { message: '401 Unauthorized' });
    const head = await p.git.resolveRef(`refs/heads/${mr.source}`);
    const b = req.body;
    // check_sha_param!: "SHA does not match HEAD of source branch: <head>", 409.
    if (typeof b.sha === 'string' && b.sha !== head) {
      throw new GitLabRefusal(409, {
        message: `SHA does not match HEAD of source branch: ${head}`,
      });
    }
    const squash = typeof b.squash === 'boolean' ? b.squash : mr.squash;
    const auto = b.auto_merge === true || b.merge_when_pipeline_succeeds === true;
    if (auto) {
      // automatically_mergeable? needs an active pipeline; immediately_mergeable? (with auto-merge
      // asked for) needs a succeeded one; neither → not_allowed! (405).
      if (p.pipeline === 'running') {
        mr.autoMerge = { sha: head ?? '', squash };
        return { status: 200, body: await state.mrView(p, mr) };
      }
      if (p.pipeline !== 'success')
        throw new GitLabRefusal(405, { message: '405 Method Not Allowed' });
    }
    await state.merge(p, mr, squash);
    return { status: 200, body: await state.mrView(p, mr) };
  },
);

// https://docs.gitlab.com/api/notes/#create-new-merge-request-note
route(
  'POST',
  /^\/projects\/([^/]+)\/merge_requests\/(\d+)\/notes$/,
  async (state, req, [id, iid]) => {
    const p = projectOf(state, req, id!);
    const grant = needApi(req);
    const mr = mrOf(p, iid!);
    if (typeof req.body.body !== 'string' || !req.body.body) {
      throw new GitLabRefusal(400, { error: 'body is missing' });
    }
    mr.notes.push({ body: req.body.body, author: grant.user });
    return {
      status: 201,
      body: {
        id: mr.notes.length,
        body: req.body.body,
        noteable_type: 'MergeRequest',
        noteable_iid: mr.iid,
        system: false,
      },
    };
  },
);

// https://docs.gitlab.com/api/users/#list-users (username filter)
route('GET', /^\/users$/, async (state, req) => {
  const name = req.query.get('username');
  const found = [...state.users.values()].filter(
    (u) => !name || u.username.toLowerCase() === name.toLowerCase(),
  );
  return {
    status: 200,
    body: found.map((u) => ({
      id: u.id,
      username: u.username,
      name: u.name,
      state: 'active',
      web_url: `${state.webUrl()}/${u.username}`,
    })),
  };
});

export function findRoute(
  method: string,
  path: string,
): { handler: Handler; params: string[]; write: boolean } | undefined {
  for (const r of routes) {
    if (r.method !== method) continue;
    const m = r.pattern.exec(path);
    if (m) return { handler: r.handler, params: m.slice(1), write: r.write };
  }
  return undefined;
}

export async function answer(state: GitLabState, req: RestRequest): Promise<RestReply> {
  const found = findRoute(req.method, req.path);
  if (!found) return { status: 404, body: { error: '404 Not Found' } };
  // Without a token GitLab accepts here, a request is anonymous: private projects are not found
  // and a write is 401 (lib/api/helpers.rb authenticate!).
  if (!req.grant && found.write) return { status: 401, body: { message: '401 Unauthorized' } };
  try {
    return await found.handler(state, req, found.params);
  } catch (err) {
    if (err instanceof GitLabRefusal) return { status: err.status, body: err.body };
    throw err;
  }
}
