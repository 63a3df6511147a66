import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseImageReference, planImageEdits } from '../packages/core/src/index.js';

// The editor's kustomize edits, rendered by the real kustomize (`kubectl kustomize`): the
// rendered Deployment shows the old image before the edit and the new one after.

const run = promisify(execFile);
// The same YAML library core uses, resolved from core (the root has no dependency on it).
const { parseAllDocuments } = createRequire(
  new URL('../packages/core/package.json', import.meta.url),
)('yaml') as { parseAllDocuments(text: string): { toJS(): unknown }[] };
const KUBECTL = '/usr/bin/kubectl';
const SHA = `sha256:${'c'.repeat(64)}`;

const TREE: Record<string, string> = {
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
      - name: proxy
        image: envoyproxy/envoy:v1.31.0
      - name: web
        image: ghcr.io/acme/web:0.9.0 # set by the overlays
`,
  'base/kustomization.yaml': `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- deployment.yaml
`,
  // CRLF and a comment on the tag line, as Windows-edited overlays have.
  'overlays/prod/kustomization.yaml':
    'apiVersion: kustomize.config.k8s.io/v1beta1\r\nkind: Kustomization\r\nresources:\r\n  - ../../base\r\nimages:\r\n  - name: ghcr.io/acme/web\r\n    newTag: 1.0.0 # prod\r\n',
  // No images: entry yet: addMissing adds one.
  'overlays/staging/kustomization.yaml': `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../base
namePrefix: staging-
`,
  // Pinned by digest.
  'overlays/pinned/kustomization.yaml': `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [../../base]
images:
- name: ghcr.io/acme/web
  newTag: "1.0.0"
  digest: sha256:${'a'.repeat(64)}
`,
};

let dir: string;

async function render(overlay: string): Promise<Map<string, string>> {
  const { stdout } = await run(KUBECTL, ['kustomize', join(dir, overlay)]);
  const images = new Map<string, string>();
  for (const doc of parseAllDocuments(stdout)) {
    const obj = doc.toJS() as {
      kind: string;
      spec: { template: { spec: { containers: { name: string; image: string }[] } } };
    };
    if (obj.kind !== 'Deployment') continue;
    for (const c of obj.spec.template.spec.containers) images.set(c.name, c.image);
  }
  return images;
}

async function editTree(image: string, addMissing: boolean, only?: string) {
  const paths = Object.keys(TREE).filter((p) => !only || p.startsWith(only));
  const files = await Promise.all(
    paths.map(async (path) => ({ path, text: await readFile(join(dir, path), 'utf8') })),
  );
  const plan = planImageEdits(files, { images: [parseImageReference(image)], addMissing });
  for (const edit of plan.edits) await writeFile(join(dir, edit.path), edit.after);
  return plan;
}

describe('kustomize renders what the editor wrote', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gitops-release-kustomize-'));
    for (const [path, text] of Object.entries(TREE)) {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), text);
    }
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('an edited newTag renders as the new image; a short all-digit SHA stays a string', async () => {
    expect((await render('overlays/prod')).get('web')).toBe('ghcr.io/acme/web:1.0.0');
    const plan = await editTree('ghcr.io/acme/web:0123456', false, 'overlays/prod');
    expect(plan.edits.map((e) => e.path)).toEqual(['overlays/prod/kustomization.yaml']);
    expect(plan.edits[0]!.after).toBe(
      TREE['overlays/prod/kustomization.yaml']!.replace('1.0.0', '"0123456"'),
    );
    const after = await render('overlays/prod');
    expect(after.get('web')).toBe('ghcr.io/acme/web:0123456');
    expect(after.get('proxy')).toBe('envoyproxy/envoy:v1.31.0');
    // Why the quotes matter: written plain, as sed or a naive editor would, kustomize refuses it.
    const naive = join(dir, 'overlays/naive/kustomization.yaml');
    await mkdir(dirname(naive), { recursive: true });
    await writeFile(naive, TREE['overlays/prod/kustomization.yaml']!.replace('1.0.0', '0123456'));
    await expect(render('overlays/naive')).rejects.toThrow(/cannot unmarshal number/);
  });

  it('addMissing adds an images: entry that kustomize applies', async () => {
    expect((await render('overlays/staging')).get('web')).toBe('ghcr.io/acme/web:0.9.0');
    const plan = await editTree('ghcr.io/acme/web:2.0.0', true, 'overlays/staging');
    expect(plan.edits[0]!.after).toBe(
      `${TREE['overlays/staging/kustomization.yaml']}images:\n  - name: ghcr.io/acme/web\n    newTag: 2.0.0\n`,
    );
    expect((await render('overlays/staging')).get('web')).toBe('ghcr.io/acme/web:2.0.0');
  });

  it('a digest pin is replaced by a new digest, and dropped for a tag-only release', async () => {
    expect((await render('overlays/pinned')).get('web')).toBe(
      `ghcr.io/acme/web:1.0.0@sha256:${'a'.repeat(64)}`,
    );
    await editTree(`ghcr.io/acme/web:1.1.0@${SHA}`, false, 'overlays/pinned');
    expect((await render('overlays/pinned')).get('web')).toBe(`ghcr.io/acme/web:1.1.0@${SHA}`);
    // Kept, the old digest would win over the new tag and the release would deploy nothing new.
    await editTree('ghcr.io/acme/web:1.2.0', false, 'overlays/pinned');
    expect((await render('overlays/pinned')).get('web')).toBe('ghcr.io/acme/web:1.2.0');
  });
});
