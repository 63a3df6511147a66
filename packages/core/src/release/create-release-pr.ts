import {
  ReleaseConflictError,
  ReleasePullRequestGoneError,
  ReleaseRetriesExhaustedError,
  UsageError,
} from '../errors.js';
import { formatImageReference, type ImageReference } from '../image/reference.js';
import type {
  ImageEditPlan,
  ManifestFile,
  PlanImagesRequest,
  PlannedEdit,
} from '../manifest/types.js';
import { applyExtras, supersededBy } from './extras.js';
import type { ComparisonCache } from './guard.js';
import type {
  GitHost,
  GitIdentity,
  MergeMethod,
  ReleaseWarning,
  RepositorySnapshot,
} from './host.js';
import {
  changesOf,
  DEFAULT_BRANCH_TEMPLATE,
  planRelease,
  type ReleasePlan,
  templateValues,
} from './plan.js';
import { openOrUpdate } from './pull-request.js';
import { checkReleaseBranch, MAX_BODY_LENGTH, releaseBranchName } from './text.js';
import { commitToBranch, pullRequestRequest, pushToBase } from './write.js';

// A release is five steps, each its own function so every host fits without special cases:
// read (host.read) → plan (plan.ts) → write (write.ts) → open or update the request
// (pull-request.ts) → extras (extras.ts). A race anywhere before the request exists starts over
// from the read; nothing after it (extras) can fail the release.

export type ReleaseMode = 'pull-request' | 'push';

export type ReleaseOutcome = 'created' | 'updated' | 'unchanged' | 'pushed' | 'skipped-older';

export { DEFAULT_BRANCH_TEMPLATE, DEFAULT_TITLE_TEMPLATE } from './plan.js';

export interface ReleaseRequest {
  /** The images to release, each with its new tag and/or digest. */
  images: ImageReference[];
  /** Files or directories in the manifest repository (`overlays/staging`). */
  paths: string[];
  /** The branch to release into; default: the repository's default branch. */
  base?: string;
  /** `pull-request` (a person merges; default) or `push` (commit straight onto the base). */
  mode?: ReleaseMode;
  /** Value of `{sha}`: the application commit; default: the first image's tag. */
  sha?: string;
  /** Value of `{app}`: default the application repository's name, else the image's last path part. */
  app?: string;
  branchTemplate?: string;
  titleTemplate?: string;
  /** Default: the title template. */
  messageTemplate?: string;
  /**
   * Text above the generated table (peter-evans/create-pull-request's `body`); a template like the
   * title, Markdown kept as written.
   */
  bodyTemplate?: string;
  /** The commit's author and committer; undefined leaves them to the host (see CommitRequest). */
  author?: GitIdentity;
  committer?: GitIdentity;
  /** The number of the milestone to put the pull request in (peter-evans's `milestone`). */
  milestone?: number;
  labels?: string[];
  reviewers?: string[];
  teamReviewers?: string[];
  assignees?: string[];
  draft?: boolean;
  autoMerge?: MergeMethod;
  /** Close older open release pull requests for the same images and paths. */
  closeSuperseded?: boolean;
  /** With closeSuperseded: also delete the closed pull requests' branches. */
  deleteBranch?: boolean;
  /** Release even when the new commit is older than the deployed one (a deliberate rollback). */
  allowDowngrade?: boolean;
  /** `OWNER/NAME` of the application repository on the same host, for the guard and the body. */
  appRepository?: string;
  /** As the editor's PlanImagesRequest. */
  key?: string;
  addMissing?: boolean;
  /** Read and plan only: nothing is written. */
  dryRun?: boolean;
  /** Markdown put at the top of the pull request body, before the table (promote's summary). */
  description?: string;
}

export interface ReleaseOptions {
  /** The editor (default planImageEdits): plans the edits of all images over all files at once. */
  plan?: (files: ManifestFile[], request: PlanImagesRequest) => ImageEditPlan;
  /** Waits between retries; tests pass a fake. */
  sleep?: (ms: number) => Promise<void>;
  /** In [0, 1): spreads retries of concurrent pipelines apart. */
  random?: () => number;
  /** Milliseconds on a monotonic clock, to time an attempt; tests pass a fake. */
  now?: () => number;
  /** Attempts in all, the first included. */
  maxAttempts?: number;
  /** Progress lines for people (stderr in the CLI). */
  log?: (line: string) => void;
  /**
   * Runs on each read of the base, before planning: a caller that planned from an earlier read
   * (promote) checks here that the files it relies on still hold what it planned from, and throws
   * to stop. The error propagates unchanged.
   */
  onRead?: (snapshot: RepositorySnapshot) => void;
}

export interface ReleasedChange {
  path: string;
  line: number;
  from: string;
  to: string;
}

export interface ReleaseResult {
  result: ReleaseOutcome;
  repository: string;
  base: string;
  /** The release branch (pull-request mode), or the base in push mode. */
  branch?: string;
  /** The commit that carries the release (the branch head when nothing new had to be written). */
  commitSha?: string;
  pullRequest?: { number: number; url: string };
  /** Where to open the pull request by hand, on hosts without a pull request API. */
  compareUrl?: string;
  changedFiles: string[];
  changes: ReleasedChange[];
  closedPullRequests: number[];
  /** Branches of superseded pull requests deleted (with deleteBranch). */
  deletedBranches?: string[];
  attempts: number;
  dryRun: boolean;
  /** One line for people. */
  message: string;
  title?: string;
  body?: string;
  /** The planned edits with whole texts (for a dry run's diff). */
  edits: PlannedEdit[];
  /** What the release did without (a refused label, reviewer, auto-merge, draft…); never fatal. */
  warnings: ReleaseWarning[];
  /**
   * The release pull request that was merged or closed while this release was written
   * (`closed-or-merged` when its branch vanished with it, so the host could not say which).
   */
  replacedPullRequest?: {
    number: number;
    url: string;
    state: 'merged' | 'closed' | 'closed-or-merged';
  };
  /** True when auto-merge was asked and the pull request was merged at once (nothing to wait for). */
  merged?: boolean;
}

/**
 * Releases images into a manifest repository: reads only the target files, edits them with the
 * editor, writes one commit (onto a release branch, or the base in push mode) and opens or updates
 * the pull request. Retries from the read when a branch moved under it.
 */
export async function createReleasePr(
  request: ReleaseRequest,
  host: GitHost,
  options: ReleaseOptions = {},
): Promise<ReleaseResult> {
  validate(request);
  const sleep = options.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  const random = options.random ?? Math.random;
  const now = options.now ?? (() => performance.now());
  const maxAttempts = options.maxAttempts ?? 12;
  const log = options.log ?? (() => {});
  const run: RunState = { comparisons: new Map() };

  let lastConflict: unknown;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const started = now();
    try {
      return await attemptRelease(request, host, options, attempt, run, log);
    } catch (err) {
      if (!(err instanceof ReleaseConflictError)) throw err;
      if (err instanceof ReleasePullRequestGoneError) run.replaced = { ...err.pullRequest };
      lastConflict = err;
      if (attempt === maxAttempts) break;
      // Full jitter over an exponential window of attempts: parallel pipelines stop colliding in
      // step. The window's unit is how long an attempt took (at least 100 ms): a slow host or
      // machine spreads the retries over as many attempts' time, not over a fixed 100 ms.
      const unit = Math.max(100, now() - started);
      const window = Math.min(30_000, unit * 2 ** (attempt - 1));
      const delay = Math.round(random() * window);
      log(`${err.message.split(';')[0]}; re-reading and retrying in ${delay} ms`);
      await sleep(delay);
    }
  }
  throw new ReleaseRetriesExhaustedError(maxAttempts, lastConflict);
}

function validate(request: ReleaseRequest): void {
  if (request.images.length === 0)
    throw new UsageError('give at least one image', { input: 'image' });
  if (request.paths.length === 0) throw new UsageError('give at least one path', { input: 'path' });
  if (request.deleteBranch && !request.closeSuperseded)
    throw new UsageError(
      '--delete-branch deletes the branches of superseded pull requests: it goes with --close-superseded',
      { input: 'delete-branch' },
    );
  if ((request.bodyTemplate?.length ?? 0) > MAX_BODY_LENGTH - 4096)
    throw new UsageError(
      `the pull request body is ${request.bodyTemplate!.length} characters; GitHub takes at most ${MAX_BODY_LENGTH} with the generated table, so keep it under ${MAX_BODY_LENGTH - 4096}`,
      { input: 'body' },
    );
  for (const image of request.images) {
    if (!image.tag && !image.digest) {
      throw new UsageError(`image "${formatImageReference(image)}" has no tag or digest`, {
        input: 'image',
      });
    }
  }
}

/** What one run carries from attempt to attempt. */
interface RunState {
  comparisons: ComparisonCache;
  replaced?: NonNullable<ReleaseResult['replacedPullRequest']>;
  /** The open release pull request an earlier attempt read. */
  seen?: { number: number; url: string };
  /** Push mode: the base head an attempt whose write failed built on. */
  pushedOnto?: string;
}

/** Step 1: one round trip for the branch heads, the target files and the release pull request. */
function readRepository(
  request: ReleaseRequest,
  host: GitHost,
  branch: string | undefined,
): Promise<RepositorySnapshot> {
  return host.read({
    ...(request.base === undefined ? {} : { base: request.base }),
    ...(branch === undefined ? {} : { branch }),
    paths: request.paths,
    openPullRequests:
      branch !== undefined && request.closeSuperseded === true && !!host.closePullRequest,
  });
}

function releaseBranch(request: ReleaseRequest): string | undefined {
  if ((request.mode ?? 'pull-request') !== 'pull-request') return undefined;
  const values = templateValues(request, request.base ?? '');
  const branch = releaseBranchName(request.branchTemplate ?? DEFAULT_BRANCH_TEMPLATE, values);
  // Refused before anything is fetched when the base is named; else once the read names it.
  if (request.base !== undefined) checkReleaseBranch(branch, request.base);
  return branch;
}

function newResult(
  request: ReleaseRequest,
  host: GitHost,
  plan: ReleasePlan,
  attempt: number,
  run: RunState,
): ReleaseResult {
  return {
    result: 'unchanged',
    repository: host.repository,
    base: plan.base,
    changedFiles: plan.basePlan.edits.map((e) => e.path),
    changes: changesOf(plan.basePlan.edits),
    closedPullRequests: [],
    attempts: attempt,
    dryRun: request.dryRun === true,
    message: '',
    edits: plan.basePlan.edits,
    warnings: [],
    ...(run.replaced ? { replacedPullRequest: run.replaced } : {}),
  };
}

async function attemptRelease(
  request: ReleaseRequest,
  host: GitHost,
  options: ReleaseOptions,
  attempt: number,
  run: RunState,
  log: (line: string) => void,
): Promise<ReleaseResult> {
  const branch = releaseBranch(request);
  const snapshot = await readRepository(request, host, branch);
  options.onRead?.(snapshot);
  if (branch !== undefined) checkReleaseBranch(branch, snapshot.base.name);
  // The pull request an earlier attempt added to is no longer open (merged with its branch
  // deleted, say): this attempt opens a new one, and the result names the old one.
  if (run.seen && snapshot.pullRequest?.number !== run.seen.number && !run.replaced)
    run.replaced = { ...run.seen, state: 'closed-or-merged' };
  if (snapshot.pullRequest)
    run.seen = { number: snapshot.pullRequest.number, url: snapshot.pullRequest.url };
  const plan = await planRelease(request, host, snapshot, branch, options, run.comparisons);
  const result = newResult(request, host, plan, attempt, run);
  const imagesText = request.images.map(formatImageReference).join(', ');
  if (plan.upToDate) {
    // A push whose answer was lost (a 5xx after GitHub made the commit, then a retry that met
    // the moved branch) landed after all: the head sits on the commit that attempt built on.
    if (branch === undefined && run.pushedOnto && snapshot.base.parents?.includes(run.pushedOnto)) {
      result.result = 'pushed';
      result.branch = plan.base;
      result.commitSha = snapshot.base.sha;
      result.message = `pushed ${snapshot.base.sha.slice(0, 7)} onto ${plan.base} of ${host.repository}: ${imagesText} (built on the head an earlier attempt wrote onto: a retried write had landed, or another run released the same)`;
      return result;
    }
    result.message = `${plan.base} of ${host.repository} already deploys ${imagesText}; nothing to release`;
    return result;
  }
  if (plan.guard?.older) {
    const { from, to } = plan.guard.older;
    result.result = 'skipped-older';
    result.message = `${to} is older than the deployed ${from} (an ancestor of it in ${request.appRepository}); skipped. Pass --allow-downgrade to roll back on purpose`;
    return result;
  }
  if (branch === undefined) {
    if (!request.dryRun) run.pushedOnto = snapshot.base.sha;
    return pushRelease(request, host, plan, result, imagesText);
  }
  return pullRequestRelease(request, host, plan, result, imagesText, log);
}

async function pushRelease(
  request: ReleaseRequest,
  host: GitHost,
  plan: ReleasePlan,
  result: ReleaseResult,
  imagesText: string,
): Promise<ReleaseResult> {
  result.branch = plan.base;
  result.result = 'pushed';
  if (request.dryRun) {
    result.message = `dry run: would push one commit onto ${plan.base} of ${host.repository}`;
    return result;
  }
  const written = await pushToBase(plan, host, identities(request));
  result.commitSha = written.commitSha;
  result.message = `pushed ${written.commitSha.slice(0, 7)} onto ${plan.base} of ${host.repository}: ${imagesText}`;
  return result;
}

async function pullRequestRelease(
  request: ReleaseRequest,
  host: GitHost,
  plan: ReleasePlan,
  result: ReleaseResult,
  imagesText: string,
  log: (line: string) => void,
): Promise<ReleaseResult> {
  const branch = plan.branch!;
  const { snapshot, base, title } = plan;
  result.branch = branch;
  result.title = title;
  result.body = plan.body;
  result.changes = plan.rows;
  result.changedFiles = [...new Set(plan.rows.map((r) => r.path))];

  if (request.dryRun) return dryRunMessage(host, plan, result);

  const prRequest = pullRequestRequest(request, plan, host);
  const written = await commitToBranch(plan, host, prRequest, identities(request));
  result.commitSha = written.commitSha;

  if (!prRequest) {
    const url = host.compareUrl?.(base, branch);
    if (url) result.compareUrl = url;
    const where = `branch ${branch} of ${host.repository}`;
    const open = url ? `; open the pull request at ${url}` : '';
    // A re-run whose branch already carries the images pushed nothing, and says so.
    result.result = written.wrote ? 'pushed' : 'unchanged';
    result.message = written.wrote
      ? `pushed ${written.commitSha.slice(0, 7)} to ${where}${open}`
      : `${where} is already up to date (${written.commitSha.slice(0, 7)} carries ${imagesText}); nothing pushed${open}`;
    return result;
  }

  const pr = await openOrUpdate(
    request,
    host,
    plan,
    prRequest,
    written.pullRequest,
    written.commitSha,
    result,
  );
  const created = !snapshot.pullRequest;
  result.result = created ? 'created' : 'updated';
  result.pullRequest = { number: pr.number, url: pr.url };
  result.warnings.push(...(pr.warnings ?? []));
  const gone = result.replacedPullRequest;
  const replaced = gone
    ? ` (#${gone.number} was ${gone.state === 'closed-or-merged' ? 'closed or merged' : gone.state} meanwhile)`
    : '';
  result.message = `${result.result} pull request #${pr.number} (${pr.url}) from ${branch} into ${base}${replaced}: ${title}`;

  const extras = await applyExtras(request, host, pr, created);
  result.warnings.push(...extras.warnings);
  if (extras.merged) {
    result.merged = true;
    result.message += '; merged at once, as it had nothing to wait for';
  }
  for (const warning of result.warnings) log(`warning: ${warning.message}`);

  if (request.closeSuperseded && host.closePullRequest) {
    for (const other of supersededBy(snapshot, plan.marker, pr, branch)) {
      await host.closePullRequest(
        other,
        `Superseded by #${pr.number} (${pr.url}), which releases ${imagesText}. Closed by gitops-release${request.deleteBranch ? `, which also deleted its branch ${other.head}` : ''}.`,
        { deleteBranch: request.deleteBranch === true },
      );
      result.closedPullRequests.push(other.number);
      if (request.deleteBranch)
        result.deletedBranches = [...(result.deletedBranches ?? []), other.head];
      log(
        `closed superseded pull request #${other.number}${request.deleteBranch ? ` and deleted its branch ${other.head}` : ''}`,
      );
    }
  }
  return result;
}

function dryRunMessage(host: GitHost, plan: ReleasePlan, result: ReleaseResult): ReleaseResult {
  const { snapshot, base, title, branch } = plan;
  result.result = snapshot.pullRequest
    ? 'updated'
    : host.supportsPullRequests
      ? 'created'
      : 'pushed';
  const action = snapshot.pullRequest
    ? `update pull request #${snapshot.pullRequest.number} from ${branch}`
    : host.supportsPullRequests
      ? `open a pull request from ${branch}`
      : `push branch ${branch} (to be merged`;
  result.message = `dry run: would ${action} into ${base}${host.supportsPullRequests ? '' : ')'}: ${title}`;
  return result;
}

function identities(request: ReleaseRequest): { author?: GitIdentity; committer?: GitIdentity } {
  return {
    ...(request.author ? { author: request.author } : {}),
    ...(request.committer ? { committer: request.committer } : {}),
  };
}
