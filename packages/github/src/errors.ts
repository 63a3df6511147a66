import {
  GitopsReleaseError,
  HostAuthenticationError,
  HostNotFoundError,
  HostPermissionError,
  HostRequestError,
  HostUnreachableError,
} from '@gitops-release/core';

/** What the call was doing, so a 403 can name the permission it needs. */
export type Operation = 'read' | 'write' | 'pull-request' | 'issues' | 'auto-merge' | 'compare';

const PERMISSION: Record<Operation, string> = {
  read: '"contents: read" (a classic token needs the "repo" scope for a private repository)',
  write:
    '"contents: write" (for GITHUB_TOKEN: `permissions: contents: write` in the workflow; a protected base branch must also allow this actor to push in push mode)',
  'pull-request':
    '"pull-requests: write" (for GITHUB_TOKEN also "Allow GitHub Actions to create and approve pull requests" in the repository or organization settings)',
  issues: '"issues: write" and "pull-requests: write" (labels, assignees and reviewers)',
  'auto-merge':
    '"pull-requests: write" and "contents: write", and "Allow auto-merge" enabled in the repository settings',
  compare: '"contents: read" on the application repository',
};

interface HttpishError {
  status?: number;
  request?: { url?: string };
  cause?: unknown;
  message?: string;
  response?: { headers?: Record<string, string | undefined>; data?: unknown };
  errors?: { type?: string; message?: string }[];
}

export function redact(text: string, secrets: readonly string[]): string {
  return secrets.filter((s) => s.length >= 4).reduce((t, s) => t.split(s).join('***'), text);
}

const CONNECT_CODES =
  /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|ERR_TLS|UND_ERR_CONNECT)/;

/**
 * The system error code when the request never got an answer. Octokit reports such a failure as
 * "HTTP 500" with no response (@octokit/request's fetch wrapper); the cause carries the real code.
 */
function connectionFailure(err: HttpishError): string | undefined {
  if (err.response !== undefined) return undefined;
  for (let c: unknown = err, depth = 0; c && depth < 4; depth++) {
    const code = (c as { code?: unknown }).code;
    if (typeof code === 'string' && CONNECT_CODES.test(code)) return code;
    c = (c as { cause?: unknown }).cause;
  }
  return undefined;
}

function githubMessage(err: HttpishError): string {
  const data = err.response?.data as { message?: string } | undefined;
  if (data && typeof data.message === 'string') return data.message;
  if (err.errors?.length) return err.errors.map((e) => e.message ?? '').join('; ');
  return err.message ?? String(err);
}

/**
 * Turns an Octokit failure into a named error that says which permission or which repository
 * access is missing. The token never appears: messages are built here and redacted again.
 */
export function toHostError(
  err: unknown,
  operation: Operation,
  repository: string,
  secrets: readonly string[],
  tokenHint?: string,
): Error {
  if (err instanceof GitopsReleaseError) return err;
  const e = (err ?? {}) as HttpishError;
  const refused = connectionFailure(e);
  if (refused) {
    const url = e.request?.url ? new URL(e.request.url).origin : 'the GitHub API';
    return new HostUnreachableError(
      `cannot connect to ${url} (${refused}) while ${operation === 'read' ? 'reading' : 'writing'} ${repository}: check --github-url (default $GITHUB_API_URL) and this runner's network${operation === 'read' ? '; nothing was written' : '; re-running is safe'}.`,
      { input: 'github-url', cause: err },
    );
  }
  const said = redact(githubMessage(e), secrets);
  const types = new Set((e.errors ?? []).map((x) => x.type));
  const status =
    e.status ?? (types.has('NOT_FOUND') ? 404 : types.has('FORBIDDEN') ? 403 : undefined);
  const accepted = e.response?.headers?.['x-accepted-github-permissions'];
  if (status === 401) {
    return new HostAuthenticationError(
      `GitHub refused the token (HTTP 401: ${said}). Set a valid token in the variable named by --token-env (default GH_TOKEN, then GITHUB_TOKEN); it may be missing, expired or revoked.`,
      { input: 'token-env' },
    );
  }
  // The repository or organization setting, not a permission of the token: GitHub's default for
  // new repositories since 2022 (github.blog changelog 2022-05-03; peter-evans/create-pull-request#3979).
  if (status === 403 && /not permitted to create or approve pull requests/i.test(said)) {
    return new HostPermissionError(
      `GitHub refused to open the pull request in ${repository} (HTTP 403: ${said}). A workflow's GITHUB_TOKEN may open pull requests only when "Allow GitHub Actions to create and approve pull requests" is on (Settings → Actions → General → Workflow permissions, in the repository or its organization); or use a GitHub App token.`,
      { input: 'token-env' },
    );
  }
  if ((status === 403 || status === 404) && tokenHint) {
    const Err = status === 403 ? HostPermissionError : HostNotFoundError;
    return new Err(
      `GitHub ${status === 403 ? 'refused to change' : 'answered 404 for'} ${repository} (HTTP ${status}: ${said}). ${tokenHint}`,
      { input: 'token-env' },
    );
  }
  if (status === 403) {
    return new HostPermissionError(
      `GitHub refused to ${operation === 'read' ? 'read' : 'change'} ${repository} (HTTP 403: ${said}). The token needs ${PERMISSION[operation]}${accepted ? `; GitHub accepts: ${accepted}` : ''}.`,
      { input: 'token-env' },
    );
  }
  if (status === 404) {
    return new HostNotFoundError(
      `GitHub answered 404 for ${repository} (${said}): the repository, branch or path does not exist, or the token cannot see it. Check --repo and --base, and that the token is granted this repository (a GitHub App must be installed on it; a fine-grained token must list it).`,
      { input: 'repo' },
    );
  }
  return new HostRequestError(
    `GitHub request failed while ${operation === 'read' ? 'reading' : 'writing'} ${repository}${status ? ` (HTTP ${status})` : ''}: ${said}`,
  );
}
