/**
 * A GitHub simulator for the tests: a loopback HTTP server that answers the REST and GraphQL
 * calls gitops-release makes, backed by real bare git repositories on disk.
 *
 *   const sim = await startGitHubSimulator();
 *   await sim.createRepo('acme/manifests', { 'overlays/staging/kustomization.yaml': '…' });
 *   // product under test: REST base sim.url (or sim.enterpriseUrl), token sim.tokens.write
 *   sim.requests.filter((r) => r.write).length; sim.pullRequests('acme/manifests');
 *   await sim.close();
 *
 * - Every commit it makes is a real git object written by git itself (cat-file --batch reads,
 *   hash-object/mktree --batch writes, update-ref with the old value as compare-and-swap), so a
 *   test can `git clone sim.repoPath(…)` and render the result with `kubectl kustomize`.
 * - REST requests and responses are validated against GitHub's OpenAPI description
 *   (@octokit/openapi): a request GitHub would refuse gets 422 (and `invalid` in the log); a
 *   response that breaks the description answers 500 with `simulatorBug` in the log; a path the
 *   simulator does not implement answers 404 with `unsupported` in the log.
 * - GraphQL documents are validated and run by graphql-js against GitHub's published schema
 *   (@octokit/graphql-schema); errors come back in GitHub's shape
 *   (`{"errors":[{"type":"NOT_FOUND"|"STALE_DATA"|"FORBIDDEN"|"UNPROCESSABLE"|…,"path",
 *   "locations","message"}]}`); fields of one mutation document run in order, each failing alone.
 * - Served at `/` and `/graphql` (github.com) and at `/api/v3` and `/api/graphql` (GitHub
 *   Enterprise Server); `graphql: false` (or setGraphqlEnabled) makes GraphQL answer 404.
 * - Faults: setLatency(ms); failNext(n, status); rateLimitNext(n, retryAfter) (secondary: 403,
 *   `retry-after`, GitHub's message); exhaustRateLimitNext(n, reset) (primary: 403,
 *   `x-ratelimit-remaining: 0`); setAutoMerge(repo, 'disallowed' | 'clean-status'); onRequest(hook)
 *   to act mid-flight (e.g. move a branch with `sim.commit` between the product's read and write).
 * - Tokens: `sim.tokens.write`, `sim.tokens.readOnly` (403 "Resource not accessible by
 *   integration" with `x-accepted-github-permissions` on writes; FORBIDDEN in GraphQL),
 *   `sim.tokens.noAccess` (404 / NOT_FOUND for every repository); any other token gets 401
 *   "Bad credentials". `addToken` adds more.
 *
 * Supported calls (the contract with the GitHub host adapter):
 *   GraphQL: repository{id nameWithOwner url defaultBranchRef ref(qualifiedName){id name target
 *   {oid ... on Commit{parents}}} object(expression: "REV:PATH", REV a branch, sha, refs/… or
 *   HEAD){... on Blob ... on Tree{entries}} pullRequests(headRefName baseRefName states labels
 *   first/last/after orderBy) pullRequest(number) labels label(name) autoMergeAllowed}, viewer,
 *   user(login), organization(login){team(slug)}, node(s), rateLimit; mutations
 *   createCommitOnBranch createRef updateRef deleteRef createPullRequest updatePullRequest
 *   closePullRequest addComment addLabelsToLabelable createLabel requestReviews
 *   addAssigneesToAssignable enablePullRequestAutoMerge.
 *   REST (the `route(...)` lines of rest.ts): GET repos/{o}/{r}, contents/{path} (file, dir,
 *   raw), git/ref/{ref}, git/trees/{sha}?recursive, git/commits/{sha}, git/blobs/{sha}; POST
 *   git/blobs, git/trees (base_tree, inline content, sha null deletes), git/commits, git/refs;
 *   PATCH/DELETE git/refs/{ref}; GET/POST pulls, GET/PATCH pulls/{n}; POST issues/{n}/comments,
 *   issues/{n}/labels, issues/{n}/assignees, pulls/{n}/requested_reviewers; GET
 *   compare/{base}...{head}, rate_limit, user.
 */

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PathChange } from './git.js';
import { describe as describeGraphQL, runGraphQL } from './graphql.js';
import { findRoute, HttpError, isWrite, type Reply } from './rest.js';
import type { PullState, Urls } from './shapes.js';
import { type AutoMergeMode, type BranchRule, GitHubState, type TokenGrant } from './state.js';

export type { AutoMergeMode, BranchRule, TokenGrant } from './state.js';

export interface LoggedRequest {
  method: string;
  /** Path without the query and without the `/api/v3` prefix (`/graphql` for GraphQL). */
  path: string;
  query: string;
  kind: 'rest' | 'graphql';
  /** GraphQL: the operation's name (from the request or the document). */
  operationName?: string;
  /** GraphQL: the top-level fields, e.g. ['createCommitOnBranch']. */
  fields?: string[];
  /** True for REST methods other than GET and for GraphQL mutations. */
  write: boolean;
  status: number;
  /** Why the simulator refused the request as GitHub would (OpenAPI or GraphQL validation). */
  invalid?: string;
  /** The simulator's own bug: an answer that broke GitHub's description. */
  simulatorBug?: string;
  /** A REST path the simulator does not implement (answered 404): ask for it. */
  unsupported?: boolean;
  /** Which fault answered, if one did. */
  fault?: 'fail' | 'rate-limit';
  /** Bytes of the answer's body. */
  responseBytes?: number;
  at: number;
}

export interface RequestHookInfo {
  method: string;
  path: string;
  kind: 'rest' | 'graphql';
  operationName?: string;
  fields: string[];
  write: boolean;
  body: unknown;
}

export interface PullRequestView {
  number: number;
  title: string;
  body: string | null;
  head: string;
  base: string;
  headSha: string | undefined;
  state: 'open' | 'closed';
  draft: boolean;
  labels: string[];
  reviewers: string[];
  teamReviewers: string[];
  assignees: string[];
  comments: { body: string; user: string }[];
  autoMerge: { mergeMethod: 'merge' | 'squash' | 'rebase' } | null;
  /** The merge commit, when merged with sim.mergePullRequest. */
  mergeCommit: string | null;
  user: string;
  url: string;
}

export interface CommitView {
  sha: string;
  parents: string[];
  message: string;
  author: { name: string; email: string };
  committer: { name: string; email: string };
  /** Made by GitHub itself (createCommitOnBranch, REST commits, merges): shown as Verified. */
  verified: boolean;
}

export interface GitHubSimulatorOptions {
  /** Serve GraphQL (default true); false answers 404 there, like a host without it. */
  graphql?: boolean;
  /** Added before every answer. */
  latencyMs?: number;
  /** The login the default tokens act as (default `github-actions[bot]`). */
  login?: string;
  /** Extra tokens: value → grant. */
  tokens?: Record<string, TokenGrant>;
}

export interface GitHubSimulator {
  /** `http://127.0.0.1:PORT`: the REST base URL (github.com style) and the web base of html_url. */
  url: string;
  /** `http://127.0.0.1:PORT/graphql`. */
  graphqlUrl: string;
  /** `http://127.0.0.1:PORT/api/v3`: the REST base URL GitHub Enterprise Server style. */
  enterpriseUrl: string;
  /** `http://127.0.0.1:PORT/api/graphql`. */
  enterpriseGraphqlUrl: string;
  tokens: { write: string; readOnly: string; noAccess: string };
  addToken(token: string, grant: TokenGrant): void;
  createRepo(
    fullName: string,
    files: Record<string, string>,
    options?: { defaultBranch?: string },
  ): Promise<{ path: string; head: string }>;
  /** Serves an existing bare repository (made elsewhere, e.g. a benchmark's long history) as `fullName`. */
  adoptRepo(fullName: string, bareRepoPath: string, options?: { defaultBranch?: string }): void;
  /** Another writer: one commit of `files` (null deletes) on `branch`, created from the default branch if missing. */
  commit(
    fullName: string,
    branch: string,
    files: Record<string, string | null>,
    message?: string,
    options?: { author?: string },
  ): Promise<string>;
  /** A person merges the pull request (a real three-way merge onto the base); returns the merge commit. */
  mergePullRequest(
    fullName: string,
    number: number,
    options?: { method?: 'merge' | 'squash'; by?: string; deleteBranch?: boolean },
  ): Promise<string>;
  /** The newest `limit` commits of a branch (first parent), newest first. */
  commits(fullName: string, branch: string, limit?: number): Promise<CommitView[]>;
  /** The bare repository on disk (`git clone` it). */
  repoPath(fullName: string): string;
  /** Creates an open milestone; returns its number. */
  createMilestone(fullName: string, title: string): number;
  /** The milestone number a pull request carries, or null. */
  pullRequestMilestone(fullName: string, number: number): number | null;
  /** The commit a branch points to, or undefined. */
  branchHead(fullName: string, branch: string): Promise<string | undefined>;
  /** A file's text at a branch/sha, or undefined. */
  readFile(fullName: string, ref: string, path: string): Promise<string | undefined>;
  /** Every request so far, in order. */
  readonly requests: LoggedRequest[];
  clearRequests(): void;
  pullRequests(fullName: string): PullRequestView[];
  setLatency(ms: number): void;
  setGraphqlEnabled(enabled: boolean): void;
  /**
   * The next `n` requests (that `match`, if given) answer `status` (default 502). With
   * `{ afterExecuting: true }` the request is carried out first and only the answer is lost, as
   * when GitHub times out after a mutation landed.
   */
  failNext(
    n: number,
    status?: number,
    match?: (r: RequestHookInfo) => boolean,
    options?: { afterExecuting?: boolean },
  ): void;
  /**
   * The next `n` GraphQL requests (that `match`) answer HTTP 200 with a RATE_LIMITED error, as
   * GitHub's GraphQL API signals its limits (octokit/plugin-throttling.js#632).
   */
  rateLimitGraphqlNext(
    n: number,
    resetInSeconds?: number,
    match?: (r: RequestHookInfo) => boolean,
  ): void;
  /** A ruleset or classic branch protection on branches matching `rule.pattern`. */
  addRule(fullName: string, rule: BranchRule): void;
  /** Whether draft pull requests are offered (GitHub Free, private repository: no; the default). */
  setDrafts(fullName: string, offered: boolean): void;
  /** A collaborator (may be asked for review and assigned). */
  addCollaborator(fullName: string, login: string): void;
  /** A team with access to the repository (may be asked for review). */
  addTeam(fullName: string, slug: string): void;
  /** "Allow GitHub Actions to create and approve pull requests" (default off). */
  setActionsCanOpenPullRequests(fullName: string, allowed: boolean): void;
  /** The merge methods the repository allows (default all three). */
  setMergeMethods(fullName: string, methods: ('merge' | 'squash' | 'rebase')[]): void;
  /** The first `n` requests naming each new pull request answer "Could not resolve to a node". */
  setUnresolvedAfterCreate(fullName: string, n: number): void;
  /**
   * Recursive REST trees list at most `entries` entries and say `truncated: true` beyond
   * (GitHub's limit is 100,000 entries or 7 MB: docs.github.com/rest/git/trees#get-a-tree).
   */
  setTreeLimit(entries: number): void;
  /** Whether createCommitOnBranch sees a branch createRef made earlier in the same document (default yes). */
  setRefVisibleInSameDocument(visible: boolean): void;
  /** Serve an older Enterprise Server's schema, without createCommitOnBranch (GHES before 3.4). */
  setCreateCommitOnBranch(served: boolean): void;
  /**
   * Someone forks `fullName` to `fork`, commits `files` on `branch` there and opens a pull request
   * into the default branch; returns its number.
   */
  forkPullRequest(
    fullName: string,
    fork: string,
    branch: string,
    files: Record<string, string>,
    options?: { title?: string; body?: string },
  ): Promise<number>;
  /**
   * The next `n` requests (that `match`) answer GitHub's primary rate limit: 403,
   * `x-ratelimit-remaining: 0` and `x-ratelimit-reset` `resetInSeconds` from now.
   */
  exhaustRateLimitNext(
    n: number,
    resetInSeconds?: number,
    match?: (r: RequestHookInfo) => boolean,
  ): void;
  /** How enablePullRequestAutoMerge answers on this repository (default `allowed`). */
  setAutoMerge(fullName: string, mode: AutoMergeMode): void;
  /** The next `n` requests (that `match`) answer GitHub's secondary rate limit. */
  rateLimitNext(
    n: number,
    retryAfterSeconds?: number,
    match?: (r: RequestHookInfo) => boolean,
  ): void;
  /** Runs before each request is handled (after it is parsed); returns a function that removes it. */
  onRequest(hook: (r: RequestHookInfo) => void | Promise<void>): () => void;
  /**
   * Stops the server and removes its repositories. Rejects when any answer broke GitHub's
   * description (a simulator bug the product may have been blamed for); warns on stderr about
   * REST paths the simulator does not implement.
   */
  close(): Promise<void>;
}

const token = (kind: string) => `ghs_sim${kind}${randomBytes(12).toString('hex')}`;

interface Fault {
  remaining: number;
  match?: (r: RequestHookInfo) => boolean;
  afterExecuting?: boolean;
  apply: () => {
    status: number;
    body: unknown;
    headers: Record<string, string>;
    fault: 'fail' | 'rate-limit';
  };
}

export async function startGitHubSimulator(
  options: GitHubSimulatorOptions = {},
): Promise<GitHubSimulator> {
  const dir = await mkdtemp(join(tmpdir(), 'github-sim-'));
  const state = new GitHubState(dir);
  const login = options.login ?? 'github-actions[bot]';
  const tokens = { write: token('W'), readOnly: token('R'), noAccess: token('N') };
  state.grants.set(tokens.write, { login, permission: 'write' });
  state.grants.set(tokens.readOnly, { login, permission: 'read' });
  state.grants.set(tokens.noAccess, { login, permission: 'write', repos: [] });
  for (const [value, grant] of Object.entries(options.tokens ?? {})) state.grants.set(value, grant);
  for (const grant of state.grants.values())
    if (grant.type) state.user(grant.login).type = grant.type;

  let latency = options.latencyMs ?? 0;
  let graphqlEnabled = options.graphql ?? true;
  const requests: LoggedRequest[] = [];
  const hooks = new Set<(r: RequestHookInfo) => void | Promise<void>>();
  const faults: Fault[] = [];
  let requestCounter = 0;
  let origin = '';

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', origin);
    const method = (req.method ?? 'GET').toUpperCase();
    let path = url.pathname;
    let apiBase = origin;
    const enterprise = path === '/api/v3' || path.startsWith('/api/v3/') || path === '/api/graphql';
    if (enterprise) {
      apiBase = `${origin}/api/v3`;
      path = path === '/api/graphql' ? '/graphql' : path.slice('/api/v3'.length) || '/';
    }
    const urls: Urls = { api: apiBase, web: origin };
    const kind: 'rest' | 'graphql' = path === '/graphql' ? 'graphql' : 'rest';
    const requestId = `SIM0:${(++requestCounter).toString(16).padStart(5, '0')}`;

    let body: unknown;
    let badJson = false;
    if (raw.length) {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        badJson = true;
      }
    }
    const gql =
      kind === 'graphql' && body && typeof body === 'object'
        ? describeGraphQL(
            String((body as { query?: unknown }).query ?? ''),
            (body as { operationName?: string }).operationName,
          )
        : undefined;
    const info: RequestHookInfo = {
      method,
      path,
      kind,
      operationName: gql?.operationName,
      fields: gql?.fields ?? [],
      write: kind === 'graphql' ? Boolean(gql?.mutation) : isWrite(method),
      body,
    };
    const entry: LoggedRequest = {
      method,
      path,
      query: url.search,
      kind,
      write: info.write,
      status: 0,
      at: Date.now(),
    };
    if (kind === 'graphql') {
      entry.operationName = info.operationName;
      entry.fields = info.fields;
    }
    requests.push(entry);

    let lostAnswer: ReturnType<Fault['apply']> | undefined;
    const send = async (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      if (lostAnswer) {
        ({ status, body: payload, headers } = lostAnswer);
        entry.fault = lostAnswer.fault;
      }
      if (latency > 0) await new Promise((r) => setTimeout(r, latency));
      entry.status = status;
      const isRaw = Buffer.isBuffer(payload);
      const text: Buffer = isRaw
        ? (payload as Buffer)
        : payload === undefined
          ? Buffer.alloc(0)
          : Buffer.from(JSON.stringify(payload));
      entry.responseBytes = text.length;
      const reset = Math.floor(Date.now() / 1000) + 3600;
      res.writeHead(status, {
        'content-type': 'application/json; charset=utf-8',
        'x-github-media-type': 'github.v3; format=json',
        'x-github-request-id': requestId,
        'x-ratelimit-limit': '5000',
        'x-ratelimit-remaining': String(Math.max(0, 5000 - requestCounter)),
        'x-ratelimit-used': String(requestCounter),
        'x-ratelimit-reset': String(reset),
        'x-ratelimit-resource': kind === 'graphql' ? 'graphql' : 'core',
        ...headers,
        'content-length': String(text.length),
      });
      res.end(text);
    };

    for (const hook of hooks) await hook(info);

    const fault = faults.find((f) => f.remaining > 0 && (!f.match || f.match(info)));
    if (fault) {
      fault.remaining--;
      const answer = fault.apply();
      if (fault.afterExecuting) lostAnswer = answer;
      else {
        entry.fault = answer.fault;
        await send(answer.status, answer.body, answer.headers);
        return;
      }
    }

    const docs = 'https://docs.github.com/rest';
    const authorization = req.headers.authorization ?? '';
    const match = /^(?:token|bearer)\s+(\S+)$/i.exec(authorization);
    if (!match) {
      await send(
        401,
        kind === 'graphql'
          ? {
              message: 'This endpoint requires you to be authenticated.',
              documentation_url:
                'https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql',
            }
          : { message: 'Requires authentication', documentation_url: docs, status: '401' },
      );
      return;
    }
    const grant = state.grants.get(match[1]!);
    if (!grant) {
      await send(401, { message: 'Bad credentials', documentation_url: docs, status: '401' });
      return;
    }

    if (kind === 'graphql') {
      if (!graphqlEnabled || method !== 'POST') {
        await send(404, { message: 'Not Found', documentation_url: docs, status: '404' });
        return;
      }
      if (badJson || !body || typeof body !== 'object') {
        await send(400, {
          message: 'Problems parsing JSON',
          documentation_url: 'https://docs.github.com/graphql',
        });
        return;
      }
      const outcome = await runGraphQL({ state, urls, grant }, body as Record<string, unknown>);
      if (outcome.invalid) entry.invalid = outcome.invalid;
      if (outcome.bug) entry.simulatorBug = outcome.bug;
      await send(200, outcome.body);
      return;
    }

    const found = findRoute(method, path);
    if (!found) {
      entry.unsupported = true;
      await send(404, { message: 'Not Found', documentation_url: docs, status: '404' });
      return;
    }
    const { route, op, params } = found;
    if (badJson) {
      entry.invalid = 'body is not JSON';
      await send(400, {
        message: 'Problems parsing JSON',
        documentation_url: op.documentationUrl,
        status: '400',
      });
      return;
    }
    const invalid = op.validateRequest(params, url.searchParams, body);
    if (invalid) {
      entry.invalid = invalid;
      await send(422, {
        message: `Invalid request.\n\n${invalid}`,
        documentation_url: op.documentationUrl,
        status: '422',
      });
      return;
    }
    let reply: Reply;
    try {
      reply = await route.handler({
        state,
        urls,
        grant,
        params,
        query: url.searchParams,
        body,
        headers: req.headers,
        op,
      });
    } catch (error) {
      if (error instanceof HttpError)
        reply = { status: error.status, body: error.body, headers: error.headers };
      else {
        entry.simulatorBug =
          error instanceof Error ? (error.stack ?? error.message) : String(error);
        await send(500, { message: `simulator error: ${String(error)}` });
        return;
      }
    }
    if (reply.raw) {
      await send(reply.status, reply.raw, {
        'content-type': reply.contentType ?? 'application/octet-stream',
      });
      return;
    }
    try {
      if (reply.status < 400 || reply.status === 404 || reply.status === 422) {
        if (reply.status !== 204) op.assertResponse(reply.status, reply.body);
      }
    } catch (error) {
      entry.simulatorBug = error instanceof Error ? error.message : String(error);
      await send(500, { message: entry.simulatorBug });
      return;
    }
    await send(reply.status, reply.body, reply.headers);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const last = requests[requests.length - 1];
      if (last) last.simulatorBug = String(error);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: `simulator error: ${String(error)}` }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;

  const repoOf = (fullName: string) => {
    const repo = state.repos.get(fullName.toLowerCase());
    if (!repo) throw new Error(`github-sim: no repository ${fullName}`);
    return repo;
  };

  const view = (fullName: string, pr: PullState, headSha: string | undefined): PullRequestView => ({
    number: pr.number,
    title: pr.title,
    body: pr.body,
    head: pr.head,
    base: pr.base,
    headSha,
    state: pr.state,
    draft: pr.draft,
    labels: [...pr.labels],
    reviewers: [...pr.reviewers],
    teamReviewers: [...pr.teamReviewers],
    assignees: [...pr.assignees],
    comments: pr.comments.map((c) => ({ body: c.body, user: c.user })),
    autoMerge: pr.autoMerge ? { mergeMethod: pr.autoMerge.mergeMethod } : null,
    mergeCommit: pr.merged?.sha ?? null,
    user: pr.user,
    url: `${origin}/${fullName}/pull/${pr.number}`,
  });

  const sim: GitHubSimulator = {
    url: origin,
    graphqlUrl: `${origin}/graphql`,
    enterpriseUrl: `${origin}/api/v3`,
    enterpriseGraphqlUrl: `${origin}/api/graphql`,
    tokens,
    addToken(value, grant) {
      state.grants.set(value, grant);
      if (grant.type) state.user(grant.login).type = grant.type;
    },
    async createRepo(fullName, files, opts = {}) {
      const repo = await state.createRepo(fullName, files, opts);
      const head = (await repo.git.resolveRef(`refs/heads/${repo.meta.defaultBranch}`))!;
      return { path: repo.git.path, head };
    },
    adoptRepo(fullName, bareRepoPath, opts = {}) {
      state.adoptRepo(fullName, bareRepoPath, opts.defaultBranch);
    },
    async commit(fullName, branch, files, message = 'Commit by another writer', opts = {}) {
      const repo = repoOf(fullName);
      const changes = new Map<string, PathChange>();
      for (const [path, content] of Object.entries(files))
        changes.set(path, content === null ? null : { content: Buffer.from(content) });
      const from = await repo.git.resolveRef(`refs/heads/${repo.meta.defaultBranch}`);
      const commit = await state.commitOnBranch(repo, branch, changes, message, {
        author: state.identity(opts.author ?? 'octocat'),
        signed: false,
        createFrom: from,
      });
      return commit.oid;
    },
    async mergePullRequest(fullName, number, opts = {}) {
      const repo = repoOf(fullName);
      const pr = state.findPull(repo, number);
      if (!pr) throw new Error(`github-sim: no pull request #${number} in ${fullName}`);
      const oid = await state.mergePull(repo, pr, opts.method ?? 'merge', opts.by ?? 'octocat');
      if (opts.deleteBranch) {
        const ref = `refs/heads/${pr.head}`;
        const head = await repo.git.resolveRef(ref);
        if (head) await repo.git.deleteRef(ref, head);
      }
      return oid;
    },
    addRule(fullName, rule) {
      repoOf(fullName).rules.push(rule);
    },
    setDrafts(fullName, offered) {
      repoOf(fullName).drafts = offered;
    },
    addCollaborator(fullName, login) {
      repoOf(fullName).collaborators.add(login.toLowerCase());
    },
    addTeam(fullName, slug) {
      repoOf(fullName).teams.add(slug.toLowerCase());
    },
    setActionsCanOpenPullRequests(fullName, allowed) {
      repoOf(fullName).actionsCanOpenPullRequests = allowed;
    },
    setMergeMethods(fullName, methods) {
      repoOf(fullName).mergeMethods = [...methods];
    },
    setUnresolvedAfterCreate(fullName, n) {
      repoOf(fullName).unresolvedAfterCreate = n;
    },
    setTreeLimit(entries) {
      state.treeLimit = entries;
    },
    setRefVisibleInSameDocument(visible) {
      state.refVisibleInSameDocument = visible;
    },
    setCreateCommitOnBranch(served) {
      state.withoutCreateCommitOnBranch = !served;
    },
    async forkPullRequest(fullName, fork, branch, files, opts = {}) {
      const repo = repoOf(fullName);
      const [forkOwner, forkName] = fork.split('/');
      const path = join(dir, forkOwner!, `${forkName}.git`);
      await mkdir(join(dir, forkOwner!), { recursive: true });
      execFileSync('git', ['clone', '-q', '--bare', repo.git.path, path]);
      const forked = state.adoptRepo(fork, path, repo.meta.defaultBranch);
      const changes = new Map<string, PathChange>();
      for (const [p, content] of Object.entries(files))
        changes.set(p, { content: Buffer.from(content) });
      const from = await forked.git.resolveRef(`refs/heads/${repo.meta.defaultBranch}`);
      await state.commitOnBranch(forked, branch, changes, 'A change from a fork', {
        author: state.identity(forkOwner!),
        signed: false,
        createFrom: from,
      });
      const pr = state.newPull(repo, {
        title: opts.title ?? `Change from ${forkOwner}`,
        body: opts.body ?? null,
        head: branch,
        base: repo.meta.defaultBranch,
        draft: false,
        user: forkOwner!,
      });
      pr.headRepo = forked.meta.fullName;
      return pr.number;
    },
    async commits(fullName, branch, limit = 20) {
      const repo = repoOf(fullName);
      const head = await repo.git.resolveRef(`refs/heads/${branch}`);
      if (!head) return [];
      const oids = (
        await repo.git.text(['rev-list', '--first-parent', `--max-count=${limit}`, head])
      )
        .split('\n')
        .filter(Boolean);
      const out: CommitView[] = [];
      for (const oid of oids) {
        const c = await repo.git.readCommit(oid);
        out.push({
          sha: oid,
          parents: c.parents,
          message: c.message.replace(/\n$/, ''),
          author: { name: c.author.name, email: c.author.email },
          committer: { name: c.committer.name, email: c.committer.email },
          verified: repo.signed.has(oid),
        });
      }
      return out;
    },
    repoPath: (fullName) => repoOf(fullName).git.path,
    createMilestone(fullName, title) {
      const repo = repoOf(fullName);
      repo.milestones ??= new Map();
      const number = repo.milestones.size + 1;
      repo.milestones.set(number, {
        number,
        id: 4000 + number,
        title,
        creator: repo.meta.owner,
        createdAt: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      });
      return number;
    },
    pullRequestMilestone: (fullName, number) =>
      repoOf(fullName).pulls.find((p) => p.number === number)?.milestone ?? null,
    branchHead: (fullName, branch) => repoOf(fullName).git.resolveRef(`refs/heads/${branch}`),
    async readFile(fullName, ref, path) {
      const repo = repoOf(fullName);
      const commit = await repo.git.resolveCommitish(ref);
      if (!commit) return undefined;
      const entry = await repo.git.entryAt(commit, path);
      if (entry?.type !== 'blob') return undefined;
      return (await repo.git.readBlob(entry.oid)).toString('utf8');
    },
    requests,
    clearRequests() {
      requests.length = 0;
    },
    pullRequests(fullName) {
      const repo = repoOf(fullName);
      // Head shas are read synchronously from the ref files git keeps for a bare repository.
      return repo.pulls.map((pr) =>
        view(repo.meta.fullName, pr, readRefSync(repo.git.path, pr.head)),
      );
    },
    setLatency(ms) {
      latency = ms;
    },
    setGraphqlEnabled(enabled) {
      graphqlEnabled = enabled;
    },
    failNext(n, status = 502, match, opts = {}) {
      faults.push({
        remaining: n,
        match,
        ...(opts.afterExecuting ? { afterExecuting: true } : {}),
        apply: () => ({
          status,
          body: { message: status === 502 ? 'Server Error' : `Simulated ${status}` },
          headers: {},
          fault: 'fail',
        }),
      });
    },
    rateLimitNext(n, retryAfterSeconds = 1, match) {
      faults.push({
        remaining: n,
        match,
        apply: () => ({
          status: 403,
          body: {
            message:
              'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID SIM0:00000.',
            documentation_url:
              'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
            status: '403',
          },
          headers: { 'retry-after': String(retryAfterSeconds) },
          fault: 'rate-limit',
        }),
      });
    },
    exhaustRateLimitNext(n, resetInSeconds = 1, match) {
      faults.push({
        remaining: n,
        match,
        apply: () => ({
          status: 403,
          body: {
            message:
              'API rate limit exceeded for installation ID 1000. If you reach out to GitHub Support for help, please include the request ID SIM0:00000 and timestamp.',
            documentation_url:
              'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
            status: '403',
          },
          headers: {
            'x-ratelimit-remaining': '0',
            'x-ratelimit-used': '5000',
            'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + resetInSeconds),
          },
          fault: 'rate-limit',
        }),
      });
    },
    rateLimitGraphqlNext(n, resetInSeconds = 1, match) {
      faults.push({
        remaining: n,
        match: (r) => r.kind === 'graphql' && (!match || match(r)),
        apply: () => ({
          status: 200,
          body: {
            errors: [
              {
                type: 'RATE_LIMITED',
                message: 'API rate limit exceeded for installation ID 1000.',
              },
            ],
          },
          headers: {
            'x-ratelimit-remaining': '0',
            'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + resetInSeconds),
          },
          fault: 'rate-limit',
        }),
      });
    },
    setAutoMerge(fullName, mode) {
      repoOf(fullName).autoMerge = mode;
    },
    onRequest(hook) {
      hooks.add(hook);
      return () => hooks.delete(hook);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      for (const repo of state.repos.values()) repo.git.close();
      await rm(dir, { recursive: true, force: true });
      const unsupported = requests.filter((r) => r.unsupported);
      if (unsupported.length) {
        process.stderr.write(
          `github-sim: not implemented (answered 404): ${[...new Set(unsupported.map((r) => `${r.method} ${r.path}`))].join(', ')}\n`,
        );
      }
      const bugs = requests.filter((r) => r.simulatorBug);
      if (bugs.length) {
        throw new Error(
          `github-sim: ${bugs.length} answer(s) broke GitHub's description:\n${bugs
            .map((r) => `${r.method} ${r.path}: ${r.simulatorBug}`)
            .join('\n')}`,
        );
      }
    },
  };
  return sim;
}

function readRefSync(gitDir: string, branch: string): string | undefined {
  try {
    return readFileSync(join(gitDir, 'refs', 'heads', branch), 'utf8').trim();
  } catch {
    try {
      const packed = readFileSync(join(gitDir, 'packed-refs'), 'utf8');
      const line = packed.split('\n').find((l) => l.endsWith(` refs/heads/${branch}`));
      return line?.split(' ')[0];
    } catch {
      return undefined;
    }
  }
}
