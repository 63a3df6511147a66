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
  // A bare host (https://github.example.com) is an Enterprise Server: its API lives under /api/v3.
  if (/^https?:\/\/[^/]+$/.test(url)) return `${url}/api/v3`;
  return url;
}

/** One Octokit for REST and GraphQL (GHES: /api/v3 → /api/graphql), retrying and throttled. */
export function createGitHubClient(options: GitHubClientOptions): GitHubClient {
  const log = options.log ?? (() => {});
  const retries = options.retries ?? 3;
  const base = options.retryBaseMs ?? 1000;
  return new RetryingOctokit({
    auth: options.token,
    baseUrl: restBaseUrl(options.baseUrl),
    userAgent: 'gitops-release',
    log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
    request: options.fetch ? { fetch: options.fetch } : {},
    retry: { retries, retryAfterBaseValue: base },
    throttle: {
      retryAfterBaseValue: base,
      // A release makes three requests; the plugin's default one-second spacing of writes (meant
      // for bulk content creation) would only add latency. Limits GitHub signals are still obeyed.
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
}
