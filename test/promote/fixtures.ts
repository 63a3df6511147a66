// The seed 001 manifest repository: a base, and staging and production environments that each
// hold a kustomize overlay (the web image) and Helm values (the api image), in different shapes.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';

export const STAGING = 'environments/staging';
export const PRODUCTION = 'environments/production';

export function overlay(web: string): string {
  return `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../base
images:
  - name: gcr.io/p/web
${web}`;
}

/** Staging states the api image as a map; production as one string, as charts allow both. */
export function stagingValues(tag: string, digest?: string): string {
  return `# staging values
api:
  image:
    repository: gcr.io/p/api
    tag: ${tag}${digest ? `\n    digest: ${digest}` : ''}
  replicas: 1
`;
}

export function productionValues(image: string): string {
  return `# production values: reviewed changes only
api:
  image: ${image} # the api server
  replicas: 3
`;
}

export const BASE = {
  'base/kustomization.yaml':
    'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - deployment.yaml\n',
  'base/deployment.yaml': `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: gcr.io/p/web:base
`,
};

export function seedRepository(
  staging = { web: 'abc1234', api: 'v2' },
  production = { web: 'old0000', api: 'v1' },
) {
  return {
    ...BASE,
    [`${STAGING}/kustomization.yaml`]: overlay(`    newTag: ${staging.web}\n`),
    [`${STAGING}/values.yaml`]: stagingValues(staging.api),
    [`${PRODUCTION}/kustomization.yaml`]: overlay(`    newTag: ${production.web} # production\n`),
    [`${PRODUCTION}/values.yaml`]: productionValues(`gcr.io/p/api:${production.api}`),
  };
}

/** What kubectl kustomize renders for an environment at a branch of a bare repository. */
export function renderedImages(bare: string, branch: string, dir: string): string[] {
  const out = mkdtempSync(join(tmpdir(), 'promote-render-'));
  execFileSync('git', ['clone', '-q', '--branch', branch, bare, out]);
  const rendered = execFileSync('kubectl', ['kustomize', join(out, dir)], { encoding: 'utf8' });
  return [...rendered.matchAll(/image: (\S+)/g)].map((m) => m[1]!);
}

/** The api image a values file makes the chart deploy, read back as Helm would read it. */
export function valuesImage(text: string): string {
  const image = (parse(text) as { api: { image: string | Record<string, string> } }).api.image;
  if (typeof image === 'string') return image;
  return `${image.repository}:${image.tag}${image.digest ? `@${image.digest}` : ''}`;
}

/** Pushes a small image (config blob, no layers) to a registry with basic auth; returns its digest. */
export async function pushTinyImage(
  registry: string,
  repository: string,
  tag: string,
  login: { username: string; password: string },
): Promise<string> {
  const auth = `Basic ${Buffer.from(`${login.username}:${login.password}`).toString('base64')}`;
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Labels: { tag } },
      rootfs: { type: 'layers', diff_ids: [] },
    }),
  );
  const configDigest = `sha256:${createHash('sha256').update(config).digest('hex')}`;
  const start = await fetch(`http://${registry}/v2/${repository}/blobs/uploads/`, {
    method: 'POST',
    headers: { authorization: auth },
  });
  if (start.status !== 202) throw new Error(`blob upload: HTTP ${start.status}`);
  const location = new URL(start.headers.get('location')!, `http://${registry}`);
  location.searchParams.set('digest', configDigest);
  const put = await fetch(location, {
    method: 'PUT',
    body: config,
    headers: { authorization: auth, 'content-type': 'application/octet-stream' },
  });
  if (put.status !== 201) throw new Error(`blob put: HTTP ${put.status}`);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: configDigest,
        size: config.length,
      },
      layers: [],
    }),
  );
  const res = await fetch(`http://${registry}/v2/${repository}/manifests/${tag}`, {
    method: 'PUT',
    body: manifest,
    headers: { authorization: auth, 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
  });
  if (res.status !== 201) throw new Error(`manifest put: HTTP ${res.status} ${await res.text()}`);
  return `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
}
