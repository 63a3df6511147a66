import { UsageError } from '../errors.js';
import { type ImageReference, imageName, parseImageReference } from '../image/reference.js';

/** Where an image lives, in the words of each registry's own documentation. */
export type ImageNameSpec =
  /** Container Registry: `gcr.io/PROJECT/NAME`, or `asia.gcr.io/…`, `eu.gcr.io/…`, `us.gcr.io/…`. */
  | { registry: 'gcr'; project: string; name: string; region?: 'asia' | 'eu' | 'us' | string }
  /** Artifact Registry: `REGION-docker.pkg.dev/PROJECT/REPOSITORY/NAME`. */
  | {
      registry: 'artifact-registry';
      region: string;
      project: string;
      repository: string;
      name: string;
    }
  /** Amazon ECR: `ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME`. */
  | { registry: 'ecr'; account: string; region: string; name: string }
  /** GitHub Container Registry: `ghcr.io/OWNER/NAME` (GitHub owners may be mixed-case; images are not). */
  | { registry: 'ghcr'; owner: string; name: string }
  /** Harbor: `HOST/PROJECT/NAME`. */
  | { registry: 'harbor'; host: string; project: string; name: string }
  /** Docker Hub: `NAMESPACE/NAME`, or `NAME` for official images. */
  | { registry: 'docker-hub'; namespace?: string; name: string }
  /** Any other registry: `HOST/PATH`. */
  | { registry: 'other'; host: string; path: string };

/** Which registry family a host belongs to: decides the login user name and the docs we point to. */
export type RegistryKind =
  | 'gcr'
  | 'artifact-registry'
  | 'ecr'
  | 'ghcr'
  | 'docker-hub'
  | 'harbor-or-other';

const GCR_HOST = /^(?:(asia|eu|us)\.)?gcr\.io$/;
const AR_HOST = /^([a-z0-9-]+)-docker\.pkg\.dev$/;
const ECR_HOST = /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/;

export function registryKind(host: string | undefined): RegistryKind {
  const h = (host ?? 'docker.io').toLowerCase();
  if (GCR_HOST.test(h)) return 'gcr';
  if (AR_HOST.test(h)) return 'artifact-registry';
  if (ECR_HOST.test(h)) return 'ecr';
  if (h === 'ghcr.io') return 'ghcr';
  if (h === 'docker.io' || h === 'index.docker.io' || h === 'registry-1.docker.io')
    return 'docker-hub';
  return 'harbor-or-other';
}

/** `REGISTRY/NAME` for the spec; throws InvalidImageReferenceError when a part breaks the grammar. */
export function composeImageName(spec: ImageNameSpec): string {
  const need = (value: string | undefined, what: string): string => {
    if (value === undefined || value.trim() === '')
      throw new UsageError(`the ${what} of a ${spec.registry} image name is empty`, {
        input: 'image',
      });
    return value;
  };
  let composed: string;
  switch (spec.registry) {
    case 'gcr':
      composed = `${spec.region ? `${spec.region}.` : ''}gcr.io/${need(spec.project, 'project')}/${need(spec.name, 'name')}`;
      break;
    case 'artifact-registry':
      composed = `${need(spec.region, 'region')}-docker.pkg.dev/${need(spec.project, 'project')}/${need(spec.repository, 'repository')}/${need(spec.name, 'name')}`;
      break;
    case 'ecr':
      if (!/^\d{12}$/.test(spec.account))
        throw new UsageError(
          `the AWS account of an ECR image name is 12 digits, got "${spec.account}"`,
          { input: 'image' },
        );
      composed = `${spec.account}.dkr.ecr.${need(spec.region, 'region')}.amazonaws.com/${need(spec.name, 'name')}`;
      break;
    case 'ghcr':
      composed = `ghcr.io/${need(spec.owner, 'owner').toLowerCase()}/${need(spec.name, 'name')}`;
      break;
    case 'harbor':
      composed = `${need(spec.host, 'host')}/${need(spec.project, 'project')}/${need(spec.name, 'name')}`;
      break;
    case 'docker-hub':
      composed = spec.namespace
        ? `${spec.namespace}/${need(spec.name, 'name')}`
        : need(spec.name, 'name');
      break;
    case 'other':
      composed = `${need(spec.host, 'host')}/${need(spec.path, 'path')}`;
      break;
  }
  return imageName(parseImageName(composed, 'image'));
}

/**
 * Parses the `--image` value: a name without tag or digest (they come from the tag rule).
 * A tag written into it is taken as the tag when no other tag is given (see `resolveTags`).
 */
export function parseImageName(value: string, input = 'image'): ImageReference {
  const ref = parseImageReference(value, input);
  if (ref.digest !== undefined)
    throw new UsageError(
      `${input}: "${value}" names a digest; give the repository (and at most a tag), the digest is what the push produces`,
      { input },
    );
  return ref;
}
