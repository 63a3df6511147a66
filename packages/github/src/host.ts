import {
  type CommitComparison,
  type CompareRequest,
  type GitHost,
  HostRefusedError,
} from '@gitops-release/core';
import { createGitHubClient, type GitHubClient, type GitHubClientOptions } from './client.js';
import type { HostContext } from './context.js';
import { type Operation, toHostError } from './errors.js';
import { applyGitHubExtras, type ExtrasContext } from './extras.js';
import { isStatus, splitRepository } from './github-shapes.js';
import { createReader } from './read.js';
import type { RefusalContext } from './refusals.js';
import { createWriter, MutationMissing } from './write.js';

export interface GitHubHostOptions extends GitHubClientOptions {
  /** `OWNER/NAME` of the manifest repository. */
  repository: string;
  /** `graphql` (default: one round trip per step, signed commits), `rest` (Git Data API), or `auto`. */
  api?: 'graphql' | 'rest' | 'auto';
  /** An existing client (shares limits across hosts); built from the options otherwise. */
  client?: GitHubClient;
  /**
   * In GitHub Actions, the repository the workflow runs in (GITHUB_REPOSITORY): a refusal of an
   * installation token (`ghs_…`) on another repository then says that the workflow's own
   * GITHUB_TOKEN cannot reach it, instead of advising `permissions:` that cannot help.
   */
  workflowRepository?: string;
  /** Waits between retries of a pull request GitHub does not resolve yet; tests pass a fake. */
  sleep?: (ms: number) => Promise<void>;
}

export interface GitHubHost extends GitHost {
  readonly client: GitHubClient;
  /** Which API the host ended up using. */
  readonly api: 'graphql' | 'rest';
  /** HTTP requests sent (each retry counts). */
  readonly requests: number;
}

/** The hint for a workflow's own token used on another repository (see workflowRepository). */
function workflowTokenHint(
  token: string,
  repository: string,
  workflowRepository: string | undefined,
): string | undefined {
  if (!workflowRepository || !token.startsWith('ghs_')) return undefined;
  if (workflowRepository.toLowerCase() === repository.toLowerCase()) return undefined;
  return `If this is the workflow's own GITHUB_TOKEN: it can only reach ${workflowRepository}, the repository the workflow runs in, and no \`permissions:\` setting extends it to ${repository}. Use a GitHub App installation token (actions/create-github-app-token) or a fine-grained personal access token granted ${repository} with Contents and Pull requests read and write (README: GitHub Actions → Permissions and tokens).`;
}

/**
 * The release flow on GitHub without a clone. GraphQL: one query reads the branches, the target
 * files and the release pull request; one mutation document creates or resets the release branch
 * and commits with createCommitOnBranch guarded by expectedHeadOid (GitHub signs it); one more
 * opens or updates the pull request. REST (Git Data API, one tree with inline contents) where
 * GraphQL is not served.
 */
export function createGitHubHost(options: GitHubHostOptions): GitHubHost {
  const { owner, name } = splitRepository(options.repository);
  const repository = `${owner}/${name}`;
  const client = options.client ?? createGitHubClient(options);
  const secrets = [options.token];
  const tokenHint = workflowTokenHint(options.token, repository, options.workflowRepository);
  const refusals: RefusalContext = { repository, secrets, ...(tokenHint ? { tokenHint } : {}) };
  const sleep = options.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  let requests = 0;
  client.hook.before('request', () => {
    requests++;
  });
  let api: 'graphql' | 'rest' = options.api === 'rest' ? 'rest' : 'graphql';
  const log = options.log ?? (() => {});

  async function guarded<T>(operation: Operation, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw toHostError(err, operation, repository, secrets, tokenHint);
    }
  }

  async function graphql<T>(document: string, variables: Record<string, unknown>): Promise<T> {
    return (await client.graphql(document, variables)) as T;
  }

  // What the read learned and the write needs (node ids, file modes, blob texts).
  const ctx: HostContext = {
    owner,
    name,
    repository,
    client,
    secrets,
    refusals,
    log,
    graphql,
    refIds: new Map(),
    modes: new Map(),
    blobs: new Map(),
  };
  const { readGraphql, readRest } = createReader(ctx);
  const { commitGraphql, commitRest, upsertGraphql, upsertRest } = createWriter(ctx);

  // ---------- the out-of-order guard's reach ----------

  const unreadable = new Set<string>();
  /** One warning per run when the token cannot read the application repository. */
  async function warnIfUnreadable(
    appRepository: string,
    app: { owner: string; name: string },
  ): Promise<void> {
    if (unreadable.has(appRepository)) return;
    const status = await client.repos.get({ owner: app.owner, repo: app.name }).then(
      () => 200,
      (e: unknown) => (e as { status?: number }).status ?? 0,
    );
    if (status !== 404 && status !== 403) return;
    unreadable.add(appRepository);
    log(
      `warning: the out-of-order guard is off: the token cannot read the application repository ${appRepository} (HTTP ${status}), so an older commit's image could replace a newer one. Give the token "contents: read" on ${appRepository} too (a GitHub App token: list both repositories, e.g. repositories: manifests,${app.name}; a fine-grained token: add ${appRepository} to its repositories).`,
    );
  }
  const extrasContext: ExtrasContext = {
    client,
    owner,
    name,
    repository,
    secrets,
    api: () => api,
    graphql,
    sleep,
    ...(tokenHint ? { tokenHint } : {}),
  };

  // ---------- the host ----------

  const host: GitHubHost = {
    kind: 'github',
    repository,
    supportsPullRequests: true,
    client,
    get api() {
      return api;
    },
    get requests() {
      return requests;
    },

    read: (request) =>
      guarded('read', async () => {
        if (api === 'rest') return readRest(request);
        try {
          return await readGraphql(request);
        } catch (err) {
          // No GraphQL endpoint (some Enterprise Server setups, proxies): the REST Git Data API.
          if (options.api === 'auto' && isStatus(err, 404, 410, 501)) {
            log('GitHub GraphQL API not available; using the REST Git Data API');
            api = 'rest';
            return readRest(request);
          }
          throw err;
        }
      }),

    // createCommitOnBranch takes no author: a commit naming one goes through the Git Data API.
    commit: (request) =>
      guarded('write', async () => {
        // createCommitOnBranch takes no author: a commit naming one goes through the Git Data API.
        if (api === 'rest' || request.author || request.committer) return commitRest(request);
        try {
          return await commitGraphql(request);
        } catch (err) {
          if (!(err instanceof MutationMissing)) throw err;
          if (options.api !== 'auto') {
            throw new HostRefusedError(
              `${repository}'s GitHub serves no createCommitOnBranch (${err.message}): it is an Enterprise Server older than 3.4; pass --api rest (or auto) to write through the REST Git Data API`,
              { input: 'api' },
            );
          }
          log('GitHub GraphQL API has no createCommitOnBranch here; using the REST Git Data API');
          api = 'rest';
          return commitRest(request);
        }
      }),

    upsertPullRequest: (request) =>
      guarded('pull-request', () =>
        api === 'rest' ? upsertRest(request) : upsertGraphql(request),
      ),

    applyExtras: (pr, extras) => applyGitHubExtras(extrasContext, pr, extras),

    closePullRequest: (pr, comment, close = {}) =>
      guarded('pull-request', async () => {
        if (api === 'rest' || !pr.id) {
          await client.issues.createComment({
            owner,
            repo: name,
            issue_number: pr.number,
            body: comment,
          });
          await client.pulls.update({ owner, repo: name, pull_number: pr.number, state: 'closed' });
        } else {
          await graphql(
            'mutation ReleaseClose($id: ID!, $body: String!) { addComment(input: {subjectId: $id, body: $body}) { clientMutationId } closePullRequest(input: {pullRequestId: $id}) { pullRequest { number } } }',
            { id: pr.id, body: comment },
          );
        }
        // The closed pull request keeps its commits; the branch is clutter. Already gone is fine.
        if (close.deleteBranch)
          await client.git
            .deleteRef({ owner, repo: name, ref: `heads/${pr.head}` })
            .catch((err: unknown) => {
              if (!isStatus(err, 404, 422)) throw err;
            });
      }),

    async compareCommits(request: CompareRequest): Promise<CommitComparison | undefined> {
      const app = splitRepository(request.repository);
      try {
        const res = await client.repos.compareCommitsWithBasehead({
          owner: app.owner,
          repo: app.name,
          basehead: `${request.base}...${request.head}`,
        });
        return {
          status: res.data.status,
          url: res.data.html_url,
          commits: res.data.commits.map((c) => ({
            sha: c.sha,
            message: c.commit.message.split('\n')[0] ?? '',
            ...(c.author?.login
              ? { author: c.author.login }
              : c.commit.author?.name
                ? { author: c.commit.author.name }
                : {}),
          })),
        };
      } catch (err) {
        // A tag that is not a commit of the app repository: nothing to compare, no guard. But a
        // token that cannot read the repository at all answers the same 404: then say the guard is off.
        if (isStatus(err, 404, 422, 403)) {
          if (!isStatus(err, 422)) await warnIfUnreadable(request.repository, app);
          return undefined;
        }
        throw toHostError(err, 'compare', request.repository, secrets);
      }
    },
  };
  return host;
}
