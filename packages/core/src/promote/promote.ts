import type { Registry } from '../build/ports.js';
import {
  PathError,
  PromotionRefusedError,
  PromotionSourceMovedError,
  UsageError,
} from '../errors.js';
import { formatImageReference, type ImageReference, imageName } from '../image/reference.js';
import { planImageEdits } from '../manifest/editor.js';
import type { ManifestFile } from '../manifest/types.js';
import {
  createReleasePr,
  type ReleaseOptions,
  type ReleaseRequest,
  type ReleaseResult,
} from '../release/create-release-pr.js';
import type { GitHost, RepositorySnapshot } from '../release/host.js';
import {
  checkEnvironmentPaths,
  environmentNames,
  formatVersion,
  isUnder,
  type PromotionCandidate,
  planPromotionEdits,
  readEnvironment,
  selectPromotion,
} from './plan.js';
import { promotionDescription } from './text.js';

export const DEFAULT_PROMOTE_BRANCH_TEMPLATE = 'promote-{to}-{sha}';
export const DEFAULT_PROMOTE_TITLE_TEMPLATE = 'Promote {app} {sha} from {from} to {to}';

export interface PromotionRequest
  extends Omit<ReleaseRequest, 'images' | 'paths' | 'sha' | 'key' | 'addMissing' | 'description'> {
  /** The environment that ran the version (`overlays/staging`): files or directories. */
  from: string[];
  /** The environment to bring to it (`overlays/production`). */
  to: string[];
  /** `{from}` and `{to}`; default: the first path segment in which the two differ. */
  fromName?: string;
  toName?: string;
  /** Names of the images to promote; none: every image both deploy whose version differs. */
  images?: ImageReference[];
  /** Refuse unless `from` deploys exactly these versions (the ones the pipeline tested). */
  expect?: ImageReference[];
  /** Resolve each tag's digest in the registry and write it pinned. */
  pinDigest?: boolean;
  /** The CI run that asked, linked from the pull request. */
  pipelineUrl?: string;
  /** Input names for messages (`--from`/`--to` in the CLI, `from`/`to` in the Action). */
  fromInput?: string;
  toInput?: string;
}

export interface PromotionOptions extends Omit<ReleaseOptions, 'onRead'> {
  /** For `pinDigest`: the registry client of build-and-push-image, with the same logins. */
  registry?: Registry;
  /** Times to plan again when `from` moved between the read and the write (default 5). */
  maxRounds?: number;
}

export interface PromotedImage {
  name: string;
  /** What `to` deployed, as the files state it. */
  from: string[];
  /** What it deploys after the promotion. */
  to: string;
}

export interface PromotionResult extends ReleaseResult {
  /** The environments' names (`{from}`, `{to}`). */
  fromEnvironment: string;
  toEnvironment: string;
  /** The base commit both environments were read at. */
  readSha: string;
  promoted: PromotedImage[];
}

/** What one read of both environments plans: the candidates, after pinning, and the edits. */
export interface PlannedPromotion {
  candidates: PromotionCandidate[];
  promoted: PromotionCandidate[];
  edits: ReturnType<typeof planPromotionEdits>['plan'];
}

/**
 * Plans a promotion from the two environments' files (one read): the guards, the pinned digests
 * and the edits of `to`. Used by the host flow below and by local checkouts (edits in place).
 */
export async function planPromotion(
  fromFiles: ManifestFile[],
  toFiles: ManifestFile[],
  request: Pick<PromotionRequest, 'images' | 'expect' | 'pinDigest' | 'fromInput' | 'toInput'>,
  registry?: Registry,
): Promise<PlannedPromotion> {
  let candidates = selectPromotion(readEnvironment(fromFiles), readEnvironment(toFiles), {
    ...(request.images ? { images: request.images } : {}),
    ...(request.expect ? { expect: request.expect } : {}),
    ...(request.fromInput ? { fromInput: request.fromInput } : {}),
    ...(request.toInput ? { toInput: request.toInput } : {}),
  });
  if (request.pinDigest) candidates = await pinDigests(candidates, registry);
  const { promoted, plan } = planPromotionEdits(toFiles, candidates);
  return { candidates, promoted, edits: plan };
}

/** Each tag's digest from the registry, so `to` runs the bytes `from` ran even if the tag moves. */
async function pinDigests(
  candidates: PromotionCandidate[],
  registry: Registry | undefined,
): Promise<PromotionCandidate[]> {
  if (!registry)
    throw new UsageError('pinning digests needs a registry client', { input: '--pin-digest' });
  return Promise.all(
    candidates.map(async (c) => {
      if (c.image.digest !== undefined || c.image.tag === undefined) return c; // already pinned
      const digest = await registry.tagDigest({
        ...(c.image.registry ? { registry: c.image.registry } : {}),
        repository: c.image.repository,
        tag: c.image.tag,
      });
      if (!digest) {
        throw new PromotionRefusedError(
          'tag-unknown',
          `--pin-digest: the registry has no tag "${c.image.tag}" of ${imageName(c.image)}, so there is no digest to pin; nothing promoted (was the image pushed to another registry, or the tag deleted?)`,
          '--pin-digest',
        );
      }
      return { ...c, image: { ...c.image, digest } };
    }),
  );
}

/** A path the host could not find is an unknown environment: say which input named it. */
function namingInput(
  err: unknown,
  paths: { from: string[]; to: string[] },
  request: PromotionRequest,
): unknown {
  if (!(err instanceof PathError)) return err;
  const which = (list: string[]) => list.find((p) => err.message.startsWith(`${p}:`));
  const fromPath = which(paths.from);
  const toPath = which(paths.to);
  const input = fromPath
    ? (request.fromInput ?? '--from')
    : toPath
      ? (request.toInput ?? '--to')
      : undefined;
  if (!input) return err;
  return new PathError(`${input}: ${err.message} (is the environment's path right?)`, {
    input,
    cause: err,
  });
}

function shortVersion(image: ImageReference): string {
  return image.tag ?? image.digest?.replace(/^[^:]*:/, '').slice(0, 12) ?? '';
}

function fillEnvironments(template: string, names: { from: string; to: string }): string {
  return template.replace(/\{(from|to)\}/g, (_, name: 'from' | 'to') => names[name]);
}

type Split = (files: ManifestFile[]) => { from: ManifestFile[]; to: ManifestFile[] };

interface Round {
  request: PromotionRequest;
  names: { from: string; to: string };
  paths: { from: string[]; to: string[] };
  snapshot: RepositorySnapshot;
  planned: PlannedPromotion;
}

/** The release flow's request for a planned promotion: its images, into `to`, with its texts. */
function releaseRequestFor({ request, names, paths, snapshot, planned }: Round): ReleaseRequest {
  const fill = (t: string) => fillEnvironments(t, names);
  const {
    from: _f,
    to: _t,
    fromName: _fn,
    toName: _tn,
    images: _i,
    expect: _e,
    pinDigest: _p,
    pipelineUrl,
    fromInput: _fi,
    toInput: _ti,
    ...rest
  } = request;
  return {
    ...rest,
    images: planned.promoted.map((c) => c.image),
    // `from` is read again with `to` so the check below sees both at the commit written on.
    paths: [...paths.from, ...paths.to],
    base: snapshot.base.name,
    sha: shortVersion(planned.promoted[0]!.image),
    branchTemplate: fill(request.branchTemplate ?? DEFAULT_PROMOTE_BRANCH_TEMPLATE),
    titleTemplate: fill(request.titleTemplate ?? DEFAULT_PROMOTE_TITLE_TEMPLATE),
    ...(request.messageTemplate ? { messageTemplate: fill(request.messageTemplate) } : {}),
    description: promotionDescription({
      names,
      paths,
      promoted: planned.promoted,
      base: snapshot.base.name,
      readSha: snapshot.base.sha,
      ...(pipelineUrl ? { pipelineUrl } : {}),
    }),
  };
}

/** Throws PromotionSourceMovedError when a later read finds `from` deploying other versions. */
function stillAsPlanned({ names, snapshot, planned }: Round, split: Split) {
  return (again: RepositorySnapshot) => {
    const now = readEnvironment(split(again.files).from);
    for (const c of planned.promoted) {
      const v = now.get(c.canonical)?.version;
      if (!v || v.tag !== c.source.tag || v.digest !== c.source.digest) {
        throw new PromotionSourceMovedError(
          `${names.from} moved while promoting: it deployed ${c.fromValue} at ${snapshot.base.sha.slice(0, 7)} and ${v ? formatVersion(v) : 'no version'} at ${again.base.sha.slice(0, 7)}`,
        );
      }
    }
  };
}

function resultOf(round: Round, result: ReleaseResult): PromotionResult {
  return {
    ...result,
    fromEnvironment: round.names.from,
    toEnvironment: round.names.to,
    readSha: round.snapshot.base.sha,
    promoted: round.planned.promoted.map((c) => ({
      name: imageName(c.image),
      from: c.toValues,
      to: formatImageReference(c.image),
    })),
  };
}

/**
 * Promotes what `from` deploys into `to`: both are read at one commit of the base, the versions
 * are taken from `from` (guards applied), and the release flow writes them into `to` with one
 * commit and a pull request (or a push). The release flow re-reads before it writes; when `from`
 * moved in between (a staging release landed), the promotion is planned again from that read, so
 * the version written is always one `from` deployed at the commit the edit is built on.
 */
export async function promote(
  request: PromotionRequest,
  host: GitHost,
  options: PromotionOptions = {},
): Promise<PromotionResult> {
  const paths = checkEnvironmentPaths(request.from, request.to, {
    ...(request.fromInput ? { from: request.fromInput } : {}),
    ...(request.toInput ? { to: request.toInput } : {}),
  });
  const derived = environmentNames(paths.from[0]!, paths.to[0]!);
  const names = { from: request.fromName ?? derived.from, to: request.toName ?? derived.to };
  const log = options.log ?? (() => {});
  const maxRounds = options.maxRounds ?? 5;
  const split: Split = (files) => ({
    from: files.filter((f) => isUnder(paths.from, f.path)),
    to: files.filter((f) => isUnder(paths.to, f.path)),
  });

  for (let attempt = 1; ; attempt++) {
    const snapshot = await host
      .read({
        ...(request.base === undefined ? {} : { base: request.base }),
        paths: [...paths.from, ...paths.to],
      })
      .catch((err: unknown) => {
        throw namingInput(err, paths, request);
      });
    const files = split(snapshot.files);
    const planned = await planPromotion(files.from, files.to, request, options.registry);
    const round: Round = { request, names, paths, snapshot, planned };
    if (planned.promoted.length === 0) {
      const what = planned.candidates.map((c) => formatImageReference(c.image)).join(', ');
      return resultOf(round, {
        result: 'unchanged',
        repository: host.repository,
        base: snapshot.base.name,
        changedFiles: [],
        changes: [],
        closedPullRequests: [],
        attempts: attempt,
        dryRun: request.dryRun === true,
        message: `${names.to} already deploys what ${names.from} deploys${what ? ` (${what})` : ''} at ${snapshot.base.name} of ${host.repository}; nothing to promote`,
        edits: [],
        warnings: [],
      });
    }
    try {
      const result = await createReleasePr(releaseRequestFor(round), host, {
        ...options,
        // Only `to` is edited; `from` rides along in the read for the check.
        plan: (all, planRequest) => (options.plan ?? planImageEdits)(split(all).to, planRequest),
        onRead: stillAsPlanned(round, split),
      });
      if (result.result === 'skipped-older') {
        throw new PromotionRefusedError(
          'downgrade',
          `${names.to} already deploys a newer commit of ${request.appRepository} than ${names.from}: ${result.message.replace(/; skipped\..*$/, '')}; nothing promoted. Pass --allow-downgrade to roll back on purpose`,
          '--allow-downgrade',
        );
      }
      return resultOf(round, {
        ...result,
        message: `promote ${names.from} → ${names.to}: ${result.message}`,
      });
    } catch (err) {
      if (!(err instanceof PromotionSourceMovedError)) throw err;
      if (attempt >= maxRounds) {
        throw new PromotionSourceMovedError(
          `${err.message}; it moved under ${maxRounds} promotions in a row: run the promotion again once the ${names.from} releases have settled`,
        );
      }
      log(`${err.message}; planning the promotion again from the new read`);
    }
  }
}
