import {
  type CommitComparison,
  type CommitRequest,
  type CommitResult,
  type CompareRequest,
  type GitHost,
  type PullRequestInfo,
  type PullRequestRequest,
  type ReadRequest,
  ReleaseConflictError,
  type ReleaseWarning,
  type RepositorySnapshot,
  UsageError,
} from '@gitops-release/core';
import {
  createGitLabClient,
  GitLabApiError,
  type GitLabClient,
  type GitLabClientOptions,
} from './client.js';
import { type ErrorContext, isRace, type Operation, redact, toHostError } from './errors.js';
import { cleanPath, encodeProject, ReadMemory, readSnapshot } from './read.js';

export interface GitLabHostOptions extends GitLabClientOptions {
  /** `GROUP/SUBGROUP/PROJECT`, or the project's numeric id. */
  project: string;
  /** The variable the token came from, for messages (default GITLAB_TOKEN). */
  tokenEnv?: string;
  /** Merge request settings GitLab has and GitHub does not. */
  removeSourceBranch?: boolean;
  squash?: boolean;
  /**
   * Waits between tries of enabling auto-merge while the new commit's pipeline is not created yet
   * (GitLab answers 405 until a pipeline runs); default 2 s, 4 s, 8 s.
   */
  autoMergeWaitsMs?: number[];
  client?: GitLabClient;
}

export interface GitLabHost extends GitHost {
  readonly client: GitLabClient;
  /** HTTP requests sent (each retry counts). */
  readonly requests: number;
}

interface RestMergeRequest {
  iid: number;
  web_url: string;
  title: string;
  description: string | null;
  source_branch: string;
  target_branch: string;
  state: string;
  sha: string;
}

function restPullRequest(mr: RestMergeRequest): PullRequestInfo {
  return {
    // GitLab's `opened` / `merged` / `closed` (`locked` is an opened one being merged).
    state: mr.state === 'merged' ? 'merged' : mr.state === 'closed' ? 'closed' : 'open',
    number: mr.iid,
    url: mr.web_url,
    title: mr.title,
    body: mr.description ?? '',
    head: mr.source_branch,
    base: mr.target_branch,
  };
}

function checkProject(project: string): string {
  const clean = project.replace(/^\/+|\/+$/g, '').replace(/\.git$/, '');
  if (/^\d+$/.test(clean) || /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)+$/.test(clean)) return clean;
  throw new UsageError(
    `--repo "${project}" is not a GitLab project: give GROUP/PROJECT (subgroups allowed: GROUP/SUB/PROJECT) or the numeric project id`,
    { input: 'repo' },
  );
}

/**
 * The release flow on GitLab without a clone: read = one GraphQL document (+ the release branch's
 * parents over REST, in parallel); write = one POST /repository/commits, every update action
 * guarded by the file's own last_commit_id; then the merge request over REST. One-file release:
 * 3 sequential round trips.
 *
 * Plain fetch, no client library: five endpoints do not justify a GitLab SDK in the bundle.
 */
export function createGitLabHost(options: GitLabHostOptions): GitLabHost {
  const given = checkProject(options.project);
  const client = options.client ?? createGitLabClient(options);
  const memory = new ReadMemory();
  const ctx: ErrorContext = {
    project: given,
    secrets: [options.token],
    tokenEnv: options.tokenEnv ?? 'GITLAB_TOKEN',
    jobToken: options.tokenKind === 'job',
  };
  const waits = options.autoMergeWaitsMs ?? [2000, 4000, 8000];
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  // The GraphQL read needs the full path; a numeric id is looked up once.
  let fullPath: string | undefined = /^\d+$/.test(given) ? undefined : given;
  let webUrl = `${client.url}/${given}`;
  let userIds: Promise<Map<string, number>> | undefined;

  const api = () => `/projects/${encodeProject(fullPath ?? given)}`;
  const fail = (err: unknown, operation: Operation) => toHostError(err, operation, ctx);
  const notFound = (what: string) =>
    fail(new GitLabApiError(404, what, undefined, 'POST', '/api/graphql'), 'read');

  async function resolveFullPath(): Promise<string> {
    if (fullPath) return fullPath;
    const p = await client.rest<{ path_with_namespace: string; web_url: string }>(
      'GET',
      `/projects/${given}`,
    );
    fullPath = p.path_with_namespace;
    webUrl = p.web_url;
    ctx.project = fullPath;
    return fullPath;
  }

  /** Usernames to ids (GitLab's merge request fields take ids), looked up in parallel. */
  function lookUpUsers(request: PullRequestRequest): Promise<Map<string, number>> {
    const names = [...new Set([...(request.reviewers ?? []), ...(request.assignees ?? [])])];
    userIds ??= Promise.all(
      names.map(async (name) => {
        const found = await client.rest<{ id: number; username: string }[]>(
          'GET',
          `/users?username=${encodeURIComponent(name.replace(/^@/, ''))}`,
        );
        if (!found[0]) {
          throw new UsageError(
            `GitLab has no user "${name}" (--reviewer / --assignee take usernames)`,
            {
              input: 'reviewer',
            },
          );
        }
        return [name, found[0].id] as const;
      }),
    ).then((pairs) => new Map(pairs));
    return userIds;
  }

  /** Enables auto-merge; a refusal is a warning (the merge request stands, a person merges it). */
  async function enableAutoMerge(
    mr: RestMergeRequest,
    request: PullRequestRequest,
  ): Promise<ReleaseWarning | undefined> {
    const body = {
      // auto_merge since GitLab 17.11; merge_when_pipeline_succeeds for the versions before it.
      auto_merge: true,
      merge_when_pipeline_succeeds: true,
      // The guard: merge only the head this release wrote (409 if someone pushed after it).
      sha: mr.sha,
      ...(request.autoMerge === 'squash' ? { squash: true } : {}),
    };
    for (let attempt = 0; ; attempt++) {
      try {
        await client.rest('PUT', `${api()}/merge_requests/${mr.iid}/merge`, body);
        return undefined;
      } catch (err) {
        // 405 until the new commit's pipeline exists (lib/api/merge_requests.rb: not_allowed!
        // unless a pipeline is active or has succeeded); pipelines are created asynchronously.
        if (err instanceof GitLabApiError && err.status === 405 && attempt < waits.length) {
          await sleep(waits[attempt]!);
          continue;
        }
        // 401 here is GitLab's "you may not merge this" (merge_request.can_be_merged_by?), not a
        // bad token: the merge request stands, a person merges it.
        if (err instanceof GitLabApiError && err.status === 401) {
          return {
            kind: 'auto-merge',
            message: `auto-merge not enabled on !${mr.iid}: GitLab answered 401, the token's user may not merge into ${mr.target_branch} (a protected branch needs a role "Allowed to merge")`,
          };
        }
        if (
          err instanceof GitLabApiError &&
          (err.status === 405 || err.status === 409 || err.status === 422)
        ) {
          return {
            kind: 'auto-merge',
            message: `auto-merge not enabled on !${mr.iid}: GitLab answered ${err.status} (${redact(err.said, ctx.secrets)}); ${err.status === 405 ? 'no pipeline is running for the merge request, or it cannot be merged yet' : 'the source branch moved after this release'}`,
          };
        }
        throw fail(err, 'auto-merge');
      }
    }
  }

  const host: GitLabHost = {
    kind: 'gitlab',
    get repository() {
      return fullPath ?? given;
    },
    supportsPullRequests: true,
    client,
    get requests() {
      return client.requests;
    },

    async read(request: ReadRequest): Promise<RepositorySnapshot> {
      try {
        const path = await resolveFullPath();
        const read = await readSnapshot(client, path, request, memory, notFound);
        webUrl = read.webUrl;
        return read.snapshot;
      } catch (err) {
        throw fail(err, 'read');
      }
    },

    async commit(request: CommitRequest): Promise<CommitResult> {
      // The users a merge request names are looked up while the commit is written.
      if (request.pullRequest) lookUpUsers(request.pullRequest).catch(() => {});
      const fresh = request.observed === null || request.observed !== request.parent;
      const actions = request.files.map((f) => {
        const path = cleanPath(f.path);
        const last = memory.lastCommitOf(request.parent, path);
        return {
          action: 'update' as const,
          file_path: path,
          content: Buffer.from(f.text, 'utf8').toString('base64'),
          encoding: 'base64' as const,
          // The file's own last commit: GitLab refuses the write if the file changed since
          // (Files::BaseService#file_has_changed?). Not on a branch made from start_sha: the
          // check reads the start branch, which that request does not have.
          ...(!fresh && last ? { last_commit_id: last } : {}),
        };
      });
      const body = {
        branch: request.branch,
        commit_message: request.message,
        actions,
        // A new branch starts at the base read; no force, so one created meanwhile is refused
        // ("A branch called … already exists") and the flow re-reads. A leftover is rebuilt.
        ...(fresh ? { start_sha: request.parent } : {}),
        ...(request.observed !== null && request.observed !== request.parent
          ? { force: true }
          : {}),
      };
      try {
        const commit = await client.rest<{ id: string }>(
          'POST',
          `${api()}/repository/commits`,
          body,
        );
        return { sha: commit.id };
      } catch (err) {
        if (
          isRace(err) ||
          (err instanceof GitLabApiError &&
            err.status === 400 &&
            /only create or edit files when you are on a branch/i.test(err.said))
        ) {
          throw new ReleaseConflictError(
            request.branch,
            redact((err as GitLabApiError).said, ctx.secrets),
            err,
          );
        }
        throw fail(err, 'write');
      }
    },

    async upsertPullRequest(request: PullRequestRequest): Promise<PullRequestInfo> {
      let ids: Map<string, number>;
      try {
        ids = await lookUpUsers(request);
      } catch (err) {
        throw fail(err, 'merge-request');
      }
      const idsOf = (names?: string[]) =>
        (names ?? []).map((n) => ids.get(n)!).filter((n) => n !== undefined);
      const people = {
        ...(request.assignees?.length ? { assignee_ids: idsOf(request.assignees) } : {}),
        ...(request.reviewers?.length ? { reviewer_ids: idsOf(request.reviewers) } : {}),
      };
      const title =
        request.draft && !/^(draft:|\[draft\]|\(draft\))/i.test(request.title)
          ? `Draft: ${request.title}`
          : request.title;
      let mr: RestMergeRequest;
      try {
        if (request.existing) {
          mr = await client.rest<RestMergeRequest>(
            'PUT',
            `${api()}/merge_requests/${request.existing.number}`,
            {
              title,
              description: request.body,
              ...(request.labels?.length ? { add_labels: request.labels.join(',') } : {}),
              ...people,
            },
          );
        } else {
          mr = await client.rest<RestMergeRequest>('POST', `${api()}/merge_requests`, {
            source_branch: request.head,
            target_branch: request.base,
            title,
            description: request.body,
            ...(request.labels?.length ? { labels: request.labels.join(',') } : {}),
            ...people,
            ...(options.removeSourceBranch ? { remove_source_branch: true } : {}),
            ...(options.squash ? { squash: true } : {}),
          });
        }
      } catch (err) {
        if (isRace(err)) {
          throw new ReleaseConflictError(
            request.head,
            'another run opened its merge request first',
            err,
          );
        }
        throw fail(err, 'merge-request');
      }
      const opened = restPullRequest(mr);
      // Nothing is added to a merge request merged or closed meanwhile: the flow opens a new one.
      if (opened.state !== 'open') return opened;
      const warning = request.autoMerge ? await enableAutoMerge(mr, request) : undefined;
      return warning ? { ...opened, warnings: [warning] } : opened;
    },

    async closePullRequest(pr: PullRequestInfo, comment: string): Promise<void> {
      try {
        await client.rest('POST', `${api()}/merge_requests/${pr.number}/notes`, { body: comment });
        await client.rest('PUT', `${api()}/merge_requests/${pr.number}`, { state_event: 'close' });
      } catch (err) {
        throw fail(err, 'merge-request');
      }
    },

    async compareCommits(request: CompareRequest): Promise<CommitComparison | undefined> {
      const app = checkProject(request.repository);
      const path = `/projects/${encodeProject(app)}/repository/compare`;
      type Compare = { commits?: { id: string; title: string; author_name: string }[] };
      const between = (from: string, to: string) =>
        client.rest<Compare>(
          'GET',
          `${path}?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`,
        );
      try {
        // GitLab's compare lists what `to` has that `from` lacks; both directions order the two.
        const [forward, backward] = await Promise.all([
          between(request.base, request.head),
          between(request.head, request.base),
        ]);
        const ahead = forward.commits?.length ?? 0;
        const behind = backward.commits?.length ?? 0;
        return {
          status: ahead && behind ? 'diverged' : ahead ? 'ahead' : behind ? 'behind' : 'identical',
          url: `${client.url}/${app}/-/compare/${encodeURIComponent(request.base)}...${encodeURIComponent(request.head)}`,
          commits: (forward.commits ?? []).map((c) => ({
            sha: c.id,
            message: c.title,
            ...(c.author_name ? { author: c.author_name } : {}),
          })),
        };
      } catch (err) {
        // A tag that is no commit of the application project: nothing to compare, no guard.
        if (err instanceof GitLabApiError && (err.status === 404 || err.status === 400))
          return undefined;
        throw toHostError(err, 'compare', { ...ctx, project: app });
      }
    },

    compareUrl(base: string, branch: string): string {
      return `${webUrl}/-/compare/${encodeURIComponent(base)}...${encodeURIComponent(branch)}`;
    },
  };
  return host;
}
