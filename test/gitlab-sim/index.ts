/**
 * A GitLab simulator for the tests: a loopback HTTP server answering the REST (/api/v4) and
 * GraphQL (/api/graphql) calls of the GitLab host and git's smart HTTP (with GitLab's push
 * options), backed by real bare git repositories on disk.
 *
 *   const sim = await startGitLabSimulator();
 *   await sim.createProject('acme/platform/manifests', { 'k.yaml': '…' });
 *   // product under test: --gitlab-url sim.url, token sim.tokens.write
 *   sim.requests; sim.mergeRequests('acme/platform/manifests'); await sim.close();
 *
 * - Every commit is a real git object (../github-sim/git.ts), refs move by compare-and-swap.
 * - The Commits API validates as GitLab does, in GitLab's order, with its messages (state.ts):
 *   last_commit_id as Files::BaseService#file_has_changed? compares it (an unknown id passes),
 *   "A branch called … already exists" for start_sha onto an existing branch without force, and
 *   no branch-head check beyond the head read at the request's own start (non-atomic with the
 *   validation, as GitLab's is).
 * - Tokens (`tokens`): write (api, Developer), readOnly (read_api → 403 insufficient_scope on
 *   writes), reporter (api, Reporter → 403 on commits and merge requests), maintainer, job (a
 *   CI_JOB_TOKEN: GitLab ignores JOB-TOKEN outside its allow-list, so the request is anonymous:
 *   404 for the private project, 401 for writes). Any other token: 401 "401 Unauthorized".
 * - Faults: setLatency(ms), failNext(n, status, match), onRequest(hook) to act mid-flight.
 * - Projects are private; the default branch is protected for Maintainers (GitLab's default).
 */
import { spawn } from 'node:child_process';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BareRepo } from '../github-sim/git.js';
import { fieldsOf, runGraphQL } from './graphql.js';
import { answer, findRoute } from './rest.js';
import {
  GitLabState,
  isDraftTitle,
  type MergeRequestState,
  type PipelineMode,
  type Role,
  type TokenGrant,
} from './state.js';

export type { PipelineMode, Role, TokenGrant } from './state.js';

const GIT_HTTP_BACKEND = '/usr/lib/git-core/git-http-backend';

export interface LoggedRequest {
  method: string;
  /** Path without the query (`/api/v4/…`, `/api/graphql`, or a git path). */
  path: string;
  kind: 'rest' | 'graphql' | 'git';
  /** GraphQL: the operation name; git: the service. */
  operation?: string;
  write: boolean;
  status: number;
  /** A route the simulator does not implement (answered 404). */
  unsupported?: boolean;
  fault?: 'fail';
  at: number;
}

export interface RequestInfo {
  method: string;
  path: string;
  kind: LoggedRequest['kind'];
  write: boolean;
  body: unknown;
}

export interface MergeRequestView {
  iid: number;
  title: string;
  description: string;
  source: string;
  target: string;
  state: MergeRequestState['state'];
  draft: boolean;
  labels: string[];
  assignees: string[];
  reviewers: string[];
  notes: string[];
  autoMerge: { sha: string; squash: boolean } | null;
  removeSourceBranch: boolean;
  squash: boolean;
  author: string;
  url: string;
}

export interface GitLabSimulator {
  /** `http://127.0.0.1:PORT`: the instance URL (API at /api/v4, GraphQL at /api/graphql). */
  url: string;
  tokens: { write: string; readOnly: string; reporter: string; maintainer: string; job: string };
  addToken(token: string, grant: TokenGrant): void;
  createProject(
    fullPath: string,
    files: Record<string, string>,
    options?: { defaultBranch?: string },
  ): Promise<{ path: string; head: string }>;
  /** Another writer: one commit of `files` (null deletes) on `branch` (made from the default branch if missing). */
  commit(
    fullPath: string,
    branch: string,
    files: Record<string, string | null>,
    message?: string,
  ): Promise<string>;
  /** A person merges the merge request (a merge commit onto the target); returns it. */
  merge(fullPath: string, iid: number): Promise<string>;
  protectBranch(fullPath: string, branch: string, pushAllowed: Role): void;
  unprotectBranch(fullPath: string, branch: string): void;
  setPipeline(fullPath: string, mode: PipelineMode): void;
  mergeRequests(fullPath: string): MergeRequestView[];
  repoPath(fullPath: string): string;
  /** `http://…/GROUP/PROJECT.git` for git over HTTP (basic auth: any user, a token as password). */
  gitUrl(fullPath: string): string;
  branchHead(fullPath: string, branch: string): Promise<string | undefined>;
  branches(fullPath: string): Promise<string[]>;
  readFile(fullPath: string, ref: string, path: string): Promise<string | undefined>;
  readonly requests: LoggedRequest[];
  clearRequests(): void;
  setLatency(ms: number): void;
  failNext(n: number, status?: number, match?: (r: RequestInfo) => boolean): void;
  /** Runs before each matching request is answered (awaited): interfere mid-flight. */
  onRequest(hook: ((r: RequestInfo) => Promise<void> | void) | undefined): void;
  close(): Promise<void>;
}

export async function startGitLabSimulator(
  options: { latencyMs?: number } = {},
): Promise<GitLabSimulator> {
  const root = await mkdtemp(join(tmpdir(), 'gitlab-sim-'));
  let url = '';
  const state = new GitLabState(() => url);
  const tokens = {
    write: 'glpat-write-0123456789abcdef',
    readOnly: 'glpat-readonly-0123456789abc',
    reporter: 'glpat-reporter-0123456789abc',
    maintainer: 'glpat-maintainer-0123456789a',
    job: 'glcbt-job-0123456789abcdefgh',
  };
  const grants = new Map<string, TokenGrant>([
    [tokens.write, { user: 'project_1_bot', scopes: ['api'], role: 'developer' }],
    [
      tokens.readOnly,
      { user: 'project_1_bot', scopes: ['read_api', 'read_repository'], role: 'developer' },
    ],
    [tokens.reporter, { user: 'project_1_bot', scopes: ['api'], role: 'reporter' }],
    [tokens.maintainer, { user: 'project_1_bot', scopes: ['api'], role: 'maintainer' }],
    [
      tokens.job,
      { user: 'project_1_bot', scopes: ['read_repository'], role: 'developer', job: true },
    ],
  ]);
  const requests: LoggedRequest[] = [];
  let latency = options.latencyMs ?? 0;
  const faults: { remaining: number; status: number; match?: (r: RequestInfo) => boolean }[] = [];
  let hook: ((r: RequestInfo) => Promise<void> | void) | undefined;

  function grantFrom(
    req: IncomingMessage,
    query: URLSearchParams,
  ): { grant?: TokenGrant; invalid: boolean; job: boolean } {
    const header = (name: string) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    // GitLab reads PRIVATE-TOKEN, `Authorization: Bearer`, and the private_token parameter
    // (https://docs.gitlab.com/api/rest/authentication/).
    const token =
      header('private-token') ??
      header('authorization')?.match(/^Bearer\s+(.+)$/i)?.[1] ??
      query.get('private_token') ??
      undefined;
    if (token === undefined) return { invalid: false, job: header('job-token') !== undefined };
    const grant = grants.get(token);
    // A job token sent as a personal token is not one.
    if (!grant || grant.job) return { invalid: true, job: false };
    return { grant, invalid: false, job: false };
  }

  async function readBody(req: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  function send(res: ServerResponse, entry: LoggedRequest, status: number, body: unknown): void {
    entry.status = status;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  async function handleApi(
    req: IncomingMessage,
    res: ServerResponse,
    target: URL,
    entry: LoggedRequest,
  ): Promise<void> {
    const raw = await readBody(req);
    let body: Record<string, unknown> = {};
    if (raw.length) {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        return send(res, entry, 400, { error: 'The request body could not be parsed as JSON' });
      }
    }
    const auth = grantFrom(req, target.searchParams);
    const info: RequestInfo = {
      method: entry.method,
      path: entry.path,
      kind: entry.kind,
      write: entry.write,
      body,
    };
    if (entry.kind === 'graphql') {
      entry.operation =
        (body.operationName as string | undefined) ??
        String(body.query ?? '').match(/^\s*(?:query|mutation)\s+(\w+)/)?.[1] ??
        fieldsOf(String(body.query ?? ''))[0];
    }
    if (hook) await hook(info);
    const fault = faults.find((f) => f.remaining > 0 && (!f.match || f.match(info)));
    if (fault) {
      fault.remaining--;
      entry.fault = 'fail';
      return send(res, entry, fault.status, { message: `${fault.status} simulated failure` });
    }
    if (auth.invalid) {
      // lib/api/api_guard.rb: an unknown or revoked token is 401 on any endpoint.
      return entry.kind === 'graphql'
        ? send(res, entry, 401, { errors: [{ message: 'Invalid token' }] })
        : send(res, entry, 401, { message: '401 Unauthorized' });
    }
    if (entry.kind === 'graphql') {
      const result = await runGraphQL(
        state,
        { canRead: auth.grant ? state.canRead(auth.grant) : false },
        body,
      );
      return send(res, entry, 200, result);
    }
    const path = entry.path.slice('/api/v4'.length);
    if (!findRoute(entry.method, path)) entry.unsupported = true;
    const reply = await answer(state, {
      method: entry.method,
      path,
      query: target.searchParams,
      body,
      grant: auth.grant,
    });
    send(res, entry, reply.status, reply.body);
  }

  const server = createServer((req, res) => {
    const target = new URL(req.url ?? '/', 'http://127.0.0.1');
    const gitService =
      target.searchParams.get('service') ?? target.pathname.match(/\/(git-[a-z-]+)$/)?.[1];
    const kind: LoggedRequest['kind'] =
      target.pathname === '/api/graphql'
        ? 'graphql'
        : target.pathname.startsWith('/api/v4/')
          ? 'rest'
          : 'git';
    const entry: LoggedRequest = {
      method: req.method ?? 'GET',
      path: target.pathname,
      kind,
      write:
        kind === 'rest'
          ? req.method !== 'GET'
          : kind === 'git'
            ? gitService === 'git-receive-pack' && req.method === 'POST'
            : false,
      status: 0,
      at: Date.now(),
    };
    if (kind === 'git' && gitService) entry.operation = gitService;
    requests.push(entry);
    const run = () =>
      (kind === 'git'
        ? handleGit(req, res, target, entry)
        : handleApi(req, res, target, entry)
      ).catch((err) => {
        if (!res.headersSent)
          send(res, entry, 500, {
            message: `500 Internal Server Error (simulator: ${(err as Error).message})`,
          });
        else res.end();
      });
    if (latency) setTimeout(run, latency);
    else run();
  });

  // ---------- git over HTTP, with GitLab's push options ----------

  async function handleGit(
    req: IncomingMessage,
    res: ServerResponse,
    target: URL,
    entry: LoggedRequest,
  ): Promise<void> {
    const m = target.pathname.match(/^\/(.+?)\.git(\/.*)$/);
    const project = m ? state.projects.get(m[1]!) : undefined;
    const basic = (req.headers.authorization ?? '').match(/^Basic\s+(.+)$/i)?.[1];
    const [, user, password] = basic
      ? (Buffer.from(basic, 'base64')
          .toString('utf8')
          .match(/^([^:]*):(.*)$/s) ?? [])
      : [];
    const found = password === undefined ? undefined : grants.get(password);
    // A job token authenticates git over HTTP only as the user gitlab-ci-token
    // (https://docs.gitlab.com/ci/jobs/ci_job_token/); other tokens take any user name.
    const grant = found?.job && user !== 'gitlab-ci-token' ? undefined : found;
    if (!grant) {
      entry.status = 401;
      res.writeHead(401, {
        'www-authenticate': 'Basic realm="GitLab"',
        'content-type': 'text/plain',
      });
      res.end('HTTP Basic: Access denied\n');
      return;
    }
    if (!project) {
      entry.status = 404;
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('The project you were looking for could not be found.\n');
      return;
    }
    const pushing = (target.searchParams.get('service') ?? m?.[2] ?? '').includes('receive-pack');
    const mayPush = grant.scopes.includes('api') || grant.scopes.includes('write_repository');
    if (pushing && (!mayPush || grant.job)) {
      entry.status = 403;
      res.writeHead(403, { 'content-type': 'text/plain' });
      res.end('You are not allowed to upload code.\n');
      return;
    }
    const pushLog = join(project.git.path, 'sim-pushes');
    rmSync(pushLog, { force: true });
    const finish = await runBackend(req, res, entry, target, grant.user);
    try {
      if (!pushing) return;
      let recorded = '';
      try {
        recorded = readFileSync(pushLog, 'utf8');
      } catch {
        return;
      }
      rmSync(pushLog, { force: true });
      await applyPushOptions(project.fullPath, recorded, grant.user);
    } finally {
      // The answer is held until the push options are applied: the merge request exists when
      // `git push` returns, as GitLab's post-receive has run by then.
      finish();
    }
  }

  function runBackend(
    req: IncomingMessage,
    res: ServerResponse,
    entry: LoggedRequest,
    target: URL,
    user: string,
  ): Promise<() => void> {
    return new Promise((resolve) => {
      const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: '1',
        REMOTE_USER: user,
        REMOTE_ADDR: '127.0.0.1',
        REQUEST_METHOD: req.method ?? 'GET',
        PATH_INFO: decodeURIComponent(target.pathname),
        QUERY_STRING: target.search.slice(1),
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        GATEWAY_INTERFACE: 'CGI/1.1',
        SERVER_PROTOCOL: 'HTTP/1.1',
        GIT_CONFIG_NOSYSTEM: '1',
      };
      if (req.headers['content-encoding'])
        env.HTTP_CONTENT_ENCODING = String(req.headers['content-encoding']);
      if (req.headers['git-protocol']) env.GIT_PROTOCOL = String(req.headers['git-protocol']);
      if (req.headers['content-length']) env.CONTENT_LENGTH = String(req.headers['content-length']);
      const cgi = spawn(GIT_HTTP_BACKEND, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
      req.pipe(cgi.stdin);
      let headerDone = false;
      let buffer = Buffer.alloc(0);
      const chunks: Buffer[] = [];
      cgi.stdout.on('data', (chunk: Buffer) => {
        if (headerDone) return void chunks.push(chunk);
        buffer = Buffer.concat([buffer, chunk]);
        let end = buffer.indexOf('\r\n\r\n');
        let sep = 4;
        if (end === -1) {
          end = buffer.indexOf('\n\n');
          sep = 2;
        }
        if (end === -1) return;
        const headers: Record<string, string> = {};
        let status = 200;
        for (const line of buffer.subarray(0, end).toString('latin1').split(/\r?\n/)) {
          const i = line.indexOf(':');
          if (i === -1) continue;
          const name = line.slice(0, i).trim();
          const value = line.slice(i + 1).trim();
          if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 200;
          else headers[name] = value;
        }
        entry.status = status;
        res.writeHead(status, headers);
        headerDone = true;
        chunks.push(buffer.subarray(end + sep));
      });
      cgi.on('close', () => {
        if (!headerDone) {
          entry.status = 500;
          res.writeHead(500);
        }
        resolve(() => res.end(Buffer.concat(chunks)));
      });
    });
  }

  /**
   * GitLab's push options for merge requests (https://docs.gitlab.com/topics/git/commit/#push-options-for-merge-requests):
   * merge_request.create, .target, .title, .description, .label (repeatable), .remove_source_branch,
   * .squash, .draft, .merge_when_pipeline_succeeds / .auto_merge. One merge request per pushed branch.
   */
  async function applyPushOptions(fullPath: string, recorded: string, user: string): Promise<void> {
    const project = state.projects.get(fullPath)!;
    const lines = recorded.split('\n');
    const options = lines.filter((l) => l.startsWith('option ')).map((l) => l.slice(7));
    const updates = lines
      .filter((l) => l.startsWith('ref '))
      .map((l) => l.slice(4).split(' '))
      .filter(
        ([, next, ref]) =>
          next !== '0000000000000000000000000000000000000000' && ref?.startsWith('refs/heads/'),
      );
    const values = (key: string) =>
      options
        .filter((o) => o === key || o.startsWith(`${key}=`))
        .map((o) => o.slice(key.length + 1));
    const has = (key: string) =>
      options.some((o) => o === key || o === `${key}=true` || o.startsWith(`${key}=`));
    const create = has('merge_request.create');
    for (const [, , ref] of updates) {
      const source = ref!.slice('refs/heads/'.length);
      const target = values('merge_request.target')[0] || project.defaultBranch;
      if (source === target) continue;
      let mr = state.openMrFor(project, source);
      if (!mr && !create) continue;
      const head = (await project.git.resolveRef(ref!))!;
      const lastTitle = (await project.git.readCommit(head)).message.split('\n')[0]!;
      let title = values('merge_request.title')[0] || mr?.title || lastTitle;
      if (has('merge_request.draft') && !isDraftTitle(title)) title = `Draft: ${title}`;
      if (!mr) mr = state.newMr(project, { title, source, target, author: user });
      else mr.title = title;
      const description = values('merge_request.description')[0];
      if (description !== undefined) mr.description = description;
      for (const label of values('merge_request.label'))
        if (!mr.labels.includes(label)) mr.labels.push(label);
      if (has('merge_request.remove_source_branch')) mr.removeSourceBranch = true;
      if (has('merge_request.squash')) mr.squash = true;
      if (
        (has('merge_request.merge_when_pipeline_succeeds') || has('merge_request.auto_merge')) &&
        project.pipeline === 'running'
      ) {
        mr.autoMerge = { sha: head, squash: mr.squash };
      }
    }
  }

  // ---------- the test's handle ----------

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const projectOf = (fullPath: string) => {
    const p = state.projects.get(fullPath);
    if (!p) throw new Error(`gitlab-sim: no project ${fullPath}`);
    return p;
  };
  const bot = { name: 'Another writer', email: 'writer@gitlab.test' };

  return {
    url,
    tokens,
    addToken: (token, grant) => void grants.set(token, grant),
    async createProject(fullPath, files, opts = {}) {
      const branch = opts.defaultBranch ?? 'main';
      const path = join(root, `${fullPath}.git`);
      const git = await BareRepo.init(path, branch);
      const head = await git.importSnapshot(`refs/heads/${branch}`, files, 'Initial commit', bot);
      // Push options reach hooks only when advertised; the hook records them for the simulator.
      await git.run(['config', 'receive.advertisePushOptions', 'true']);
      await git.run(['config', 'http.receivepack', 'true']);
      await git.run(['config', 'uploadpack.allowFilter', 'true']);
      const hookPath = join(path, 'hooks', 'post-receive');
      writeFileSync(
        hookPath,
        `#!/bin/sh\nwhile read old new ref; do echo "ref $old $new $ref" >> "$GIT_DIR/sim-pushes"; done\ni=0\nwhile [ "$i" -lt "\${GIT_PUSH_OPTION_COUNT:-0}" ]; do eval "echo \\"option \\$GIT_PUSH_OPTION_$i\\"" >> "$GIT_DIR/sim-pushes"; i=$((i+1)); done\n`,
      );
      chmodSync(hookPath, 0o755);
      state.addProject(fullPath, git, branch);
      return { path, head };
    },
    async commit(fullPath, branch, files, message = 'Commit by another writer') {
      const p = projectOf(fullPath);
      const ref = `refs/heads/${branch}`;
      const head =
        (await p.git.resolveRef(ref)) ?? (await p.git.resolveRef(`refs/heads/${p.defaultBranch}`))!;
      const changes = new Map(
        Object.entries(files).map(([k, v]) => [k, v === null ? null : { content: Buffer.from(v) }]),
      );
      const tree = await p.git.writeTree((await p.git.readCommit(head)).tree, changes);
      const oid = await p.git.commitTree(tree, [head], message, bot);
      const expected = (await p.git.resolveRef(ref)) ?? '0000000000000000000000000000000000000000';
      if (!(await p.git.compareAndSwapRef(ref, oid, expected)))
        throw new Error('gitlab-sim: branch moved');
      state.onBranchMoved(p, branch);
      return oid;
    },
    async merge(fullPath, iid) {
      const p = projectOf(fullPath);
      const mr = p.mergeRequests.find((m) => m.iid === iid);
      if (!mr) throw new Error(`gitlab-sim: no merge request !${iid} in ${fullPath}`);
      return state.merge(p, mr);
    },
    protectBranch: (fullPath, branch, role) => void projectOf(fullPath).protected.set(branch, role),
    unprotectBranch: (fullPath, branch) => void projectOf(fullPath).protected.delete(branch),
    setPipeline: (fullPath, mode) => {
      projectOf(fullPath).pipeline = mode;
    },
    mergeRequests(fullPath) {
      const p = projectOf(fullPath);
      return p.mergeRequests.map((m) => ({
        iid: m.iid,
        title: m.title,
        description: m.description,
        source: m.source,
        target: m.target,
        state: m.state,
        draft: isDraftTitle(m.title),
        labels: [...m.labels],
        assignees: [...m.assignees],
        reviewers: [...m.reviewers],
        notes: m.notes.map((n) => n.body),
        autoMerge: m.autoMerge,
        removeSourceBranch: m.removeSourceBranch,
        squash: m.squash,
        author: m.author,
        url: `${url}/${p.fullPath}/-/merge_requests/${m.iid}`,
      }));
    },
    repoPath: (fullPath) => projectOf(fullPath).git.path,
    gitUrl: (fullPath) => `${url}/${fullPath}.git`,
    branchHead: (fullPath, branch) => projectOf(fullPath).git.resolveRef(`refs/heads/${branch}`),
    async branches(fullPath) {
      return (await projectOf(fullPath).git.refs('refs/heads/')).map((r) =>
        r.ref.slice('refs/heads/'.length),
      );
    },
    async readFile(fullPath, ref, path) {
      const p = projectOf(fullPath);
      const commit = await p.git.resolveCommitish(ref);
      const entry = commit ? await p.git.entryAt(commit, path) : undefined;
      return entry?.type === 'blob'
        ? (await p.git.readBlob(entry.oid)).toString('utf8')
        : undefined;
    },
    requests,
    clearRequests: () => {
      requests.length = 0;
    },
    setLatency: (ms) => {
      latency = ms;
    },
    failNext: (n, status = 502, match) =>
      void faults.push({ remaining: n, status, ...(match ? { match } : {}) }),
    onRequest: (h) => {
      hook = h;
    },
    async close() {
      for (const p of state.projects.values()) p.git.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(root, { recursive: true, force: true });
    },
  };
}
