// Every error gitops-release raises on purpose lives here, each saying what a user needs to fix it.
// Adapters convert library errors (Octokit, fetch, child processes) into these once, at their edge.

/** Where in a user's file something went wrong; line and column are 1-based. */
export interface SourceLocation {
  file?: string;
  line?: number;
  column?: number;
}

export function formatLocation(loc: SourceLocation): string {
  if (!loc.file) return loc.line ? `line ${loc.line}` : '';
  if (!loc.line) return loc.file;
  return loc.column ? `${loc.file}:${loc.line}:${loc.column}` : `${loc.file}:${loc.line}`;
}

export abstract class GitopsReleaseError extends Error {
  /** Stable, machine-readable name of the failure, e.g. `manifest-parse`. */
  abstract readonly code: string;
  /** The input (CLI flag or action input) the user should look at, when there is one. */
  readonly input: string | undefined;
  readonly location: SourceLocation | undefined;

  constructor(
    message: string,
    options: { input?: string; location?: SourceLocation; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.input = options.input;
    this.location = options.location;
  }
}

/** A command was called wrongly: missing or malformed flag or input. CLIs exit 2 on it. */
export class UsageError extends GitopsReleaseError {
  readonly code = 'usage';
}

/** A YAML file that does not parse. Carries file, line and column. */
export class ManifestParseError extends GitopsReleaseError {
  readonly code = 'manifest-parse';
  constructor(message: string, location: SourceLocation, cause?: unknown) {
    super(`${formatLocation(location)}: ${message}`, { location, cause });
  }
}

/** A string that is not a valid image reference, tag or digest under the OCI reference grammar. */
export class InvalidImageReferenceError extends GitopsReleaseError {
  readonly code = 'invalid-image-reference';
  constructor(
    readonly value: string,
    reason: string,
    input?: string,
  ) {
    super(`${input ? `${input}: ` : ''}"${value}" is not a valid image reference: ${reason}`, {
      ...(input === undefined ? {} : { input }),
    });
  }
}

/** The requested image appears nowhere in the files; lists what the files do contain. */
export class ImageNotFoundError extends GitopsReleaseError {
  readonly code = 'image-not-found';
  constructor(
    readonly requested: string,
    readonly found: readonly string[],
    where: string,
  ) {
    const list = found.length
      ? `the images found there are:\n${found.map((f) => `  - ${f}`).join('\n')}`
      : 'no image references were found there';
    super(`image "${requested}" was not found in ${where}; ${list}`, { input: 'image' });
  }
}

/**
 * An image value that must not be rewritten blindly: a YAML alias, a Helm template (`{{ … }}`)
 * or a `$(VAR)` substitution. The user has to edit the place the value really comes from.
 */
export class UneditableValueError extends GitopsReleaseError {
  readonly code = 'uneditable-value';
  constructor(message: string, location: SourceLocation) {
    super(`${formatLocation(location)}: ${message}`, { location });
  }
}

/** A path given for editing that is not there, or that leads outside the tree (a symlink). */
export class PathError extends GitopsReleaseError {
  readonly code = 'path';
}

/** A `--key` path that does not exist in the file or does not lead to a scalar. */
export class KeyPathError extends GitopsReleaseError {
  readonly code = 'key-path';
}

/**
 * An edit whose result no longer parses as YAML. It is a bug of gitops-release, never of the file:
 * the plan fails before anything is written.
 */
export class EditVerificationError extends GitopsReleaseError {
  readonly code = 'edit-verification';
  constructor(file: string, reason: string) {
    super(
      `${file}: the edited text would not parse as YAML (${reason}); nothing was written. This is a bug in gitops-release: please report it with the file`,
      { location: { file } },
    );
  }
}

// --- build and push ---

/** No image builder could be used; names each one that was looked for and why it did not fit. */
export class BuilderNotFoundError extends GitopsReleaseError {
  readonly code = 'builder-not-found';
  constructor(readonly lookedFor: readonly { name: string; reason: string }[]) {
    super(
      `no image builder can be used here; looked for:\n${lookedFor
        .map((b) => `  - ${b.name}: ${b.reason}`)
        .join(
          '\n',
        )}\nInstall one of them (docker with a running daemon, buildah or podman) or pick one with --builder.`,
      { input: 'builder' },
    );
  }
}

/** The registry (or its token service) refused the credentials. The password is never part of it. */
export class RegistryLoginError extends GitopsReleaseError {
  readonly code = 'registry-login';
  constructor(
    readonly registry: string,
    readonly username: string | undefined,
    detail: string,
  ) {
    super(
      username === undefined
        ? `registry ${registry} requires a login (${detail}): pass --username with --password-env, --password-stdin or --gcp-key-env`
        : `registry ${registry} refused the login of user "${username}" (${detail}): check the user name and the password or token it was given`,
      { input: 'username' },
    );
  }
}

/** The registry could not be reached at all (connection refused, DNS, TLS). */
export class RegistryUnreachableError extends GitopsReleaseError {
  readonly code = 'registry-unreachable';
  constructor(
    readonly registry: string,
    detail: string,
    cause?: unknown,
  ) {
    super(
      `cannot connect to registry ${registry} (${detail}): check the registry host in --image and the network of this runner`,
      { input: 'image', cause },
    );
  }
}

/** The registry answered in a way the distribution API does not allow for (5xx, garbage). */
export class RegistryResponseError extends GitopsReleaseError {
  readonly code = 'registry-response';
  constructor(
    readonly registry: string,
    readonly status: number,
    detail: string,
  ) {
    super(
      `registry ${registry} answered HTTP ${status} (${detail}); retry, or check the registry`,
      {
        input: 'image',
      },
    );
  }
}

/** The builder ran and failed; carries the last lines it printed. */
export class BuildFailedError extends GitopsReleaseError {
  readonly code = 'build-failed';
  constructor(
    readonly builder: string,
    readonly exitCode: number | null,
    readonly lastLines: readonly string[],
    what = 'build',
  ) {
    super(
      `${builder} ${what} failed${exitCode === null ? '' : ` (exit ${exitCode})`}; its last lines:\n${lastLines
        .map((l) => `  | ${l}`)
        .join('\n')}\nFix the Dockerfile or the build context and run again.`,
    );
  }
}

/** The registry refused the push: the user may read but not write this repository, or it is missing. */
export class PushDeniedError extends GitopsReleaseError {
  readonly code = 'push-denied';
  constructor(
    readonly image: string,
    readonly lastLines: readonly string[],
  ) {
    super(
      `the registry refused the push of ${image}; the builder said:\n${lastLines
        .map((l) => `  | ${l}`)
        .join(
          '\n',
        )}\nGive the user push rights on the repository (or create it, e.g. an ECR repository or a Harbor project) and run again.`,
      { input: 'image' },
    );
  }
}

// --- release flow ---

/**
 * The branch moved between the read and the write (another pipeline pushed). The release flow
 * catches it, re-reads, re-applies and tries again; users only see it when retries ran out.
 */
export class ReleaseConflictError extends GitopsReleaseError {
  readonly code = 'release-conflict';
  constructor(
    readonly branch: string,
    detail: string,
    cause?: unknown,
  ) {
    super(
      `branch "${branch}" moved while the release was being written (${detail}); run the release again`,
      { cause },
    );
  }
}

/**
 * The release pull request was merged or closed while the release was being written (the host's
 * answer to the write said so). A conflict: the flow re-reads, rebuilds the branch from the base
 * and opens a new pull request, and the result names this one.
 */
export class ReleasePullRequestGoneError extends ReleaseConflictError {
  constructor(
    branch: string,
    readonly pullRequest: { number: number; url: string; state: 'merged' | 'closed' },
  ) {
    super(
      branch,
      `pull request #${pullRequest.number} was ${pullRequest.state} while the release was being written; the release goes onto a rebuilt branch and a new pull request`,
    );
  }
}

/** Every attempt of a release met a moving branch; the last conflict is the cause. */
export class ReleaseRetriesExhaustedError extends GitopsReleaseError {
  readonly code = 'release-retries-exhausted';
  constructor(
    readonly attempts: number,
    cause: unknown,
  ) {
    super(
      `the release was retried ${attempts} times and the branch kept moving under it; other pipelines are writing to it heavily: run again, or serialize the release jobs`,
      { cause },
    );
  }
}

/** The token was refused (HTTP 401): missing, expired or revoked. Never carries the token. */
export class HostAuthenticationError extends GitopsReleaseError {
  readonly code = 'host-authentication';
}

/** The token is valid but lacks a permission (HTTP 403); the message names the permission. */
export class HostPermissionError extends GitopsReleaseError {
  readonly code = 'host-permission';
}

/** The repository, branch or path is not there, or the token cannot see it (HTTP 404). */
export class HostNotFoundError extends GitopsReleaseError {
  readonly code = 'host-not-found';
}

/**
 * The git host could not be reached at all (connection refused, DNS, TLS): no HTTP status exists,
 * so none is shown. Says which address was tried.
 */
export class HostUnreachableError extends GitopsReleaseError {
  readonly code = 'host-unreachable';
}

/**
 * A rule of the repository refused the write: branch protection or a ruleset on the base (push
 * mode) or on the release branch (a ruleset restricting branch creation). Not a race: retrying
 * cannot help; the message carries the host's words and the rule to change or the bypass to grant.
 */
export class HostRuleError extends GitopsReleaseError {
  readonly code = 'host-rule';
}

/**
 * The host refused a request for a reason of its own that is neither a race, nor a permission, nor
 * a rule (e.g. a validation error); the message carries the host's words.
 */
export class HostRefusedError extends GitopsReleaseError {
  readonly code = 'host-refused';
}

/** The host answered something the release flow cannot use (5xx after retries, bad payload). */
export class HostRequestError extends GitopsReleaseError {
  readonly code = 'host-request';
}

/** A git command failed; the message carries git's own words with any secret removed. */
export class GitCommandError extends GitopsReleaseError {
  readonly code = 'git-command';
}

// --- promote ---

/** Why a promotion was refused; stable values for `--json`. */
export type PromotionRefusal =
  /** `--expect` names a version `--from` no longer (or never) deploys. */
  | 'expect-mismatch'
  /** The image is not deployed in `--from` (or not in `--to`). */
  | 'not-deployed'
  /** Its version in `--from` is a template, an alias or a variable: nothing tested to copy. */
  | 'uneditable'
  /** `--from` deploys the image twice with different versions. */
  | 'ambiguous'
  /** `--to` already deploys a newer commit (`--allow-downgrade` rolls back on purpose). */
  | 'downgrade'
  /** `--pin-digest`: the registry does not know the tag. */
  | 'tag-unknown';

/** A promotion guard said no; nothing was written. `reason` is what `--json` reports. */
export class PromotionRefusedError extends GitopsReleaseError {
  readonly code = 'promotion-refused';
  constructor(
    readonly reason: PromotionRefusal,
    message: string,
    input?: string,
  ) {
    super(message, input === undefined ? {} : { input });
  }
}

/**
 * `--from` changed between the read the promotion was planned from and the read it writes on (a
 * staging release landed). The promotion plans again from the new read; users see it only when
 * `--from` kept moving.
 */
export class PromotionSourceMovedError extends GitopsReleaseError {
  readonly code = 'promotion-source-moved';
}
