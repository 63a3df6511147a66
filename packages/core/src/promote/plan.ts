import { ManifestParseError, PromotionRefusedError, UsageError } from '../errors.js';
import {
  canonicalImageName,
  formatImageReference,
  type ImageReference,
  imageName,
  tryParseImageReference,
} from '../image/reference.js';
import { findImages, planImageEdits } from '../manifest/editor.js';
import type { FoundImage, ImageEditPlan, ManifestFile } from '../manifest/types.js';

// Planning a promotion is pure: two environments' files in, the images to copy (with the guards
// applied) out. Reading, pinning digests and writing are the flow's (promote.ts).

/** What one environment deploys of one image. */
export interface DeployedImage {
  /** `docker.io/library/nginx`: what the editor matches by. */
  canonical: string;
  /** The name as the first place writes it, without tag or digest. */
  name: ImageReference;
  /** The version that takes effect (a kustomization's entry wins over the workloads it patches). */
  version?: ImageReference;
  /** Every place holding the image, as found. */
  places: FoundImage[];
  /** A place whose value is a template, an alias or a variable. */
  uneditable?: FoundImage;
  /** Two effective places with different versions. */
  conflict?: [FoundImage, FoundImage];
}

export type Environment = Map<string, DeployedImage>;

/** A template or variable stands where the tag should be: the name is what comes before it. */
function nameOfUneditable(value: string): ImageReference | undefined {
  const cut = value.search(/\{\{|\$\(|\$\{/);
  const head = (cut === -1 ? value : value.slice(0, cut)).replace(/[:@]$/, '');
  const ref = tryParseImageReference(head);
  return ref && { repository: ref.repository, ...(ref.registry ? { registry: ref.registry } : {}) };
}

function versionOf(place: FoundImage): ImageReference | undefined {
  return tryParseImageReference(place.value);
}

function sameVersion(a: ImageReference, b: ImageReference): boolean {
  return a.tag === b.tag && a.digest === b.digest;
}

/** The version as people read it: `:abc1234`, `@sha256:…`, `:abc1234@sha256:…`. */
export function formatVersion(ref: ImageReference | undefined): string {
  if (!ref) return 'no version';
  return `${ref.tag === undefined ? '' : `:${ref.tag}`}${ref.digest === undefined ? '' : `@${ref.digest}`}`;
}

function at(place: FoundImage): string {
  return `${place.file ?? ''}:${place.line}`;
}

/** What the files of one environment deploy, image by image. */
export function readEnvironment(files: readonly ManifestFile[]): Environment {
  const env: Environment = new Map();
  const entry = (ref: ImageReference) => {
    const canonical = canonicalImageName(ref);
    let e = env.get(canonical);
    if (!e) {
      const name = {
        repository: ref.repository,
        ...(ref.registry ? { registry: ref.registry } : {}),
      };
      e = { canonical, name, places: [] };
      env.set(canonical, e);
    }
    return e;
  };
  for (const file of files) {
    let found: FoundImage[];
    try {
      found = findImages(file.text, { file: file.path });
    } catch (err) {
      // A chart's templates/ are Go templates, not YAML: the editor leaves them alone too.
      if (err instanceof ManifestParseError && file.text.includes('{{')) continue;
      throw err;
    }
    for (const place of found) {
      const ref = place.uneditable ? nameOfUneditable(place.value) : versionOf(place);
      if (!ref) continue;
      const e = entry(ref);
      e.places.push(place);
      if (place.uneditable) e.uneditable ??= place;
    }
  }
  for (const e of env.values()) {
    const versioned = e.places.filter((p) => {
      const v = !p.uneditable && versionOf(p);
      return v && (v.tag !== undefined || v.digest !== undefined);
    });
    // kustomize rewrites the images of the resources it builds: its entry is what runs.
    const kustomize = versioned.filter((p) => p.kind === 'kustomize');
    const effective = kustomize.length > 0 ? kustomize : versioned;
    const first = effective[0];
    if (!first) continue;
    e.version = versionOf(first)!;
    const other = effective.find((p) => !sameVersion(versionOf(p)!, e.version!));
    if (other) e.conflict = [first, other];
  }
  return env;
}

export interface PromotionSelectRequest {
  /** Input names for messages: `--from`, `--to` (CLI) or `from`, `to` (Action). */
  fromInput?: string;
  toInput?: string;
  /** Names of the images to promote; none: every image both deploy. Tags here are an error. */
  images?: ImageReference[];
  /** Versions `--from` must still deploy (the ones the pipeline tested). */
  expect?: ImageReference[];
}

/** One image to copy from `--from` into `--to`. */
export interface PromotionCandidate {
  canonical: string;
  /** The image with `--from`'s version: what the editor writes into `--to`. */
  image: ImageReference;
  /** The version `--from` deploys (before any digest is pinned). */
  source: ImageReference;
  /** The reference as `--from` states it. */
  fromValue: string;
  /** The distinct references `--to` states now. */
  toValues: string[];
}

function listDeployed(env: Environment): string {
  const names = [...env.values()]
    .filter((e) => e.places.length > 0)
    .map((e) => {
      const p = e.places[0]!;
      return `${p.value} (${at(p)})`;
    });
  return names.length ? `it deploys: ${names.join(', ')}` : 'it deploys no image';
}

function checkSource(e: DeployedImage, shown: string, fromInput: string): ImageReference {
  if (e.uneditable) {
    throw new PromotionRefusedError(
      'uneditable',
      `${fromInput} states ${shown} as "${e.uneditable.value}" (${at(e.uneditable)}): ${e.uneditable.uneditable}; there is no tested version to copy`,
      fromInput,
    );
  }
  if (e.conflict) {
    const [a, b] = e.conflict;
    throw new PromotionRefusedError(
      'ambiguous',
      `${fromInput} deploys ${shown} twice with different versions: "${a.value}" (${at(a)}) and "${b.value}" (${at(b)}); make them agree before promoting`,
      fromInput,
    );
  }
  if (!e.version) {
    throw new PromotionRefusedError(
      'not-deployed',
      `${fromInput} names ${shown} without a tag or digest (${at(e.places[0]!)}), so there is no version to promote`,
      fromInput,
    );
  }
  return e.version;
}

/**
 * Chooses the images to promote and applies the guards that need only the files: `--expect`, an
 * image `--from` does not deploy or states as a template, alias or variable, an image deployed
 * twice with different versions. Throws PromotionRefusedError (nothing is written).
 */
export function selectPromotion(
  from: Environment,
  to: Environment,
  request: PromotionSelectRequest = {},
): PromotionCandidate[] {
  const fromInput = request.fromInput ?? '--from';
  const toInput = request.toInput ?? '--to';
  for (const expected of request.expect ?? []) {
    const shown = formatImageReference(expected);
    if (expected.tag === undefined && expected.digest === undefined) {
      throw new UsageError(`--expect ${shown} names no version; give NAME:TAG[@DIGEST]`, {
        input: '--expect',
      });
    }
    const e = from.get(canonicalImageName(expected));
    if (!e)
      throw new PromotionRefusedError(
        'expect-mismatch',
        `--expect ${shown}: ${fromInput} does not deploy ${imageName(expected)}; ${listDeployed(from)}`,
        '--expect',
      );
    const version = checkSource(e, imageName(expected), fromInput);
    const tagOk = expected.tag === undefined || expected.tag === version.tag;
    const digestOk = expected.digest === undefined || expected.digest === version.digest;
    if (!tagOk || !digestOk) {
      throw new PromotionRefusedError(
        'expect-mismatch',
        `--expect ${shown}: ${fromInput} now deploys ${imageName(expected)}${formatVersion(version)}, not the version the pipeline tested; nothing promoted (run the tests on the new version, then promote it)`,
        '--expect',
      );
    }
  }

  const names: ImageReference[] = [];
  if (request.images?.length) {
    for (const image of request.images) {
      if (image.tag !== undefined || image.digest !== undefined) {
        throw new UsageError(
          `--image ${formatImageReference(image)}: give the name only; the version is the one ${fromInput} deploys (check it with --expect)`,
          { input: '--image' },
        );
      }
      if (!from.has(canonicalImageName(image))) {
        throw new PromotionRefusedError(
          'not-deployed',
          `${fromInput} does not deploy ${imageName(image)}, so there is nothing tested to promote; ${listDeployed(from)}`,
          '--image',
        );
      }
      if (!to.has(canonicalImageName(image))) {
        throw new PromotionRefusedError(
          'not-deployed',
          `${toInput} does not deploy ${imageName(image)}; a promotion changes the version of an image the environment already runs. ${listDeployed(to)}`,
          '--image',
        );
      }
      names.push(image);
    }
  } else {
    for (const e of from.values()) if (to.has(e.canonical)) names.push(e.name);
  }

  const seen = new Set<string>();
  const candidates: PromotionCandidate[] = [];
  for (const name of names) {
    const canonical = canonicalImageName(name);
    if (seen.has(canonical)) continue;
    seen.add(canonical);
    const source = from.get(canonical)!;
    const version = checkSource(source, imageName(name), fromInput);
    const place = source.places.find((p) => p.kind === 'kustomize') ?? source.places[0]!;
    const named = versionOf(place) ?? name;
    const image: ImageReference = {
      repository: named.repository,
      ...(named.registry ? { registry: named.registry } : {}),
      ...(version.tag === undefined ? {} : { tag: version.tag }),
      ...(version.digest === undefined ? {} : { digest: version.digest }),
    };
    candidates.push({
      canonical,
      image,
      source: version,
      fromValue: formatImageReference(image),
      toValues: [...new Set(to.get(canonical)!.places.map((p) => p.value))],
    });
  }
  return candidates;
}

export interface PromotionEdits {
  /** The candidates whose version in `--to` differs (the others are already promoted). */
  promoted: PromotionCandidate[];
  plan: ImageEditPlan;
}

/** The edits of `--to` that make it deploy the candidates' versions; empty when it already does. */
export function planPromotionEdits(
  toFiles: ManifestFile[],
  candidates: PromotionCandidate[],
): PromotionEdits {
  const promoted = candidates.filter(
    (c) => planImageEdits(toFiles, { images: [c.image], allowNoMatch: true }).edits.length > 0,
  );
  const plan: ImageEditPlan = promoted.length
    ? planImageEdits(toFiles, { images: promoted.map((c) => c.image) })
    : { edits: [], matched: 0 };
  return { promoted, plan };
}

function normalizePath(path: string): string {
  return path.replace(/^(\.\/+)+/, '').replace(/\/+$/, '') || '.';
}

function contains(outer: string, inner: string): boolean {
  return outer === '.' || inner === outer || inner.startsWith(`${outer}/`);
}

/**
 * Checks and normalizes the two environments' paths: each given, not the same, neither inside
 * the other (a file cannot be both what was tested and what is changed).
 */
export function checkEnvironmentPaths(
  from: readonly string[],
  to: readonly string[],
  inputs: { from?: string; to?: string } = {},
): { from: string[]; to: string[] } {
  const fromInput = inputs.from ?? '--from';
  const toInput = inputs.to ?? '--to';
  if (from.length === 0) throw new UsageError(`${fromInput} is required`, { input: fromInput });
  if (to.length === 0) throw new UsageError(`${toInput} is required`, { input: toInput });
  const f = from.map(normalizePath);
  const t = to.map(normalizePath);
  for (const a of f) {
    for (const b of t) {
      if (a === b) {
        throw new UsageError(
          `${fromInput} and ${toInput} are the same path (${a}); promote from one environment to another`,
          {
            input: toInput,
          },
        );
      }
      if (contains(a, b) || contains(b, a)) {
        throw new UsageError(
          `${fromInput} ${a} and ${toInput} ${b} overlap (one is inside the other); give each environment's own directory or file`,
          { input: toInput },
        );
      }
    }
  }
  return { from: f, to: t };
}

/** Whether a file read for `paths` belongs to them (a path, or a directory above it). */
export function isUnder(paths: readonly string[], file: string): boolean {
  return paths.some((p) => contains(p, normalizePath(file)));
}

/**
 * Short names for the environments, for `{from}` and `{to}`: the first path segment in which the
 * two differ (`overlays/staging` → `staging`; `env/prod/values.yaml` → `prod`).
 */
export function environmentNames(from: string, to: string): { from: string; to: string } {
  const strip = (s: string) => s.replace(/\.ya?ml$/, '');
  const a = normalizePath(from).split('/');
  const b = normalizePath(to).split('/');
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (strip(a[i] ?? '') !== strip(b[i] ?? '')) {
      return { from: strip(a[i] ?? a.at(-1)!), to: strip(b[i] ?? b.at(-1)!) };
    }
  }
  return { from: strip(a.at(-1)!), to: strip(b.at(-1)!) };
}
