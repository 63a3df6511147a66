import { RegistryLoginError, UsageError } from '../errors.js';
import {
  canonicalImageName,
  type ImageReference,
  imageName,
  parseImageReference,
} from '../image/reference.js';
import { parseImageName } from './image-name.js';
import { ociLabels } from './labels.js';
import type { Builder, BuildSecret, Registry } from './ports.js';
import { resolveTags } from './tag.js';

export interface BuildAndPushRequest {
  /** `REGISTRY/NAME`; a tag written in it is used when `tag` is not given. */
  image: string;
  tag?: string;
  /** Full commit SHA: the default tag (shortened) and the revision label. */
  commitSha?: string;
  shaLength?: number;
  extraTags?: readonly string[];
  context: string;
  dockerfile?: string;
  target?: string;
  buildArgs?: Readonly<Record<string, string>>;
  labels?: Readonly<Record<string, string>>;
  platforms?: readonly string[];
  cacheFrom?: readonly string[];
  cacheTo?: readonly string[];
  /** URL of the source repository for `org.opencontainers.image.source`. */
  source?: string;
  /** Default: on when the tag comes from the commit (it then names exactly one build). */
  skipExisting?: boolean;
  /** Decide and report, build and push nothing. */
  dryRun?: boolean;
  /** Default true. False builds only (pull-request CI): no registry request, nothing pushed. */
  push?: boolean;
  /** Build secrets for `RUN --mount=type=secret`; never printed, never a build arg. */
  secrets?: readonly BuildSecret[];
  noCache?: boolean;
  pull?: boolean;
  /** The clock for `org.opencontainers.image.created`. */
  now: Date;
}

export interface BuildAndPushPorts {
  /** Resolved lazily: a skipped build never needs a builder installed. */
  builder: () => Promise<Builder>;
  registry: Registry;
  /** Progress lines for a human; never carries secrets. */
  log?: (line: string) => void;
}

export type BuildAndPushOutcome = 'built' | 'built-not-pushed' | 'skipped-exists' | 'would-build';

export interface BuildAndPushResult {
  /** `repository:primary-tag`. */
  image: string;
  /** Digest of the pushed (or already present) manifest; undefined only for a dry run that would build. */
  digest?: string;
  /** `repository@digest`, for pinning. */
  imageRef?: string;
  /** The tags the image carries in the registry after this run. */
  tags: string[];
  result: BuildAndPushOutcome;
  /** The builder that ran, when one did. */
  builder?: string;
  /** The labels the build set (or would set). */
  labels: Record<string, string>;
}

/**
 * An extra tag, or a full reference of the same image (`ghcr.io/o/app:latest`, as docker's `-t`
 * and docker/build-push-action's `tags` take them): its tag. A reference of another image is
 * refused, naming the flag: this pushes one image.
 */
export function extraTagOf(value: string, image: ImageReference): string {
  if (!/[/:@]/.test(value)) return value;
  const ref = parseImageReference(value, 'extra-tag');
  if (canonicalImageName(ref) !== canonicalImageName(image))
    throw new UsageError(
      `--extra-tag "${value}" names another image than ${imageName(image)}: give a tag, or a reference of that image`,
      { input: 'extra-tag' },
    );
  if (ref.tag === undefined || ref.digest !== undefined)
    throw new UsageError(`--extra-tag "${value}" names no tag (a digest is what the push makes)`, {
      input: 'extra-tag',
    });
  return ref.tag;
}

/**
 * Builds the image and pushes its tags, unless its tag is already in the registry: then nothing is
 * built and the existing digest is reported. A re-run of a pipeline costs a request, not a build.
 */
export async function buildAndPushImage(
  request: BuildAndPushRequest,
  ports: BuildAndPushPorts,
): Promise<BuildAndPushResult> {
  const log = ports.log ?? (() => {});
  const ref = parseImageName(request.image, 'image');
  const tags = resolveTags({
    tag: request.tag ?? ref.tag,
    commitSha: request.commitSha,
    shaLength: request.shaLength,
    extraTags: request.extraTags?.map((t) => extraTagOf(t, ref)),
  });
  const repo = imageName(ref);
  const location = { registry: ref.registry, repository: ref.repository };
  const image = `${repo}:${tags.primary}`;
  const labels = {
    ...ociLabels({ revision: request.commitSha, source: request.source, created: request.now }),
    ...request.labels,
  };
  const push = request.push ?? true;
  const skipExisting = push && (request.skipExisting ?? tags.fromCommit);
  const secrets = checkSecrets(request.secrets ?? []);

  if (!push) {
    // Build only: a pull request's CI may hold no registry login at all, so ask the registry nothing.
  } else if (skipExisting) {
    let existing: string | undefined;
    let checked = true;
    try {
      existing = await ports.registry.tagDigest({ ...location, tag: tags.primary });
    } catch (err) {
      // No credentials were given: the builder may still hold its own login, so build anyway.
      if (!(err instanceof RegistryLoginError && err.username === undefined)) throw err;
      log(`cannot check whether ${image} exists (${err.message}); building it`);
      checked = false;
    }
    if (existing !== undefined) {
      log(`${image} is already in the registry at ${existing}: nothing to build`);
      return {
        image,
        digest: existing,
        imageRef: `${repo}@${existing}`,
        tags: [tags.primary],
        result: 'skipped-exists',
        labels,
      };
    }
    if (checked) log(`${image} is not in the registry yet`);
  } else if (!request.dryRun) {
    // Fail on a wrong password or a dead registry before minutes of building, not after.
    try {
      await ports.registry.checkAccess(location);
    } catch (err) {
      if (!(err instanceof RegistryLoginError && err.username === undefined)) throw err;
    }
  }

  if (request.dryRun) {
    if (!push) {
      log(`dry run: would build ${tags.all.map((t) => `${repo}:${t}`).join(', ')} (not pushed)`);
      return { image, tags: tags.all, result: 'would-build', labels };
    }
    log(`dry run: would build and push ${tags.all.map((t) => `${repo}:${t}`).join(', ')}`);
    return { image, tags: tags.all, result: 'would-build', labels };
  }

  const builder = await ports.builder();
  log(`building ${image} with ${builder.name}`);
  const outcome = await builder.buildAndPush({
    context: request.context,
    dockerfile: request.dockerfile,
    target: request.target,
    buildArgs: request.buildArgs ?? {},
    labels,
    references: tags.all.map((t) => `${repo}:${t}`),
    platforms: request.platforms ?? [],
    cacheFrom: request.cacheFrom ?? [],
    cacheTo: request.cacheTo ?? [],
    push,
    secrets,
    noCache: request.noCache === true,
    pull: request.pull === true,
  });
  if (!push) {
    log(`built ${image} with ${builder.name}; not pushed (push is off)`);
    return { image, tags: tags.all, result: 'built-not-pushed', builder: builder.name, labels };
  }
  // The registry is the judge of what was pushed; the builder's own report is the fallback.
  const digest =
    (await ports.registry.tagDigest({ ...location, tag: tags.primary }).catch(() => undefined)) ??
    outcome.digest;
  log(`pushed ${image}${digest ? ` at ${digest}` : ''}`);
  return {
    image,
    tags: tags.all,
    result: 'built',
    builder: builder.name,
    labels,
    ...(digest ? { digest, imageRef: `${repo}@${digest}` } : {}),
  };
}

/** Secret ids as BuildKit takes them (`id=` of `--secret`), each once; values must not be empty. */
function checkSecrets(secrets: readonly BuildSecret[]): BuildSecret[] {
  const seen = new Set<string>();
  for (const s of secrets) {
    if (!/^[A-Za-z0-9_.-]+$/.test(s.id))
      throw new UsageError(
        `build secret id "${s.id}" may hold only letters, digits, "_", "." and "-"`,
        { input: 'secret' },
      );
    if (seen.has(s.id))
      throw new UsageError(`build secret "${s.id}" is given twice`, { input: 'secret' });
    if (s.value === '')
      throw new UsageError(`build secret "${s.id}" is empty`, { input: 'secret' });
    seen.add(s.id);
  }
  return [...secrets];
}
