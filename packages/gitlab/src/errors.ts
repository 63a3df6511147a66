import {
  GitopsReleaseError,
  HostAuthenticationError,
  HostNotFoundError,
  HostPermissionError,
  HostRequestError,
} from '@gitops-release/core';
import { GitLabApiError } from './client.js';

/** What the call was doing, so a refusal can name the scope or role it needs. */
export type Operation = 'read' | 'write' | 'merge-request' | 'auto-merge' | 'compare';

const NEEDS: Record<Operation, string> = {
  read: 'the read_api (or api) scope and at least the Reporter role in the project',
  write:
    'the api scope and at least the Developer role in the project, and for a protected branch "Allowed to push and merge" for that role (a project access token is a bot user with the role it was created with)',
  'merge-request': 'the api scope and at least the Developer role in the project',
  'auto-merge':
    'the api scope and a role allowed to merge into the target branch (Developer, or Maintainer for a protected target)',
  compare: 'the read_api scope and at least the Reporter role in the application project',
};

/**
 * Races GitLab reports as 400/409 with these words: the conditional write of a file, a branch
 * created meanwhile, Gitaly's ref update losing to a concurrent write, a merge request opened
 * meanwhile. Matched by text because GitLab gives them no code of their own
 * (lib/api/commits.rb: `render_api_error!(result[:message], 400)`).
 */
const RACE =
  /The file has changed since you started editing it|A branch called .* already exists|Could not update .*(refresh|try again)|Another open merge request already exists for this source branch/i;

export function isRace(err: unknown): boolean {
  return (
    err instanceof GitLabApiError &&
    (err.status === 400 || err.status === 409) &&
    RACE.test(err.said)
  );
}

export function redact(text: string, secrets: readonly string[]): string {
  return secrets.filter((s) => s.length >= 4).reduce((t, s) => t.split(s).join('***'), text);
}

export interface ErrorContext {
  project: string;
  secrets: readonly string[];
  /** The variable the token came from, named in messages. */
  tokenEnv: string;
  /** The token is CI_JOB_TOKEN: its limits are named in every refusal. */
  jobToken: boolean;
}

// https://docs.gitlab.com/ci/jobs/ci_job_token/ lists the endpoints a job token may call; the
// Commits API and creating merge requests are not among them.
const JOB_TOKEN =
  'CI_JOB_TOKEN cannot create commits or merge requests through the API, in this project or another (GitLab allows a job token only on the endpoints listed at https://docs.gitlab.com/ci/jobs/ci_job_token/). Use a project access token (or group access token) with the api scope and the Developer role, stored as a masked CI/CD variable and named with --token-env; or, with only a deploy key or deploy token, use --host git --merge-request (push options).';

/** Turns a GitLab failure into a named error saying which scope, role or setting is missing. */
export function toHostError(err: unknown, operation: Operation, ctx: ErrorContext): Error {
  if (err instanceof GitopsReleaseError) return err;
  if (!(err instanceof GitLabApiError)) {
    return new HostRequestError(
      `GitLab request failed for ${ctx.project}: ${redact(String((err as Error)?.message ?? err), ctx.secrets)}`,
    );
  }
  const said = redact(err.said, ctx.secrets);
  const job = ctx.jobToken ? ` ${JOB_TOKEN}` : '';
  const scope = (err.body as { scope?: string } | undefined)?.scope;
  if (err.status === 401) {
    return new HostAuthenticationError(
      `GitLab refused the token (HTTP 401: ${said}). Set a valid token in ${ctx.tokenEnv} (--token-env); it may be missing, expired or revoked.${job}`,
      { input: 'token-env' },
    );
  }
  if (err.status === 403) {
    const what = operation === 'read' || operation === 'compare' ? 'read' : 'change';
    const scopeText = scope
      ? ` The token lacks the "${scope}" scope (GitLab: insufficient_scope); create it with the api scope.`
      : /protected|not allowed to push/i.test(said)
        ? " The branch is protected: allow the token's role to push there (Settings → Repository → Protected branches), or release through a merge request (--mode pull-request)."
        : '';
    return new HostPermissionError(
      `GitLab refused to ${what} ${ctx.project} (HTTP 403: ${said}).${scopeText} The token needs ${NEEDS[operation]}.${job}`,
      { input: 'token-env' },
    );
  }
  if (err.status === 404) {
    return new HostNotFoundError(
      `GitLab answered 404 for ${ctx.project} (${said}): the project, branch or path does not exist, or the token cannot see it. Check --repo (GROUP/SUBGROUP/PROJECT or the numeric id), --gitlab-url and --base, and that the token is a member of the project.${job}`,
      { input: 'repo' },
    );
  }
  return new HostRequestError(
    `GitLab refused a ${operation} of ${ctx.project} (HTTP ${err.status || 'no answer'}: ${said})${ctx.jobToken && err.status === 405 ? job : ''}`,
  );
}
