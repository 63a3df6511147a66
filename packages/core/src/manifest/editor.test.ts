import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import {
  ImageNotFoundError,
  InvalidImageReferenceError,
  KeyPathError,
  ManifestParseError,
  UneditableValueError,
  UsageError,
} from '../errors.js';
import { parseImageReference } from '../image/reference.js';
import { findImages, planImageEdits, setImage } from './editor.js';
import type { SetImageRequest } from './types.js';

const SHA = `sha256:${'b'.repeat(64)}`;
const OLD_SHA = `sha256:${'a'.repeat(64)}`;

function fixture(name: string): string {
  return readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
}

function set(text: string, image: string, extra: Omit<SetImageRequest, 'image'> = {}) {
  return setImage(text, { image: parseImageReference(image), ...extra });
}

/** Replaces each `from` with `to` exactly once in `text`: the expected result of a byte-exact edit. */
function replaced(text: string, ...pairs: [string, string][]): string {
  let out = text;
  for (const [from, to] of pairs) {
    expect(out.split(from).length - 1, `"${from}" should occur once`).toBe(1);
    out = out.replace(from, to);
  }
  return out;
}

describe('containers', () => {
  it('edits containers, initContainers and ephemeralContainers by name, never by index', () => {
    const text = fixture('deployment.yaml');
    const result = set(text, 'ghcr.io/acme/web:2.0.0');
    expect(result.text).toBe(
      replaced(
        text,
        ['image: ghcr.io/acme/web:1.4.2 # the app', 'image: ghcr.io/acme/web:2.0.0 # the app'],
        ['image: "ghcr.io/acme/web:1.4.2"', 'image: "ghcr.io/acme/web:2.0.0"'],
      ),
    );
    expect(result.matched).toBe(2);
    expect(result.changes.map((c) => [c.line, c.kind, c.from, c.to])).toEqual([
      [22, 'container', 'ghcr.io/acme/web:1.4.2', 'ghcr.io/acme/web:2.0.0'],
      [27, 'container', 'ghcr.io/acme/web:1.4.2', 'ghcr.io/acme/web:2.0.0'],
    ]);
    // The sidecar at index 0 and the init container are other images: untouched.
    const init = set(text, 'busybox:1.37');
    expect(init.text).toBe(replaced(text, ["image: 'busybox:1.36'", "image: 'busybox:1.37'"]));
  });

  it('finds pod templates at any depth: CronJob, Argo Rollout, Knative Service, Pod, ephemeral', () => {
    const text = fixture('workloads.yaml');
    const found = findImages(text, { file: 'workloads.yaml' });
    expect(found.map((f) => [f.document, f.path, f.value])).toEqual([
      [0, 'spec.jobTemplate.spec.template.spec.containers[0].image', 'acme/backup:1.0'],
      [1, 'spec.template.spec.containers[0].image', 'acme/web:1.0'],
      [2, 'spec.template.spec.containers[0].image', 'acme/web:1.0'],
      [3, 'spec.containers[0].image', 'acme/web:1.0'],
      [3, 'spec.ephemeralContainers[0].image', 'busybox'],
      [4, 'spec.template.spec.containers[0].image', 'docker.io/acme/web:1.0'],
    ]);
    expect(found.every((f) => f.kind === 'container' && f.file === 'workloads.yaml')).toBe(true);
    const result = set(text, 'docker.io/acme/web:1.1');
    expect(result.changes).toHaveLength(4);
    expect(result.text).toBe(text.replaceAll('acme/web:1.0', 'acme/web:1.1'));
  });

  it('finds Tekton steps/sidecars and Argo Workflows container/script images', () => {
    const text =
      'apiVersion: tekton.dev/v1\nkind: Task\nspec:\n  steps:\n  - name: build\n    image: golang:1.23\n  sidecars:\n  - name: docker\n    image: docker:27-dind\n---\napiVersion: argoproj.io/v1alpha1\nkind: Workflow\nspec:\n  templates:\n  - name: main\n    container:\n      image: acme/tool:1\n  - name: py\n    script:\n      image: python:3.12\n      source: print(1)\n  - name: steps\n    steps:\n    - - name: hello\n        template: main\n';
    expect(findImages(text).map((f) => [f.kind, f.path, f.value])).toEqual([
      ['container', 'spec.steps[0].image', 'golang:1.23'],
      ['container', 'spec.sidecars[0].image', 'docker:27-dind'],
      ['container', 'spec.templates[0].container.image', 'acme/tool:1'],
      ['container', 'spec.templates[1].script.image', 'python:3.12'],
    ]);
    expect(set(text, 'acme/tool:2').text).toBe(text.replace('acme/tool:1', 'acme/tool:2'));
  });

  it('keeps CRLF line endings and a BOM', () => {
    const text =
      '\uFEFFapiVersion: v1\r\nkind: Pod\r\nspec:\r\n  containers:\r\n  - name: a\r\n    image: nginx:1.27 # web\r\n';
    const result = set(text, 'docker.io/library/nginx:1.28');
    expect(result.text).toBe(text.replace('nginx:1.27', 'nginx:1.28'));
    expect(result.text.startsWith('\uFEFF')).toBe(true);
  });

  it('edits flow sequences and flow maps in place', () => {
    const text =
      'apiVersion: v1\nkind: Pod\nspec:\n  containers: [{name: a, image: nginx:1.27}, {name: b, image: "redis:7"}]\n';
    expect(set(text, 'nginx:1.28').text).toBe(text.replace('nginx:1.27', 'nginx:1.28'));
    expect(set(text, 'redis:8').text).toBe(text.replace('"redis:7"', '"redis:8"'));
  });

  it('keeps multi-document files, `---` and `...` markers and comments between documents', () => {
    const text =
      '# header\n---\napiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - image: nginx:1 # one\n    name: a\n...\n---\n# second\napiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: b\n    image: nginx:1\n';
    const result = set(text, 'nginx:2');
    expect(result.text).toBe(text.replaceAll('nginx:1', 'nginx:2'));
    expect(result.changes.map((c) => c.line)).toEqual([7, 17]);
  });

  it('matches by normalized name: nginx is docker.io/library/nginx, the registry host ignores case', () => {
    const text =
      'apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: a\n    image: docker.io/library/nginx:1\n  - name: b\n    image: GHCR.io/acme/app:1\n';
    expect(set(text, 'nginx:2').changes).toHaveLength(1);
    expect(set(text, 'ghcr.io/acme/app:2').text).toContain('image: GHCR.io/acme/app:2');
    // A different repository with the same last path component is another image.
    expect(set(text, 'ghcr.io/other/app:2').matched).toBe(0);
  });

  it('counts places already up to date as matched, without a change', () => {
    const text = 'apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - image: nginx:1.27\n';
    const result = set(text, 'nginx:1.27');
    expect(result).toEqual({ text, changes: [], matched: 1 });
  });

  it('does not read image: outside container lists in Kubernetes objects (a Ceph RBD volume)', () => {
    const text =
      'apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: a\n    image: foo:1\n  volumes:\n  - name: rbd\n    rbd:\n      image: foo\n      pool: kube\n';
    const found = findImages(text);
    expect(found.map((f) => f.path)).toEqual(['spec.containers[0].image']);
    expect(set(text, 'foo:2').text).toBe(text.replace('foo:1', 'foo:2'));
  });
});

describe('tags and digests', () => {
  const pod = (image: string) =>
    `apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: a\n    image: ${image}\n`;

  it('sets a digest, a tag and a digest, or a tag only', () => {
    expect(set(pod('app:1'), `app:2@${SHA}`).text).toBe(pod(`app:2@${SHA}`));
    // A digest-only request keeps the tag the file states.
    expect(set(pod('app:1'), `app@${SHA}`).text).toBe(pod(`app:1@${SHA}`));
    expect(set(pod(`app:1@${OLD_SHA}`), `app@${SHA}`).text).toBe(pod(`app:1@${SHA}`));
  });

  it('drops a pinned digest when only a tag is requested: the old digest would win over the new tag', () => {
    const result = set(pod(`app:1@${OLD_SHA}`), 'app:2');
    expect(result.text).toBe(pod('app:2'));
    expect(result.changes[0]).toMatchObject({ from: `app:1@${OLD_SHA}`, to: 'app:2' });
  });

  it('rejects a request without a tag or digest, and invalid tags', () => {
    expect(() => set(pod('app:1'), 'app')).toThrow(InvalidImageReferenceError);
    expect(() => setImage(pod('app:1'), { image: { repository: 'app', tag: '-bad' } })).toThrow(
      InvalidImageReferenceError,
    );
    expect(() => set(pod('app:1'), 'app:has space')).toThrow(InvalidImageReferenceError);
  });

  it('quotes a tag that YAML would read as a number or boolean when it stands alone', () => {
    const k = (tag: string) =>
      `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nimages:\n- name: app\n  newTag: ${tag}\n`;
    for (const tag of [
      '1234567',
      '0123456',
      '12e4567',
      '0x1f',
      '1_000',
      'true',
      'y',
      'n',
      'on',
      'null',
      '1.10',
      '1:20',
    ]) {
      if (tag === '1:20') continue; // not a valid OCI tag, included in the property tests instead
      const out = set(k('v1'), `app:${tag}`).text;
      expect(out).toBe(k(`"${tag}"`));
      expect(parse(out).images[0].newTag).toBe(tag);
      expect(parse(out, { version: '1.1' }).images[0].newTag).toBe(tag);
    }
    expect(set(k('v1'), 'app:v2').text).toBe(k('v2'));
    expect(set(k("'1'"), 'app:0777').text).toBe(k("'0777'"));
  });
});

describe('kustomization images', () => {
  it('edits newTag and digest, matched by name or newName', () => {
    const text = fixture('kustomization.yaml');
    const byName = set(text, 'ghcr.io/acme/web:2.0.0');
    expect(byName.text).toBe(replaced(text, ['newTag: 1.4.2 # web', 'newTag: 2.0.0 # web']));
    expect(byName.changes[0]).toMatchObject({
      kind: 'kustomize',
      from: 'ghcr.io/acme/web:1.4.2',
      to: 'ghcr.io/acme/web:2.0.0',
    });
    const byNewName = set(text, 'registry.example.com/mirror/redis:7.4');
    expect(byNewName.text).toBe(replaced(text, ["newTag: '7.2'", "newTag: '7.4'"]));
    const digest = set(text, `ghcr.io/acme/worker@${SHA}`);
    expect(digest.text).toBe(replaced(text, [`digest: ${OLD_SHA}`, `digest: ${SHA}`]));
  });

  it('adds a missing newTag or digest field in the entry style', () => {
    const text = fixture('kustomization.yaml');
    const result = set(text, 'ghcr.io/acme/api:3.0.0');
    expect(result.text).toBe(
      replaced(text, [
        '    newName: ghcr.io/acme/api\n',
        '    newName: ghcr.io/acme/api\n    newTag: 3.0.0\n',
      ]),
    );
    const flow = 'images: [{name: app, newTag: v1}]\nresources: [a.yaml]\n';
    expect(set(flow, `app:v1@${SHA}`).text).toBe(
      `images: [{name: app, newTag: v1, digest: ${SHA}}]\nresources: [a.yaml]\n`,
    );
  });

  it('refuses addMissing when images: is not a list, instead of adding a second images: key', () => {
    for (const images of ['images: {name: app}', 'images: app', 'images: ~']) {
      const text = `resources:\n  - a.yaml\n${images}\n`;
      expect(() =>
        set(text, 'ghcr.io/acme/web:1', { addMissing: true, file: 'kustomization.yaml' }),
      ).toThrow(/^kustomization\.yaml:3:1: .*images: is .*, not a list of entries/);
    }
    const bare = 'resources:\n  - a.yaml\nimages:\n';
    expect(
      set(bare, 'ghcr.io/acme/web:1', { addMissing: true, file: 'kustomization.yaml' }).text,
    ).toBe(`${bare}  - name: ghcr.io/acme/web\n    newTag: "1"\n`);
  });

  it('empties a pinned digest field when only a tag is requested', () => {
    const text = fixture('kustomization.yaml');
    const result = set(text, 'ghcr.io/acme/worker:5');
    expect(result.text).toBe(
      replaced(text, ['newTag: "4"', 'newTag: "5"'], [`digest: ${OLD_SHA}`, 'digest: ""']),
    );
  });

  it('adds an entry with addMissing, creating images: in the indentation the file uses', () => {
    const indented =
      'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - deployment.yaml # the app\n';
    expect(set(indented, 'ghcr.io/acme/web:1.0.0', { addMissing: true }).text).toBe(
      `${indented}images:\n  - name: ghcr.io/acme/web\n    newTag: 1.0.0\n`,
    );
    const flush = 'resources:\n- deployment.yaml\nimages:\n- name: other\n  newTag: v1\n';
    const added = set(flush, `ghcr.io/acme/web:0123456@${SHA}`, { addMissing: true });
    expect(added.text).toBe(
      `${flush}- name: ghcr.io/acme/web\n  newTag: "0123456"\n  digest: ${SHA}\n`,
    );
    expect(added.changes[0]).toMatchObject({ kind: 'kustomize', from: '' });
    const crlfNoFinalNewline =
      'apiVersion: kustomize.config.k8s.io/v1beta1\r\nkind: Kustomization\r\nimages: []';
    expect(set(crlfNoFinalNewline, 'app:v1', { addMissing: true }).text).toBe(
      'apiVersion: kustomize.config.k8s.io/v1beta1\r\nkind: Kustomization\r\nimages: [{name: app, newTag: v1}]',
    );
    // Without addMissing nothing is added; an existing entry is edited, not duplicated.
    expect(set(indented, 'ghcr.io/acme/web:1.0.0').matched).toBe(0);
    expect(set(flush, 'other:v2', { addMissing: true }).text).toBe(flush.replace('v1', 'v2'));
  });

  it('adds several images to one kustomization as one images: list', () => {
    const bare =
      'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- a.yaml\n';
    const images = [parseImageReference('app:v1'), parseImageReference('worker:0123')];
    const plan = planImageEdits([{ path: 'k.yaml', text: bare }], { images, addMissing: true });
    expect(plan.edits[0]!.after).toBe(
      `${bare}images:\n- name: app\n  newTag: v1\n- name: worker\n  newTag: "0123"\n`,
    );
    const flow = 'images: []\nresources: [a.yaml]\n';
    const flowPlan = planImageEdits([{ path: 'k.yaml', text: flow }], { images, addMissing: true });
    expect(flowPlan.edits[0]!.after).toBe(
      'images: [{name: app, newTag: v1}, {name: worker, newTag: "0123"}]\nresources: [a.yaml]\n',
    );
    const noNewline = 'images:\n- name: other\n  newTag: v1';
    const tail = planImageEdits([{ path: 'k.yaml', text: noNewline }], {
      images,
      addMissing: true,
    });
    expect(tail.edits[0]!.after).toBe(
      `${noNewline}\n- name: app\n  newTag: v1\n- name: worker\n  newTag: "0123"`,
    );
  });

  it('edits Flux image entries but never adds to them: Kustomization spec.images, HelmRelease postRenderers', () => {
    const flux =
      'apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nspec:\n  images:\n  - name: app\n    newTag: v1\n';
    expect(findImages(flux).map((f) => [f.kind, f.path])).toEqual([
      ['kustomize', 'spec.images[0]'],
    ]);
    expect(set(flux, 'app:v2').text).toBe(flux.replace('newTag: v1', 'newTag: v2'));
    expect(set(flux, 'other:v2', { addMissing: true }).text).toBe(flux);
    const release =
      'apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nspec:\n  postRenderers:\n    - kustomize:\n        images:\n          - name: app\n            newName: ghcr.io/acme/app\n            newTag: v1\n';
    expect(set(release, 'ghcr.io/acme/app:v2').text).toBe(
      release.replace('newTag: v1', 'newTag: v2'),
    );
  });
});

describe('Helm values', () => {
  it('edits bitnami-style registry/repository/tag/digest maps at any depth', () => {
    const text = fixture('values.yaml');
    const result = set(text, 'docker.io/bitnami/nginx:1.29.2-debian-12-r0');
    expect(result.text).toBe(
      replaced(text, ['tag: 1.29.1-debian-12-r0', 'tag: 1.29.2-debian-12-r0']),
    );
    expect(result.changes[0]).toMatchObject({
      kind: 'helm-values',
      from: 'docker.io/bitnami/nginx:1.29.1-debian-12-r0',
      to: 'docker.io/bitnami/nginx:1.29.2-debian-12-r0',
    });
    const exporter = set(text, `bitnami/nginx-exporter:1.5@${SHA}`);
    expect(exporter.text).toBe(
      replaced(
        text,
        ['tag: 1.4.2-debian-12-r9', 'tag: "1.5"'],
        ['digest: ""\n  # end', `digest: "${SHA}"\n  # end`],
      ),
    );
  });

  it('edits repository+tag maps not named image, name+tag maps, and image: repo:tag strings', () => {
    const text = fixture('values.yaml');
    expect(set(text, 'redis:8.8.0').text).toBe(replaced(text, ['tag: 8.6.3', 'tag: 8.8.0']));
    expect(set(text, 'ghcr.io/acme/sidecar:0.2').text).toBe(
      replaced(text, ["tag: '0.1'", "tag: '0.2'"]),
    );
    expect(set(text, 'quay.io/acme/job:2').text).toBe(
      replaced(text, ['image: quay.io/acme/job:1', 'image: quay.io/acme/job:2']),
    );
    // `tag:` with nothing: filled in, one space after the colon.
    expect(set(text, 'ghcr.io/acme/empty:1.0.0').text).toBe(
      replaced(text, [
        'repository: ghcr.io/acme/empty\n    tag:\n',
        'repository: ghcr.io/acme/empty\n    tag: 1.0.0\n',
      ]),
    );
  });

  it('adds a digest line to a map that has none only when asked, at the map indentation (podinfo layout)', () => {
    const text =
      'image:\n  repository: ghcr.io/stefanprodan/podinfo\n  tag: 6.14.0\n  pullPolicy: IfNotPresent\n  pullSecrets: []\n\nprefix: /\n';
    const release = `ghcr.io/stefanprodan/podinfo:6.14.1@${SHA}`;
    // The chart reads only the keys its templates name: a new digest key would be ignored.
    const tagOnly = set(text, release);
    expect(tagOnly.text).toBe(text.replace('6.14.0', '6.14.1'));
    expect(tagOnly.notes?.[0]).toMatch(/wrote the tag only/);
    expect(set(text, release, { addMissing: true }).text).toBe(
      text
        .replace('6.14.0', '6.14.1')
        .replace('pullSecrets: []\n', `pullSecrets: []\n  digest: ${SHA}\n`),
    );
    expect(() => set(text, `ghcr.io/stefanprodan/podinfo@${SHA}`)).toThrow(/keeps no "digest"/);
  });

  it('reports templates and aliases, and refuses to edit them when they match', () => {
    const text = fixture('values.yaml');
    const found = findImages(text, { file: 'values.yaml' });
    const templated = found.find((f) => f.value.includes('{{'));
    expect(templated?.uneditable).toMatch(/template/);
    expect(() => set(text, 'ghcr.io/acme/templated:2', { file: 'values.yaml' })).toThrow(
      UneditableValueError,
    );
    try {
      set(text, 'ghcr.io/acme/templated:2', { file: 'values.yaml' });
    } catch (err) {
      expect((err as UneditableValueError).location).toMatchObject({
        file: 'values.yaml',
        line: templated!.line,
      });
    }
  });

  it('edits HelmRelease spec.values', () => {
    const text =
      'apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nspec:\n  values:\n    redis:\n      repository: public.ecr.aws/docker/library/redis\n      tag: 8.6.2\n';
    expect(set(text, 'public.ecr.aws/docker/library/redis:8.8.1').text).toBe(
      text.replace('8.6.2', '8.8.1'),
    );
    // 8.8 alone would read as a number: quoted.
    expect(set(text, 'public.ecr.aws/docker/library/redis:8.8').text).toBe(
      text.replace('8.6.2', '"8.8"'),
    );
  });
});

describe('Argo CD Applications', () => {
  it('edits helm.parameters, helm.valuesObject and kustomize.images in source and sources[]', () => {
    const text = fixture('application.yaml');
    const found = findImages(text);
    expect(found.map((f) => [f.kind, f.path, f.value])).toEqual([
      ['argocd', 'spec.source.helm.parameters[0]', 'ghcr.io/acme/web:1.0.0'],
      ['argocd', 'spec.source.helm.valuesObject.worker.image', 'ghcr.io/acme/worker:1.0.0'],
      ['argocd', 'spec.sources[0].kustomize.images[0]', 'ghcr.io/acme/api:1.0.0'],
      ['argocd', 'spec.sources[0].kustomize.images[1]', 'old/name=ghcr.io/acme/renamed:1.0.0'],
    ]);
    expect(set(text, 'ghcr.io/acme/web:1.1.0').text).toBe(
      replaced(text, ["value: '1.0.0'", "value: '1.1.0'"]),
    );
    expect(set(text, 'ghcr.io/acme/worker:1.1.0').text).toBe(
      replaced(text, ['tag: 1.0.0 # worker', 'tag: 1.1.0 # worker']),
    );
    expect(set(text, 'ghcr.io/acme/api:1.1.0').text).toBe(
      replaced(text, ['- ghcr.io/acme/api:1.0.0', '- ghcr.io/acme/api:1.1.0']),
    );
    // `old=new:tag` matches by either name and keeps the old= part.
    const renamed = 'old/name=ghcr.io/acme/renamed:1.1.0';
    expect(set(text, 'old/name:1.1.0').text).toBe(
      replaced(text, ['old/name=ghcr.io/acme/renamed:1.0.0', renamed]),
    );
    expect(set(text, 'ghcr.io/acme/renamed:1.1.0').text).toBe(
      replaced(text, ['old/name=ghcr.io/acme/renamed:1.0.0', renamed]),
    );
  });
});

describe('Argo CD .argocd-source.yaml overrides', () => {
  it('edits kustomize.images and helm.parameters at the top of the file', () => {
    const text =
      'kustomize:\n  images:\n    - quay.io/argoprojlabs/argocd-e2e-container:0.2\nhelm:\n  parameters:\n    - name: image.repository\n      value: quay.io/acme/web\n    - name: image.tag\n      value: "0.1"\n';
    expect(set(text, 'quay.io/argoprojlabs/argocd-e2e-container:0.3').text).toBe(
      text.replace('container:0.2', 'container:0.3'),
    );
    expect(set(text, 'quay.io/acme/web:1234567').text).toBe(text.replace('"0.1"', '"1234567"'));
  });
});

describe('Argo CD helm.values block', () => {
  it('edits image maps and strings inside a literal values block in place', () => {
    const text =
      'apiVersion: argoproj.io/v1alpha1\nkind: Application\nspec:\n  source:\n    helm:\n      values: |\n        image:\n          repository: ghcr.io/acme/web # app\n          tag: "1.0"\n\n        worker:\n          image: ghcr.io/acme/worker:1.0\n';
    const found = findImages(text);
    expect(found.map((f) => [f.kind, f.path, f.value, f.line])).toEqual([
      ['argocd', 'spec.source.helm.values|image', 'ghcr.io/acme/web:1.0', 9],
      ['argocd', 'spec.source.helm.values|worker.image', 'ghcr.io/acme/worker:1.0', 12],
    ]);
    expect(set(text, 'ghcr.io/acme/web:1.1').text).toBe(text.replace('"1.0"', '"1.1"'));
    expect(set(text, 'ghcr.io/acme/worker:2').text).toBe(text.replace('worker:1.0', 'worker:2'));
    // A missing tag field is not added inside the block: reported instead.
    const noTag = text.replace('          tag: "1.0"\n', '');
    expect(() => set(noTag, 'ghcr.io/acme/web:1.1')).toThrow(/no "tag" to set/);
  });
});

describe('explicit key', () => {
  const deploy =
    'apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n      - name: sidecar\n        image: envoy:1\n      - name: web\n        image: app:1 # app\n';

  it('edits only the place the key names, by index or by name selector', () => {
    const index = '.spec.template.spec.containers[1].image';
    expect(set(deploy, 'other:2', { key: index, rename: true }).text).toBe(
      deploy.replace('app:1 #', 'other:2 #'),
    );
    expect(() => set(deploy, 'other:2', { key: index })).toThrow(
      /"app:1", is another image than other; pass --rename/,
    );
    const byName = set(deploy, 'app:2', { key: '.spec.template.spec.containers[name=web].image' });
    expect(byName.text).toBe(deploy.replace('app:1 #', 'app:2 #'));
    expect(byName.changes[0]).toMatchObject({ kind: 'key', from: 'app:1', to: 'app:2' });
  });

  it('a key to a tag field sets the tag only', () => {
    const values = 'api:\n  image:\n    repository: acme/api\n    tag: "1.0"\n';
    expect(set(values, 'acme/api:1.1', { key: '.api.image.tag' }).text).toBe(
      values.replace('"1.0"', '"1.1"'),
    );
    expect(set(values, 'acme/api:1234567', { key: 'api.image.tag' }).text).toBe(
      values.replace('"1.0"', '"1234567"'),
    );
  });

  it('a key to a whole reference keeps the name as the file spells it when it is the same image', () => {
    const pod = 'spec:\n  containers:\n  - name: web\n    image: docker.io/library/nginx:1 # web\n';
    const key = '.spec.containers[name=web].image';
    expect(set(pod, 'nginx:2', { key }).text).toBe(pod.replace(':1 #', ':2 #'));
    expect(set(pod, `nginx@${SHA}`, { key }).text).toBe(pod.replace(':1 #', `:1@${SHA} #`));
    // Another image at that place: the key says where, the request says what, when asked to.
    expect(set(pod, 'ghcr.io/acme/web:3', { key, rename: true }).text).toBe(
      pod.replace('docker.io/library/nginx:1', 'ghcr.io/acme/web:3'),
    );
  });

  it('a key to a Helm image map edits its tag (and digest) fields', () => {
    const values = 'api:\n  image:\n    repository: acme/api\n    tag: v1\n';
    const result = set(values, 'acme/api:v2', { key: '.api.image' });
    expect(result.text).toBe(values.replace('tag: v1', 'tag: v2'));
    expect(result.changes[0]).toMatchObject({
      kind: 'key',
      from: 'acme/api:v1',
      to: 'acme/api:v2',
    });
  });

  it('replaces only what the key claims: an image reference, a tag, a digest', () => {
    const text =
      'replicas: 3\nname: My Web\napi:\n  image:\n    tag: 1.4@sha256:' +
      'a'.repeat(64) +
      '\n    digest: latest\n';
    expect(() => set(text, 'app:2', { key: '.name', rename: true, file: 'v.yaml' })).toThrow(
      /^v\.yaml: key "\.name": the value there, "My Web", is not an image reference/,
    );
    // Without --rename the value must name the same image: a count is not one.
    expect(() => set(text, 'app:2', { key: '.replicas' })).toThrow(
      /"3", is another image than app/,
    );
    expect(() => set(text, `app@${SHA}`, { key: '.api.image.digest' })).toThrow(
      /"latest", is not an image digest/,
    );
    // A combined pin at a tag key keeps its form.
    expect(set(text, `app:1.5@${SHA}`, { key: '.api.image.tag' }).text).toBe(
      text.replace(`1.4@sha256:${'a'.repeat(64)}`, `1.5@${SHA}`),
    );
    expect(set(text, 'app:1.5', { key: '.api.image.tag' }).text).toBe(
      text.replace(`1.4@sha256:${'a'.repeat(64)}`, '"1.5"'),
    );
  });

  it('throws KeyPathError naming the key and the file', () => {
    const attempt = (key: string) => () => set(deploy, 'app:2', { key, file: 'deploy.yaml' });
    expect(attempt('.spec.template.spec.containers[5].image')).toThrow(KeyPathError);
    expect(attempt('.spec.template.spec.containers[name=nope].image')).toThrow(
      /deploy\.yaml: key "\.spec\.template\.spec\.containers\[name=nope\]\.image": .*no item with name: nope/,
    );
    expect(attempt('.spec.template')).toThrow(/leads to a mapping/);
    expect(attempt('.spec[')).toThrow(KeyPathError);
  });
});

describe('aliases, templates, variables and block scalars', () => {
  const pod = (body: string) => `apiVersion: v1\nkind: Pod\nspec:\n  containers:\n${body}`;

  it('edits an anchor at an image place; its aliases follow', () => {
    const text = pod('  - name: a\n    image: &img nginx:1\n  - name: b\n    image: *img\n');
    const result = set(text, 'nginx:2');
    expect(result.text).toBe(text.replace('&img nginx:1', '&img nginx:2'));
    expect(result.matched).toBe(2);
    expect(result.changes).toHaveLength(1);
  });

  it('refuses an alias whose anchor is not an image place, naming file and line', () => {
    const text = `metadata:\n  annotations: {img: &img nginx:1}\n${pod('  - name: b\n    image: *img\n')}`;
    const found = findImages(text, { file: 'pod.yaml' });
    expect(found).toHaveLength(1);
    expect(found[0]!.uneditable).toMatch(/alias/);
    expect(() => set(text, 'nginx:2', { file: 'pod.yaml' })).toThrow(
      /^pod\.yaml:8:12: .*alias \(\*img\)/,
    );
  });

  it('refuses $(VAR) substitutions and {{ }} templates at a matching place, and only there', () => {
    const text = pod(
      '  - name: a\n    image: app:$(TAG)\n  - name: b\n    image: "other:{{ .Values.tag }}"\n  - name: c\n    image: nginx:1\n',
    );
    const found = findImages(text);
    expect(found.map((f) => Boolean(f.uneditable))).toEqual([true, true, false]);
    expect(() => set(text, 'app:2')).toThrow(UneditableValueError);
    expect(() => set(text, 'other:2')).toThrow(/template/);
    // Places that do not match are no obstacle.
    expect(set(text, 'nginx:2').text).toBe(text.replace('nginx:1', 'nginx:2'));
  });

  it('edits a one-line block scalar in place and refuses a multi-line one', () => {
    const literal = pod('  - name: a\n    image: |-\n      nginx:1\n');
    expect(set(literal, 'nginx:2').text).toBe(literal.replace('nginx:1', 'nginx:2'));
    const folded = pod(
      '  - name: a\n    image: >\n      nginx:1\n  - name: b\n    image: redis:1\n',
    );
    expect(set(folded, 'nginx:2').text).toBe(folded.replace('nginx:1', 'nginx:2'));
    const twoLines = pod('  - name: a\n    image: |\n      nginx:1\n      more\n');
    expect(findImages(twoLines)[0]!.uneditable).toMatch(/multi-line block scalar/);
  });

  it('quotes a stated tag YAML misreads even when it already has the requested value', () => {
    const text = 'images:\n- name: app\n  newTag: 1.10\n';
    const result = set(text, 'app:1.10');
    expect(result.text).toBe('images:\n- name: app\n  newTag: "1.10"\n');
    expect(result.changes[0]).toMatchObject({ from: 'app:1.10', to: 'app:1.10' });
  });
});

describe('errors', () => {
  it('invalid YAML: ManifestParseError with file, line and column', () => {
    const text = 'apiVersion: v1\nkind: Pod\nspec:\n  containers: [\n  - a\n';
    try {
      findImages(text, { file: 'bad.yaml' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ManifestParseError);
      const e = err as ManifestParseError;
      expect(e.location?.file).toBe('bad.yaml');
      expect(e.location?.line).toBeGreaterThanOrEqual(4);
      expect(e.location?.column).toBeGreaterThan(0);
      expect(e.message).toMatch(/^bad\.yaml:\d+:\d+: /);
    }
  });

  it('no match anywhere: ImageNotFoundError listing the images the files contain, unless allowNoMatch', () => {
    const files = [
      {
        path: 'a.yaml',
        text: 'apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - image: nginx:1\n',
      },
      { path: 'b.yaml', text: 'image:\n  repository: acme/api\n  tag: v1\n' },
    ];
    const request = { images: [parseImageReference('acme/web:2')] };
    expect(() => planImageEdits(files, request)).toThrow(ImageNotFoundError);
    try {
      planImageEdits(files, request);
    } catch (err) {
      expect((err as ImageNotFoundError).found).toEqual([
        'nginx:1 (a.yaml:5)',
        'acme/api:v1 (b.yaml:3)',
      ]);
    }
    expect(planImageEdits(files, { ...request, allowNoMatch: true })).toEqual({
      edits: [],
      matched: 0,
    });
  });
});

describe('planImageEdits', () => {
  it('plans several images over several files, listing only files that change', () => {
    const files = [
      {
        path: 'a.yaml',
        text: 'apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - image: nginx:1\n  - image: redis:7\n',
      },
      { path: 'b.yaml', text: 'image:\n  repository: nginx\n  tag: "2"\n' },
      { path: 'c.yaml', text: 'kind: ConfigMap\napiVersion: v1\n' },
    ];
    const plan = planImageEdits(files, {
      images: [parseImageReference('nginx:2'), parseImageReference('redis:8')],
    });
    expect(plan.matched).toBe(3);
    expect(plan.edits.map((e) => e.path)).toEqual(['a.yaml']);
    expect(plan.edits[0]!.after).toBe(
      files[0]!.text.replace('nginx:1', 'nginx:2').replace('redis:7', 'redis:8'),
    );
    expect(plan.edits[0]!.changes.map((c) => c.file)).toEqual(['a.yaml', 'a.yaml']);
  });

  it('takes an image given twice once, and refuses it with two different tags', () => {
    const files = [{ path: 'a.yaml', text: 'image: nginx:1\n' }];
    const twice = planImageEdits(files, {
      images: [parseImageReference('nginx:2'), parseImageReference('docker.io/library/nginx:2')],
    });
    expect(twice.edits[0]!.changes).toHaveLength(1);
    expect(() =>
      planImageEdits(files, {
        images: [parseImageReference('nginx:2'), parseImageReference('nginx:3')],
      }),
    ).toThrow(UsageError);
  });

  it('parses every file before returning, so one bad file fails the whole plan', () => {
    const files = [
      {
        path: 'a.yaml',
        text: 'apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - image: nginx:1\n',
      },
      { path: 'broken.yaml', text: 'a: [\n' },
    ];
    expect(() => planImageEdits(files, { images: [parseImageReference('nginx:2')] })).toThrow(
      /broken\.yaml:/,
    );
  });

  it('skips Helm chart templates that are not YAML, and fails on any other invalid file', () => {
    const template =
      '{{- if .Values.enabled }}\napiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - image: {{ .Values.image }}\n{{- end }}\n';
    const files = [
      { path: 'templates/pod.yaml', text: template },
      { path: 'values.yaml', text: 'image:\n  repository: nginx\n  tag: "1"\n' },
    ];
    const plan = planImageEdits(files, { images: [parseImageReference('nginx:2')] });
    expect(plan.edits.map((e) => e.path)).toEqual(['values.yaml']);
    expect(plan.skipped).toEqual([
      {
        path: 'templates/pod.yaml',
        reason: expect.stringMatching(/^a template, not YAML \(templates\/pod\.yaml:1:/),
      },
    ]);
  });

  it('with a key: files where the key leads nowhere are skipped; none at all is an error', () => {
    const files = [
      { path: 'a.yaml', text: 'api:\n  image:\n    tag: v1\n' },
      { path: 'b.yaml', text: 'web:\n  tag: v1\n' },
    ];
    const plan = planImageEdits(files, {
      images: [parseImageReference('x:v2')],
      key: '.api.image.tag',
    });
    expect(plan.edits.map((e) => [e.path, e.after])).toEqual([
      ['a.yaml', 'api:\n  image:\n    tag: v2\n'],
    ]);
    expect(() =>
      planImageEdits(files, { images: [parseImageReference('x:v2')], key: '.nope.tag' }),
    ).toThrow(KeyPathError);
  });

  it('re-parses every edited file to the intended values', () => {
    const text = fixture('values.yaml');
    const plan = planImageEdits([{ path: 'values.yaml', text }], {
      images: [parseImageReference('redis:0x1f')],
    });
    const after = plan.edits[0]!.after;
    for (const version of ['1.1', '1.2'] as const) {
      const docs = parseAllDocuments(after, { version });
      expect(docs[0]!.toJS().redis.tag).toBe('0x1f');
    }
  });
});
