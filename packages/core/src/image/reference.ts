import { InvalidImageReferenceError } from '../errors.js';

// The OCI / Docker reference grammar (distribution/reference), written as regular expressions.
const ALNUM = '[a-z0-9]+';
const SEPARATOR = '(?:[_.]|__|-+)';
const PATH_COMPONENT = `${ALNUM}(?:${SEPARATOR}${ALNUM})*`;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_NAME = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*`;
const IPV6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const DOMAIN = `(?:${DOMAIN_NAME}|${IPV6})(?::[0-9]+)?`;
const TAG = '[\\w][\\w.-]{0,127}';

const PATH_RE = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const DOMAIN_RE = new RegExp(`^${DOMAIN}$`);
const TAG_RE = new RegExp(`^${TAG}$`);
const MAX_NAME_LENGTH = 255;

export const DOCKER_HUB = 'docker.io';

/** An image reference split into its parts, as written (nothing normalized). */
export interface ImageReference {
  /** Registry host with optional port, e.g. `gcr.io`, `127.0.0.1:5000`; undefined for Docker Hub shorthand. */
  registry?: string;
  /** Repository path below the registry, e.g. `my-project/app`, `nginx`. */
  repository: string;
  tag?: string;
  digest?: string;
}

export function isValidTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

// The digest algorithms the OCI image spec registers, with the length of their lowercase hex
// encoding (opencontainers/image-spec descriptor.md, "Registered algorithms"); registries refuse
// any other, and so does `docker pull` (distribution's digest.Validate).
const DIGEST_ALGORITHMS: Record<string, number> = { sha256: 64, sha512: 128 };

/** Why `digest` is not an OCI digest (`sha256:` + 64 lowercase hex, `sha512:` + 128), or undefined. */
export function digestProblem(digest: string): string | undefined {
  const colon = digest.indexOf(':');
  if (colon === -1) return 'a digest is ALGORITHM:HEX, e.g. sha256:<64 hex digits>';
  const algorithm = digest.slice(0, colon);
  const encoded = digest.slice(colon + 1);
  const length = DIGEST_ALGORITHMS[algorithm];
  if (length === undefined) {
    return `"${algorithm}" is not a registered digest algorithm (sha256 or sha512)`;
  }
  if (/[A-F]/.test(encoded) && /^[0-9a-fA-F]*$/.test(encoded)) {
    return `its hex must be lowercase (OCI digests are written in lowercase)`;
  }
  if (!/^[0-9a-f]*$/.test(encoded)) return `${algorithm} digests are hex digits 0-9 and a-f only`;
  if (encoded.length !== length) {
    return `a ${algorithm} digest has ${length} hex digits, this one has ${encoded.length}`;
  }
  return undefined;
}

export function isValidDigest(digest: string): boolean {
  return digestProblem(digest) === undefined;
}

/** True when the first path component names a registry host rather than a Docker Hub namespace. */
function looksLikeRegistry(component: string): boolean {
  return (
    component.includes('.') ||
    component.includes(':') ||
    component === 'localhost' ||
    component !== component.toLowerCase()
  );
}

/**
 * Parses `[registry/]repository[:tag][@digest]`. Throws InvalidImageReferenceError naming `input`
 * (the flag or input the value came from) with the reason.
 */
export function parseImageReference(value: string, input?: string): ImageReference {
  const fail = (reason: string): never => {
    throw new InvalidImageReferenceError(value, reason, input);
  };
  if (value.length === 0) fail('it is empty');
  if (value !== value.trim()) fail('it has leading or trailing whitespace');

  let rest = value;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    const problem = digestProblem(digest);
    if (problem) fail(`"${digest}" is not a digest: ${problem}`);
  }

  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!isValidTag(tag)) {
      fail(
        `"${tag}" is not a valid tag (letters, digits, "_", "." and "-", at most 128, not starting with "." or "-")`,
      );
    }
  }

  if (rest.length === 0) fail('the repository name is empty');
  if (rest.length > MAX_NAME_LENGTH) fail(`the name is longer than ${MAX_NAME_LENGTH} characters`);

  let registry: string | undefined;
  let repository = rest;
  const firstSlash = rest.indexOf('/');
  if (firstSlash !== -1 && looksLikeRegistry(rest.slice(0, firstSlash))) {
    registry = rest.slice(0, firstSlash);
    repository = rest.slice(firstSlash + 1);
    if (!DOMAIN_RE.test(registry)) fail(`"${registry}" is not a valid registry host`);
  }
  if (!PATH_RE.test(repository)) {
    fail(
      repository !== repository.toLowerCase()
        ? `the repository "${repository}" must be lowercase`
        : `the repository "${repository}" may hold only lowercase letters, digits and single separators (".", "_", "__", "-") between "/"-separated parts`,
    );
  }

  const ref: ImageReference = { repository };
  if (registry !== undefined) ref.registry = registry;
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** Parses without throwing; undefined when the value is not a reference. */
export function tryParseImageReference(value: string): ImageReference | undefined {
  try {
    return parseImageReference(value);
  } catch {
    return undefined;
  }
}

/** `registry/repository` as written, without tag or digest. */
export function imageName(ref: ImageReference): string {
  return ref.registry ? `${ref.registry}/${ref.repository}` : ref.repository;
}

/**
 * The fully qualified name used to decide whether two references are the same image:
 * `nginx` → `docker.io/library/nginx`; the registry host is compared case-insensitively.
 */
export function canonicalImageName(ref: ImageReference): string {
  let registry = (ref.registry ?? DOCKER_HUB).toLowerCase();
  if (registry === 'index.docker.io' || registry === 'registry-1.docker.io') registry = DOCKER_HUB;
  const repository =
    registry === DOCKER_HUB && !ref.repository.includes('/')
      ? `library/${ref.repository}`
      : ref.repository;
  return `${registry}/${repository}`;
}

export function formatImageReference(ref: ImageReference): string {
  let out = imageName(ref);
  if (ref.tag !== undefined) out += `:${ref.tag}`;
  if (ref.digest !== undefined) out += `@${ref.digest}`;
  return out;
}

export function isSameImage(a: ImageReference, b: ImageReference): boolean {
  return canonicalImageName(a) === canonicalImageName(b);
}

/**
 * `value` with its name (registry and repository, not the tag or digest) lowercased: registries
 * refuse upper case in a repository, and `${{ github.repository }}` keeps a mixed-case owner's.
 * The adapters say so when it changed anything, as docker/metadata-action does.
 */
export function lowercaseImageName(value: string): string {
  const at = value.indexOf('@');
  const lastSlash = value.lastIndexOf('/', at === -1 ? value.length : at);
  const colon = value.indexOf(':', lastSlash + 1);
  const end = at !== -1 ? at : colon !== -1 ? colon : value.length;
  return `${value.slice(0, end).toLowerCase()}${value.slice(end)}`;
}
