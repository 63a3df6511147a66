import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';
import Bottleneck from 'bottleneck/light.js';

export type GitHubClient = InstanceType<typeof Octokit>;

export interface GitHubClientOptions {
  token: string;
  /** REST base URL: https://api.github.com (default), or https://HOST/api/v3 for Enterprise Server. */
  baseUrl?: string;
  /** Milliseconds per unit of the retry plugin's back-off (1000 = GitHub's seconds). */
  retryBaseMs?: number;
  /** Retries of a 5xx / network failure, and of a rate limit. */
  retries?: number;
  /** Progress lines for people (rate limits being waited out). */
  log?: (line: string) => void;
  /** Milliseconds between content-creating requests (default 1000, GitHub's advice). */
  writeSpacingMs?: number;
  /** A fetch implementation (tests, proxies); default the global fetch. */
  fetch?: typeof fetch;
}

const RetryingOctokit = Octokit.plugin(retry, throttling);

/** The REST base URL for a github.com or Enterprise Server address the user gave. */
export function restBaseUrl(given: string | undefined): string {
  if (!given) return 'https://api.github.com';
  const url = given.replace(/\/+$/, '');
  if (/\/api\/v3$/.test(url) || /^https?:\/\/api\.github\.com$/.test(url)) return url;
  if (/^https?:\/\/(www\.)?github\.com$/.test(url)) return 'https://api.github.com';
  // GitHub Enterprise Cloud with data residency: the API is api.SUBDOMAIN.ghe.com, no /api/v3
  // (GraphQL at /graphql), for the web address SUBDOMAIN.ghe.com as for the API's own.
  const residency = url.match(/^https?:\/\/(?:api\.)?([a-z0-9-]+)\.ghe\.com$/i);
  if (residency) return `https://api.${residency[1]!.toLowerCase()}.ghe.com`;
  // A bare host (https://github.example.com) is an Enterprise Server: its API lives under /api/v3.
  if (/^https?:\/\/[^/]+$/.test(url)) return `${url}/api/v3`;
  return url;
}

/** One Octokit for REST and GraphQL (GHES: /api/v3 → /api/graphql), retrying and throttled. */
export function createGitHubClient(options: GitHubClientOptions): GitHubClient {
  const log = options.log ?? (() => {});
  const retries = options.retries ?? 3;
  const base = options.retryBaseMs ?? 1000;
  const octokit = new RetryingOctokit({
    auth: options.token,
    baseUrl: restBaseUrl(options.baseUrl),
    userAgent: 'gitops-release',
    log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
    request: options.fetch ? { fetch: options.fetch } : {},
    retry: { retries, retryAfterBaseValue: base },
    throttle: {
      retryAfterBaseValue: base,
      // The plugin spaces every GraphQL request as a write, reads included, in limiters shared by
      // every client of the process; mutations are spaced below instead, per client.
      write: new Bottleneck.Group({ maxConcurrent: 1, minTime: 0 }),
      notifications: new Bottleneck.Group({ maxConcurrent: 1, minTime: 0 }),
      onRateLimit: (retryAfter, request, _octokit, retryCount) => {
        log(
          `GitHub rate limit reached on ${request.method} ${request.url}; waiting ${retryAfter} s as GitHub asks`,
        );
        return retryCount < retries;
      },
      onSecondaryRateLimit: (retryAfter, request, _octokit, retryCount) => {
        log(
          `GitHub secondary rate limit on ${request.method} ${request.url}; waiting ${retryAfter} s as GitHub asks`,
        );
        return retryCount < retries;
      },
    },
  });
  // GitHub's advice for content-creating requests: at least one second between them
  // (docs.github.com/rest/using-the-rest-api/best-practices-for-using-the-rest-api).
  const gap = options.writeSpacingMs ?? 1000;
  let lastWrite = 0;
  let queue: Promise<void> = Promise.resolve();
  octokit.hook.before('request', async (requestOptions) => {
    if (!createsContent(requestOptions)) return;
    const turn = queue.then(async () => {
      const wait = lastWrite + gap - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      lastWrite = Date.now();
    });
    queue = turn;
    await turn;
  });
  octokit.hook.wrap('request', async (request, requestOptions) => {
    for (let attempt = 0; ; attempt++) {
      const res = await request(requestOptions);
      const wait = graphqlRateLimitWait(requestOptions.url, res, attempt, retries);
      if (wait === undefined) return res;
      log(`GitHub GraphQL rate limit reached; waiting ${wait} s as GitHub asks`);
      await new Promise((r) => setTimeout(r, wait * base));
    }
  });
  return octokit;
}

/**
 * GitHub's GraphQL API signals its rate limit as HTTP 200 with a RATE_LIMITED error. The
 * throttling plugin only recognises it at a path starting with /graphql, so on Enterprise Server
 * (/api/graphql) it would fail the run: waited out here until x-ratelimit-reset, like REST's.
 */
/** A REST write or a GraphQL mutation (a GraphQL query is a read, though it is a POST). */
function createsContent(options: { method?: string; url?: string; query?: unknown }): boolean {
  const method = (options.method ?? 'GET').toUpperCase();
  if (method === 'GET' || method === 'HEAD') return false;
  if (!/\/graphql$/.test(options.url ?? '')) return true;
  return /^\s*mutation\b/.test(String(options.query ?? ''));
}

function graphqlRateLimitWait(
  url: string,
  res: { data: unknown; headers: Record<string, unknown> },
  attempt: number,
  retries: number,
): number | undefined {
  const errors = (res.data as { errors?: { type?: string }[] } | undefined)?.errors;
  if (!/\/graphql$/.test(url) || !errors?.some((e) => e.type === 'RATE_LIMITED')) return undefined;
  if (attempt >= retries) return undefined;
  const reset = Number(res.headers['x-ratelimit-reset'] ?? 0) * 1000;
  return Math.max(0, Math.ceil((reset - Date.now()) / 1000) + 1);
}
