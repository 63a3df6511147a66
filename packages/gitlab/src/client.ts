// A small GitLab API client on the global fetch: REST (/api/v4) and GraphQL (/api/graphql), the
// token in a header (never a URL), retries of 5xx / 429 as GitLab asks, every request counted.

export interface GitLabClientOptions {
  /** The GitLab instance: https://gitlab.com (default) or a self-managed https://HOST[/PREFIX]. */
  url?: string;
  token: string;
  /**
   * How the token is sent. `private` (PRIVATE-TOKEN: personal, project, group access tokens),
   * `job` (JOB-TOKEN: CI_JOB_TOKEN), `bearer` (OAuth). Default `private`.
   */
  tokenKind?: 'private' | 'job' | 'bearer';
  /** Retries of a 5xx, a 429 or a network failure. */
  retries?: number;
  /** Milliseconds per retry unit (GitLab's Retry-After is in seconds; tests shrink it). */
  retryBaseMs?: number;
  log?: (line: string) => void;
  fetch?: typeof fetch;
}

/** A refusal or failure as GitLab answered it: the status and GitLab's own message. */
export class GitLabApiError extends Error {
  constructor(
    readonly status: number,
    /** GitLab's `message` (or `error` / `error_description`), flattened to one line. */
    readonly said: string,
    readonly body: unknown,
    readonly method: string,
    readonly path: string,
  ) {
    super(`GitLab answered HTTP ${status} to ${method} ${path}: ${said}`);
    this.name = 'GitLabApiError';
  }
}

export interface GitLabClient {
  /** The instance URL without a trailing slash (https://gitlab.com). */
  readonly url: string;
  readonly requests: number;
  rest<T>(method: string, path: string, body?: unknown): Promise<T>;
  graphql<T>(query: string, variables: Record<string, unknown>): Promise<T>;
}

/** GitLab's error bodies: `{"message": "…"}`, `{"message": {"field": ["…"]}}`, `{"message": ["…"]}`, OAuth's `{"error", "error_description"}`. */
export function gitlabMessage(body: unknown, fallback: string): string {
  if (typeof body === 'string') return body.trim() || fallback;
  const b = (body ?? {}) as Record<string, unknown>;
  const flat = (v: unknown): string =>
    typeof v === 'string'
      ? v
      : Array.isArray(v)
        ? v.map(flat).join('; ')
        : v && typeof v === 'object'
          ? Object.entries(v)
              .map(([k, x]) => `${k} ${flat(x)}`)
              .join('; ')
          : '';
  const said =
    flat(b.message) || [flat(b.error), flat(b.error_description)].filter(Boolean).join(': ');
  return said || fallback;
}

export function instanceUrl(given: string | undefined): string {
  const url = (given ?? 'https://gitlab.com').replace(/\/+$/, '');
  // People paste the API URL (CI_API_V4_URL); the instance is what it hangs under.
  return url.replace(/\/api\/v4$/, '');
}

export function createGitLabClient(options: GitLabClientOptions): GitLabClient {
  const url = instanceUrl(options.url);
  const doFetch = options.fetch ?? fetch;
  const retries = options.retries ?? 3;
  const unit = options.retryBaseMs ?? 1000;
  const log = options.log ?? (() => {});
  const kind = options.tokenKind ?? 'private';
  const auth: Record<string, string> =
    kind === 'job'
      ? { 'JOB-TOKEN': options.token }
      : kind === 'bearer'
        ? { authorization: `Bearer ${options.token}` }
        : { 'PRIVATE-TOKEN': options.token };
  let requests = 0;

  async function send(
    method: string,
    target: string,
    shown: string,
    body?: unknown,
  ): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      requests++;
      let res: Response;
      try {
        res = await doFetch(target, {
          method,
          headers: {
            ...auth,
            accept: 'application/json',
            'user-agent': 'gitops-release',
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
      } catch (err) {
        if (attempt < retries) {
          await wait(unit * 2 ** attempt);
          continue;
        }
        throw new GitLabApiError(
          0,
          `cannot reach ${url} (${(err as Error).message})`,
          undefined,
          method,
          shown,
        );
      }
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // GitLab answers some errors (a proxy's 502, a 413) with HTML or plain text: kept as is.
      }
      if (res.ok) return parsed;
      // 429 carries Retry-After (https://docs.gitlab.com/user/gitlab_com/#rate-limits-on-gitlabcom);
      // 5xx are GitLab's or a proxy's transient failures. Anything else is an answer, not a fault.
      if ((res.status === 429 || res.status >= 500) && attempt < retries) {
        const after = Number(res.headers.get('retry-after'));
        const delay = Number.isFinite(after) && after > 0 ? after * unit : unit * 2 ** attempt;
        if (res.status === 429)
          log(
            `GitLab rate limit on ${method} ${shown}; waiting ${Math.round(delay / unit)} s as GitLab asks`,
          );
        await wait(delay);
        continue;
      }
      throw new GitLabApiError(
        res.status,
        gitlabMessage(parsed, res.statusText),
        parsed,
        method,
        shown,
      );
    }
  }

  return {
    url,
    get requests() {
      return requests;
    },
    rest<T>(method: string, path: string, body?: unknown) {
      return send(method, `${url}/api/v4${path}`, path.split('?')[0]!, body) as Promise<T>;
    },
    async graphql<T>(query: string, variables: Record<string, unknown>) {
      const data = (await send('POST', `${url}/api/graphql`, '/api/graphql', {
        query,
        variables,
      })) as {
        data?: T;
        errors?: { message: string }[];
      };
      if (data?.errors?.length) {
        throw new GitLabApiError(
          200,
          data.errors.map((e) => e.message).join('; '),
          data,
          'POST',
          '/api/graphql',
        );
      }
      return data.data as T;
    },
  };
}

function wait(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
