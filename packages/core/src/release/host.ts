import type { ManifestFile } from '../manifest/types.js';

// The GitHost port is coarse on purpose: each method is one round trip on GitHub (a GraphQL
// document), so a one-file release pull request costs read + commit (with the pull request
// riding in the same mutation) = 2, and at most 3 on hosts that open it separately.

export type MergeMethod = 'merge' | 'squash' | 'rebase';

export interface BranchHead {
  name: string;
  /** The commit the branch points at. */
  sha: string;
  /**
   * The parents of that commit, when the host read them (optional). For the base, they let a
   * retried push that had already landed be reported as pushed, not as unchanged.
   */
  parents?: string[];
}

export interface PullRequestInfo {
  number: number;
  url: string;
  /** The head branch's name. */
  head: string;
  base: string;
  title: string;
  body: string;
  /** Host-specific node id (GraphQL), when the host has one. */
  id?: string;
  /**
   * The state as the host reported it in the answer to the write (or the read). A release is never
   * added to a pull request that is `merged` or `closed`: the flow opens a new one. Undefined: open.
   */
  state?: 'open' | 'closed' | 'merged';
  /** What the host gave up on while opening it (e.g. a draft the plan does not offer). */
  warnings?: ReleaseWarning[];
}

/**
 * Something the release did without: a label, reviewer, assignee, auto-merge or draft the host
 * refused. The release itself (commit and pull request) stands; the warning says what to change.
 */
export interface ReleaseWarning {
  /** What was refused, as the user asked for it. */
  kind: 'labels' | 'reviewers' | 'assignees' | 'auto-merge' | 'draft' | 'milestone';
  /** The host's own words and what to do. Never a secret. */
  message: string;
}

/** Labels, reviewers, assignees and auto-merge: applied after the pull request exists, best effort. */
export interface PullRequestExtras {
  labels?: string[];
  reviewers?: string[];
  teamReviewers?: string[];
  assignees?: string[];
  autoMerge?: MergeMethod;
  /** The number of the milestone to put the pull request in. */
  milestone?: number;
}

export interface ExtrasResult {
  warnings: ReleaseWarning[];
  /** True when the host merged the pull request at once (auto-merge asked, nothing to wait for). */
  merged?: boolean;
}

export interface ReadRequest {
  /** The branch to release into; undefined means the repository's default branch. */
  base?: string;
  /** The release branch; also read (head, target files, its open pull request) when it exists. */
  branch?: string;
  /** Files, or directories searched recursively for *.yaml and *.yml. */
  paths: string[];
  /** Also list the open pull requests into the base (to close superseded releases). */
  openPullRequests?: boolean;
}

export interface RepositorySnapshot {
  defaultBranch: string;
  base: BranchHead;
  /** The target files at the base head, in the order of `paths`. */
  files: ManifestFile[];
  /** The release branch, when it exists, with the target files at its head. */
  branch?: BranchHead & {
    files: ManifestFile[];
    /** The parents of its head commit, when the host read them (to tell a fresh branch from a leftover). */
    parents?: string[];
  };
  /** The open pull request whose head is the release branch. */
  pullRequest?: PullRequestInfo;
  /** Open pull requests into the base (only when asked for). */
  openPullRequests?: PullRequestInfo[];
}

export interface FileChange {
  path: string;
  text: string;
}

export interface CommitRequest {
  /** The branch to move. */
  branch: string;
  /** Where the branch is as read: its head sha, or null when it does not exist yet. */
  observed: string | null;
  /**
   * The commit to build on. When it differs from `observed` the branch is first created at it
   * (observed null) or reset to it (a leftover release branch is rebuilt from the base).
   */
  parent: string;
  files: FileChange[];
  message: string;
  /**
   * Undefined: the host's own identity (on GitHub the token's, and the commit is signed). Given,
   * GitHub writes the commit through the REST Git Data API, which records it (unsigned).
   */
  author?: GitIdentity;
  committer?: GitIdentity;
  /**
   * The pull request to open or update once the commit lands. A host that can do both in one
   * round trip (GitHub GraphQL: fields of one mutation run in order) returns it in the result;
   * others ignore it and the flow calls upsertPullRequest.
   */
  pullRequest?: PullRequestRequest;
}

/** Who a commit names as its author or committer. */
export interface GitIdentity {
  name: string;
  email: string;
}

export interface CommitResult {
  sha: string;
  /** The pull request, when the host opened or updated it with the commit. */
  pullRequest?: PullRequestInfo;
}

export interface PullRequestRequest {
  /** The open pull request to update; created when undefined. */
  existing?: PullRequestInfo;
  head: string;
  base: string;
  title: string;
  body: string;
  draft?: boolean;
  labels?: string[];
  reviewers?: string[];
  teamReviewers?: string[];
  assignees?: string[];
  autoMerge?: MergeMethod;
  /** The number of the milestone to put the pull request in. */
  milestone?: number;
}

export interface CompareRequest {
  /** The application repository, `OWNER/NAME` on the same host. */
  repository: string;
  /** The deployed commit. */
  base: string;
  /** The commit being released. */
  head: string;
}

export interface AppCommit {
  sha: string;
  /** The first line of the commit message, as written (escape before rendering). */
  message: string;
  author?: string;
}

export interface CommitComparison {
  /** head relative to base: `behind` means head is an ancestor of base (an older release). */
  status: 'ahead' | 'behind' | 'identical' | 'diverged';
  commits: AppCommit[];
  /** A page where people can see the comparison. */
  url?: string;
}

export interface GitHost {
  /** `github` or `git`; shown in messages. */
  readonly kind: string;
  /** The repository as people name it (`owner/name`, or a URL with any secret removed). */
  readonly repository: string;
  /** False for plain git remotes: the release then pushes a branch and stops. */
  readonly supportsPullRequests: boolean;
  /** One round trip: branch heads, target files, the release branch's pull request. */
  read(request: ReadRequest): Promise<RepositorySnapshot>;
  /**
   * Writes one commit onto `branch` whose parent is `parent`, only if the branch is still where it
   * was read (compare-and-swap). Throws ReleaseConflictError when it moved.
   */
  commit(request: CommitRequest): Promise<CommitResult>;
  /**
   * Opens or updates the pull request, with labels, reviewers, assignees and auto-merge — unless the
   * host implements applyExtras, in which case the flow sends those there and they are ignored here.
   */
  upsertPullRequest?(request: PullRequestRequest): Promise<PullRequestInfo>;
  /**
   * Applies labels, reviewers, assignees and auto-merge to a pull request that exists. Never throws
   * for a refusal of one of them: each becomes a warning (the release is already made).
   */
  applyExtras?(pullRequest: PullRequestInfo, extras: PullRequestExtras): Promise<ExtrasResult>;
  /** Closes a pull request after posting `comment` on it; `deleteBranch` also deletes its head branch. */
  closePullRequest?(
    pullRequest: PullRequestInfo,
    comment: string,
    options?: { deleteBranch?: boolean },
  ): Promise<void>;
  /** Compares two commits of an application repository on the same host; undefined when unknown. */
  compareCommits?(request: CompareRequest): Promise<CommitComparison | undefined>;
  /** A page comparing base and branch, for hosts without a pull request API (github.com, gitlab). */
  compareUrl?(base: string, branch: string): string | undefined;
}
