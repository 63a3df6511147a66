import { ReleaseConflictError, ReleaseRetriesExhaustedError, UsageError } from '../errors.js';
import {
  canonicalImageName,
  formatImageReference,
  type ImageReference,
  isSameImage,
  tryParseImageReference,
} from '../image/reference.js';
import { findImages, planImageEdits } from '../manifest/editor.js';
import type {
  ImageEditPlan,
  ManifestFile,
  PlanImagesRequest,
  PlannedEdit,
} from '../manifest/types.js';
import type {
  CommitComparison,
  GitHost,
  GitIdentity,
  MergeMethod,
  PullRequestInfo,
  PullRequestRequest,
  RepositorySnapshot,
} from './host.js';
import {
  formatPullRequestBody,
  MAX_BODY_LENGTH,
  parseMarker,
  type ReleaseMarker,
  renderTemplate,
  type TemplateValues,
  toBranchName,
} from './text.js';

export type ReleaseMode = 'pull-request' | 'push';

export type ReleaseOutcome = 'created' | 'updated' | 'unchanged' | 'pushed' | 'skipped-older';

export const DEFAULT_BRANCH_TEMPLATE = 'release-{sha}';
export const DEFAULT_TITLE_TEMPLATE = 'Release {app} {sha}';

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
  /**
   * Text above the generated table (peter-evans/create-pull-request's `body`); a template like the
   * title, Markdown kept as written.
   */
  bodyTemplate?: string;
  /** Default: the title template. */
  messageTemplate?: string;
  /** The commit's author and committer; undefined leaves them to the host (see CommitRequest). */
  author?: GitIdentity;
  committer?: GitIdentity;
  labels?: string[];
  reviewers?: string[];
  teamReviewers?: string[];
  assignees?: string[];
  draft?: boolean;
  autoMerge?: MergeMethod;
  /** Close older open release pull requests for the same images and paths. */
  closeSuperseded?: boolean;
  /** The number of the milestone to put the pull request in (peter-evans's `milestone`). */
  milestone?: number;
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
}

export interface ReleaseOptions {
  /** The editor (default planImageEdits): plans the edits of all images over all files at once. */
  plan?: (files: ManifestFile[], request: PlanImagesRequest) => ImageEditPlan;
  /** Waits between retries; tests pass a fake. */
  sleep?: (ms: number) => Promise<void>;
  /** In [0, 1): spreads retries of concurrent pipelines apart. */
  random?: () => number;
  /** Attempts in all, the first included. */
  maxAttempts?: number;
  /** Progress lines for people (stderr in the CLI). */
  log?: (line: string) => void;
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
}

const HEX_SHA = /^[0-9a-f]{7,40}$/;

function firstTag(image: ImageReference): string {
  return image.tag ?? image.digest?.replace(/^[^:]*:/, '').slice(0, 12) ?? '';
}

function templateValues(request: ReleaseRequest, base: string): TemplateValues {
  const first = request.images[0]!;
  const tag = firstTag(first);
  const app =
    request.app ??
    request.appRepository?.split('/').pop() ??
    first.repository.split('/').pop() ??
    first.repository;
  return { sha: request.sha ?? tag, app, tag, image: formatImageReference(first), base };
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const sa = new Set(a);
  return sa.size === new Set(b).size && b.every((x) => sa.has(x));
}

function applyEdits(files: ManifestFile[], edits: PlannedEdit[]): ManifestFile[] {
  const after = new Map(edits.map((e) => [e.path, e.after]));
  return files.map((f) => ({ path: f.path, text: after.get(f.path) ?? f.text }));
}

/** Images whose value differs between the base's and the branch's version of each file. */
function imageRows(baseFiles: ManifestFile[], branchFiles: ManifestFile[]): ReleasedChange[] {
  const before = new Map(baseFiles.map((f) => [f.path, f.text]));
  const rows: ReleasedChange[] = [];
  for (const file of branchFiles) {
    const old = before.get(file.path);
    if (old === undefined || old === file.text) continue;
    const at = (text: string) => {
      try {
        return findImages(text, { file: file.path });
      } catch {
        return []; // a file another writer broke: its rows are left out, the edit itself is not
      }
    };
    const was = new Map(at(old).map((i) => [`${i.document}|${i.path}`, i.value]));
    for (const image of at(file.text)) {
      const from = was.get(`${image.document}|${image.path}`);
      if (from !== undefined && from !== image.value) {
        rows.push({ path: file.path, line: image.line, from, to: image.value });
      }
    }
  }
  return rows;
}

function changesOf(edits: PlannedEdit[]): ReleasedChange[] {
  return edits.flatMap((e) =>
    e.changes.map((c) => ({ path: e.path, line: c.line, from: c.from, to: c.to })),
  );
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
  if (request.images.length === 0)
    throw new UsageError('give at least one image', { input: 'image' });
  if (request.paths.length === 0) throw new UsageError('give at least one path', { input: 'path' });
  if (request.deleteBranch && !request.closeSuperseded)
    throw new UsageError(
      '--delete-branch deletes the branches of superseded pull requests: it goes with --close-superseded',
      {
        input: 'delete-branch',
      },
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
  const sleep = options.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  const random = options.random ?? Math.random;
  const maxAttempts = options.maxAttempts ?? 12;
  const log = options.log ?? (() => {});
  const comparisons = new Map<string, Promise<CommitComparison | undefined>>();

  let lastConflict: unknown;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    try {
      return await attemptRelease(request, host, options, attempt, comparisons, log);
    } catch (err) {
      if (!(err instanceof ReleaseConflictError)) throw err;
      lastConflict = err;
      if (attempt === maxAttempts) break;
      // Full jitter over an exponential window: parallel pipelines stop colliding in step.
      const window = Math.min(3000, 100 * 2 ** (attempt - 1));
      const delay = Math.round(random() * window);
      log(`${err.message.split(';')[0]}; re-reading and retrying in ${delay} ms`);
      await sleep(delay);
    }
  }
  throw new ReleaseRetriesExhaustedError(maxAttempts, lastConflict);
}

async function attemptRelease(
  request: ReleaseRequest,
  host: GitHost,
  options: ReleaseOptions,
  attempt: number,
  comparisons: Map<string, Promise<CommitComparison | undefined>>,
  log: (line: string) => void,
): Promise<ReleaseResult> {
  const mode = request.mode ?? 'pull-request';
  const prMode = mode === 'pull-request';
  const preValues = templateValues(request, request.base ?? '');
  const branchName = prMode
    ? toBranchName(renderTemplate(request.branchTemplate ?? DEFAULT_BRANCH_TEMPLATE, preValues))
    : undefined;

  const snapshot = await host.read({
    ...(request.base === undefined ? {} : { base: request.base }),
    ...(branchName === undefined ? {} : { branch: branchName }),
    paths: request.paths,
    openPullRequests: prMode && request.closeSuperseded === true && !!host.closePullRequest,
  });
  const base = snapshot.base.name;
  const values = templateValues(request, base);
  const planRequest: PlanImagesRequest = {
    images: request.images,
    ...(request.key === undefined ? {} : { key: request.key }),
    ...(request.addMissing === undefined ? {} : { addMissing: request.addMissing }),
  };
  const plan = options.plan ?? planImageEdits;
  const basePlan = plan(snapshot.files, planRequest);
  const result: ReleaseResult = {
    result: 'unchanged',
    repository: host.repository,
    base,
    changedFiles: basePlan.edits.map((e) => e.path),
    changes: changesOf(basePlan.edits),
    closedPullRequests: [],
    attempts: attempt,
    dryRun: request.dryRun === true,
    message: '',
    edits: basePlan.edits,
  };
  const imagesText = request.images.map(formatImageReference).join(', ');
  if (basePlan.edits.length === 0) {
    result.message = `${base} of ${host.repository} already deploys ${imagesText}; nothing to release`;
    return result;
  }

  // Out-of-order guard: a slower pipeline of an older commit must not replace a newer tag.
  const comparison = await guard(request, host, basePlan, comparisons);
  if (comparison?.older) {
    result.result = 'skipped-older';
    result.message = `${comparison.older.to} is older than the deployed ${comparison.older.from} (an ancestor of it in ${request.appRepository}); skipped. Pass --allow-downgrade to roll back on purpose`;
    return result;
  }

  const title = renderTemplate(request.titleTemplate ?? DEFAULT_TITLE_TEMPLATE, values);
  const message = renderTemplate(
    request.messageTemplate ?? request.titleTemplate ?? DEFAULT_TITLE_TEMPLATE,
    values,
  );
  const marker: ReleaseMarker = {
    images: request.images.map((i) => canonicalImageName(i)).sort(),
    paths: [...request.paths].sort(),
  };

  if (!prMode) {
    result.branch = base;
    if (request.dryRun) {
      result.result = 'pushed';
      result.message = `dry run: would push one commit onto ${base} of ${host.repository}`;
      return result;
    }
    const commit = await host.commit({
      branch: base,
      observed: snapshot.base.sha,
      parent: snapshot.base.sha,
      files: basePlan.edits.map((e) => ({ path: e.path, text: e.after })),
      message,
      ...identities(request),
    });
    result.result = 'pushed';
    result.commitSha = commit.sha;
    result.message = `pushed ${commit.sha.slice(0, 7)} onto ${base} of ${host.repository}: ${imagesText}`;
    return result;
  }

  const branch = branchName!;
  result.branch = branch;
  // A branch with an open release pull request, or one just made on the current base by a
  // concurrent pipeline, is live: add to it, so pipelines sharing a branch all land. Any other
  // existing branch is a leftover of an earlier release: rebuild it from the base.
  const found = snapshot.branch;
  const accumulate =
    found !== undefined &&
    (snapshot.pullRequest !== undefined ||
      found.sha === snapshot.base.sha ||
      (found.parents ?? []).includes(snapshot.base.sha));
  const branchPlan = accumulate ? plan(snapshot.branch!.files, planRequest) : basePlan;
  // The table says what the branch changes against the base, whoever wrote it: computed from the
  // files, not from an earlier body, so concurrent pipelines sharing the branch cannot drop rows.
  let rows = accumulate
    ? imageRows(snapshot.files, applyEdits(snapshot.branch!.files, branchPlan.edits))
    : changesOf(basePlan.edits);
  if (accumulate && snapshot.pullRequest) {
    const previous = parseMarker(snapshot.pullRequest.body);
    if (previous) marker.images = [...new Set([...previous.images, ...marker.images])].sort();
  }
  const bodyFor = (tableRows: ReleasedChange[]) =>
    formatPullRequestBody({
      rows: tableRows,
      marker,
      ...(comparison?.comparison ? { comparison: comparison.comparison } : {}),
      ...(request.appRepository ? { appRepository: request.appRepository } : {}),
      ...(request.bodyTemplate ? { intro: renderTemplate(request.bodyTemplate, values) } : {}),
    });
  const body = bodyFor(rows);
  result.title = title;
  result.body = body;
  result.changes = rows;
  result.changedFiles = [...new Set(rows.map((r) => r.path))];

  if (request.dryRun) {
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

  const prRequest: PullRequestRequest | undefined =
    host.supportsPullRequests && host.upsertPullRequest
      ? {
          ...(snapshot.pullRequest ? { existing: snapshot.pullRequest } : {}),
          head: branch,
          base,
          title,
          body,
          ...(request.draft ? { draft: true } : {}),
          ...(request.labels?.length ? { labels: request.labels } : {}),
          ...(request.reviewers?.length ? { reviewers: request.reviewers } : {}),
          ...(request.teamReviewers?.length ? { teamReviewers: request.teamReviewers } : {}),
          ...(request.assignees?.length ? { assignees: request.assignees } : {}),
          ...(request.autoMerge ? { autoMerge: request.autoMerge } : {}),
          ...(request.milestone ? { milestone: request.milestone } : {}),
        }
      : undefined;

  let commitSha: string;
  let pr: PullRequestInfo | undefined;
  if (accumulate && branchPlan.edits.length === 0) {
    commitSha = snapshot.branch!.sha; // a re-run: the branch already carries these images
  } else {
    const parent = accumulate ? snapshot.branch!.sha : snapshot.base.sha;
    const written = await host.commit({
      branch,
      observed: snapshot.branch?.sha ?? null,
      parent,
      files: branchPlan.edits.map((e) => ({ path: e.path, text: e.after })),
      message,
      ...identities(request),
      ...(prRequest ? { pullRequest: prRequest } : {}),
    });
    commitSha = written.sha;
    pr = written.pullRequest;
  }
  result.commitSha = commitSha;

  if (!prRequest || !host.upsertPullRequest) {
    const url = host.compareUrl?.(base, branch);
    if (url) result.compareUrl = url;
    const where = `branch ${branch} of ${host.repository}`;
    const open = url ? `; open the pull request at ${url}` : '';
    // A re-run whose branch already carries the images pushed nothing, and says so.
    result.result = commitSha === snapshot.branch?.sha ? 'unchanged' : 'pushed';
    result.message =
      result.result === 'unchanged'
        ? `${where} is already up to date (${commitSha.slice(0, 7)} carries ${imagesText}); nothing pushed${open}`
        : `pushed ${commitSha.slice(0, 7)} to ${where}${open}`;
    return result;
  }

  // Hosts that can open the pull request in the commit's round trip already did.
  pr ??= await host.upsertPullRequest(prRequest);

  // On a shared branch another pipeline may have committed after the state this body was made
  // from, and its update may have landed before ours: re-read until the branch holds still, so
  // the last writer's body lists every change (only when sharing; a lone release skips this).
  let described = commitSha;
  for (let check = 0; accumulate && check < 5; check++) {
    const now = await host.read({ base, branch, paths: request.paths });
    if (!now.branch || now.branch.sha === described) break;
    described = now.branch.sha;
    rows = imageRows(now.files, now.branch.files);
    pr = await host.upsertPullRequest({
      ...prRequest,
      existing: now.pullRequest ?? pr,
      body: bodyFor(rows),
    });
    result.body = bodyFor(rows);
    result.changes = rows;
    result.changedFiles = [...new Set(rows.map((r) => r.path))];
  }
  result.result = snapshot.pullRequest ? 'updated' : 'created';
  result.pullRequest = { number: pr.number, url: pr.url };
  result.message = `${result.result} pull request #${pr.number} (${pr.url}) from ${branch} into ${base}: ${title}`;

  if (request.closeSuperseded && host.closePullRequest) {
    for (const other of superseded(snapshot, marker, pr, branch)) {
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

function identities(request: ReleaseRequest): { author?: GitIdentity; committer?: GitIdentity } {
  return {
    ...(request.author ? { author: request.author } : {}),
    ...(request.committer ? { committer: request.committer } : {}),
  };
}

function superseded(
  snapshot: RepositorySnapshot,
  marker: ReleaseMarker,
  ours: PullRequestInfo,
  branch: string,
): PullRequestInfo[] {
  return (snapshot.openPullRequests ?? []).filter((pr) => {
    if (pr.number === ours.number || pr.head === branch) return false;
    const theirs = parseMarker(pr.body);
    return (
      theirs !== undefined &&
      sameSet(theirs.paths, marker.paths) &&
      theirs.images.every((i) => marker.images.includes(i))
    );
  });
}

interface GuardOutcome {
  older?: { from: string; to: string };
  comparison?: CommitComparison;
}

async function guard(
  request: ReleaseRequest,
  host: GitHost,
  plan: ImageEditPlan,
  cache: Map<string, Promise<CommitComparison | undefined>>,
): Promise<GuardOutcome | undefined> {
  if (!request.appRepository || !host.compareCommits) return undefined;
  const outcome: GuardOutcome = {};
  for (const image of request.images) {
    const to = image.tag;
    if (!to || !HEX_SHA.test(to)) continue;
    for (const edit of plan.edits) {
      for (const change of edit.changes) {
        const was = tryParseImageReference(change.from);
        if (!was || !isSameImage(was, image)) continue;
        const deployed = was.tag;
        if (!deployed || deployed === to || !HEX_SHA.test(deployed)) continue;
        const key = `${deployed}..${to}`;
        if (!cache.has(key)) {
          cache.set(
            key,
            host.compareCommits({ repository: request.appRepository, base: deployed, head: to }),
          );
        }
        const comparison = await cache.get(key)!;
        if (!comparison) continue;
        if (comparison.status === 'behind' && !request.allowDowngrade) {
          return { older: { from: deployed, to } };
        }
        outcome.comparison ??= comparison;
      }
    }
  }
  return outcome;
}
