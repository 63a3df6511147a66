import { HostRefusedError, HostRuleError, ReleaseConflictError } from '@gitops-release/core';
import { type Operation, redact, toHostError } from './errors.js';

// GitHub's refusals, classified per field of a mutation (or per REST call) — never by one pattern
// over every message. Only three answers are races (the flow re-reads and tries again): the
// commit's stale head, a ref update that is not a fast-forward, and "already exists" for a branch
// or a pull request. Everything else is an error of its kind, raised at once in GitHub's words.

export interface FieldError {
  type?: string;
  path?: (string | number)[];
  message: string;
}

/** The GraphQL field errors of a failed document (none for an HTTP-level failure). */
export function fieldErrors(err: unknown): FieldError[] {
  const errors = (err as { errors?: unknown })?.errors;
  return Array.isArray(errors) ? (errors as FieldError[]) : [];
}

/** The first error of the named top-level field. */
export function errorOf(errors: FieldError[], field: string): FieldError | undefined {
  return errors.find((e) => e.path?.[0] === field);
}

export type RaceField = 'createRef' | 'updateRef' | 'createCommitOnBranch' | 'createPullRequest';

/**
 * Whether a field's refusal is another writer winning. createCommitOnBranch: STALE_DATA "Expected
 * branch to point to …" (GitHub's expectedHeadOid check), or a branch we read that is gone (merged
 * and deleted). createRef / createPullRequest: "already exists". updateRef: not a fast-forward.
 */
export function isRace(field: RaceField, e: FieldError, branchExisted: boolean): boolean {
  switch (field) {
    case 'createCommitOnBranch':
      return (
        e.type === 'STALE_DATA' ||
        /expected branch to point to/i.test(e.message) ||
        (branchExisted && e.type === 'NOT_FOUND' && /resolve to a ref/i.test(e.message))
      );
    case 'createRef':
    case 'createPullRequest':
      return /already exists/i.test(e.message);
    case 'updateRef':
      return e.type === 'STALE_DATA' || /not a fast.?forward/i.test(e.message);
  }
}

/** A repository rule (ruleset or branch protection) speaking, as GitHub words it. */
export function isRuleRefusal(type: string | undefined, message: string): boolean {
  return (
    type === 'BRANCH_PROTECTION_RULE_VIOLATION' ||
    /rule violations? found|protected branch|changes must be made through a pull request|creations being restricted|cannot update this protected ref|reference update failed/i.test(
      message,
    )
  );
}

export interface RefusalContext {
  repository: string;
  secrets: readonly string[];
  /** Appended to permission and visibility errors (the workflow-token hint), when known. */
  tokenHint?: string;
}

/** The error a refusal is, with GitHub's message and what to do; `after` says what stands. */
export function refusalError(
  e: FieldError,
  operation: Operation,
  ctx: RefusalContext,
  what: string,
  after = '',
): Error {
  const said = redact(e.message, ctx.secrets).trim();
  if (e.type === 'FORBIDDEN' || e.type === 'NOT_FOUND' || e.type === 'UNAUTHORIZED') {
    const status = e.type === 'FORBIDDEN' ? 403 : e.type === 'NOT_FOUND' ? 404 : 401;
    const err = toHostError(
      { status, message: said },
      operation,
      ctx.repository,
      ctx.secrets,
      ctx.tokenHint,
    );
    if (after) err.message += ` ${after}`;
    return err;
  }
  if (isRuleRefusal(e.type, said)) {
    return new HostRuleError(
      `a rule of ${ctx.repository} refused ${what} (GitHub: "${said}"). Retrying cannot help: change the ruleset or branch protection (Settings → Rules → Rulesets, or Settings → Branches) so this token may do it — e.g. allow creating release-* branches, or add the GitHub App to the bypass list — or release with --mode pull-request into a protected base, or another --branch template.${after ? ` ${after}` : ''}`,
      { input: operation === 'write' ? 'branch' : 'repo' },
    );
  }
  return new HostRefusedError(
    `GitHub refused ${what} in ${ctx.repository} (${e.type ? `${e.type}: ` : ''}${said}).${after ? ` ${after}` : ''}`,
  );
}

/** A race, raised for the flow to re-read and retry. */
export function raceError(
  branch: string,
  e: FieldError,
  secrets: readonly string[],
  cause: unknown,
) {
  return new ReleaseConflictError(branch, redact(e.message, secrets).trim(), cause);
}

/** GitHub's REST error as one line: the message and every errors[] entry (never just "Validation Failed"). */
export function restDetail(err: unknown): string {
  const data = (err as { response?: { data?: unknown } })?.response?.data as
    | { message?: string; errors?: unknown[] }
    | undefined;
  const message = data?.message ?? (err as { message?: string })?.message ?? String(err);
  const details = (data?.errors ?? []).map((x) => {
    if (typeof x === 'string') return x;
    const o = x as { message?: string; code?: string; field?: string; resource?: string };
    return o.message ?? [o.resource, o.field, o.code].filter(Boolean).join(' ');
  });
  return details.length ? `${message}: ${details.join('; ')}` : message;
}

export function restStatus(err: unknown): number | undefined {
  return (err as { status?: number })?.status;
}

/** A REST refusal as a FieldError, so REST and GraphQL share one classification. */
export function restFieldError(err: unknown): FieldError {
  const status = restStatus(err);
  const type =
    status === 403
      ? 'FORBIDDEN'
      : status === 404
        ? 'NOT_FOUND'
        : status === 401
          ? 'UNAUTHORIZED'
          : undefined;
  return { ...(type ? { type } : {}), message: restDetail(err) };
}
