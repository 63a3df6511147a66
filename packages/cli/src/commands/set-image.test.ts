import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../test-io.js';

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          image: gcr.io/p/web:old   # set by CI
        - name: proxy
          image: envoyproxy/envoy:v1.31
`;
const kustomization = `resources:
  - deployment.yaml
images:
  - name: gcr.io/p/web
    newTag: "old"
`;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gr-cli-'));
  await mkdir(join(dir, 'overlays/staging'), { recursive: true });
  await writeFile(join(dir, 'deployment.yaml'), deployment);
  await writeFile(join(dir, 'overlays/staging/kustomization.yaml'), kustomization);
});

const read = (p: string) => readFile(join(dir, p), 'utf8');

describe('set-image', () => {
  it('edits every place that deploys the image, changing only the tag', async () => {
    const r = await runCli(['set-image', 'gcr.io/p/web:new'], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(await read('deployment.yaml')).toBe(deployment.replace('web:old', 'web:new'));
    expect(await read('overlays/staging/kustomization.yaml')).toBe(
      kustomization.replace('"old"', '"new"'),
    );
    expect(r.stdout).toContain('Updated 2 images in 2 files');
    expect(r.stdout).toContain('deployment.yaml:10:18');
  });

  it('says when everything is already up to date, and exits 0', async () => {
    await runCli(['set-image', 'gcr.io/p/web:new'], { cwd: dir });
    const r = await runCli(['set-image', 'gcr.io/p/web:new', '.'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Already up to date');
  });

  it('prints a diff and writes nothing with --dry-run', async () => {
    const r = await runCli(['set-image', 'gcr.io/p/web:new', 'deployment.yaml', '--dry-run'], {
      cwd: dir,
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('-          image: gcr.io/p/web:old   # set by CI');
    expect(r.stdout).toContain('+          image: gcr.io/p/web:new   # set by CI');
    expect(r.stdout).toContain('dry run: nothing written');
    expect(await read('deployment.yaml')).toBe(deployment);
  });

  it('prints the changes as JSON with paths as given', async () => {
    const r = await runCli(['set-image', 'gcr.io/p/web:new', 'overlays', '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.changes).toEqual([
      {
        file: 'overlays/staging/kustomization.yaml',
        line: 5,
        column: 13,
        kind: 'kustomize',
        from: 'gcr.io/p/web:old',
        to: 'gcr.io/p/web:new',
      },
    ]);
  });

  it('fails listing the images the files hold when none matches, and writes nothing', async () => {
    const r = await runCli(['set-image', 'gcr.io/p/other:new'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('gcr.io/p/other');
    expect(r.stderr).toContain('envoyproxy/envoy:v1.31');
    expect(await read('deployment.yaml')).toBe(deployment);
    const ok = await runCli(['set-image', 'gcr.io/p/other:new', '--allow-no-match'], { cwd: dir });
    expect(ok.code).toBe(0);
  });

  it('reports invalid YAML with file, line and column, and edits no other file', async () => {
    await writeFile(join(dir, 'broken.yaml'), 'a: [1, 2\nb: 3\n');
    const r = await runCli(['set-image', 'gcr.io/p/web:new'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/broken\.yaml:\d+:\d+/);
    expect(await read('deployment.yaml')).toBe(deployment);
  });

  it('rejects an invalid image or tag naming the input, and a missing tag: usage, exit 2', async () => {
    const bad = await runCli(['set-image', 'gcr.io/p/web:-bad'], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('IMAGE');
    const noTag = await runCli(['set-image', 'gcr.io/p/web'], { cwd: dir });
    expect(noTag.code).toBe(2);
    expect(noTag.stderr).toContain('no tag or digest');
  });
});

describe('set-image beside Helm chart templates', () => {
  it('skips a template that is not YAML, says so, and edits the values file', async () => {
    await mkdir(join(dir, 'chart/templates'), { recursive: true });
    await writeFile(
      join(dir, 'chart/values.yaml'),
      'image:\n  repository: gcr.io/p/web\n  tag: old\n',
    );
    await writeFile(
      join(dir, 'chart/templates/deployment.yaml'),
      '{{- if .Values.enabled }}\nkind: Deployment\n{{- end }}\n',
    );
    const r = await runCli(['set-image', 'gcr.io/p/web:new', 'chart'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(await read('chart/values.yaml')).toContain('tag: new');
    expect(r.stderr).toContain('skipped chart/templates/deployment.yaml');
    const found = await runCli(['find-images', 'chart'], { cwd: dir });
    expect(found.code).toBe(0);
    expect(found.stdout).toContain('chart/values.yaml:3:8');
    expect(found.stderr).toContain('skipped chart/templates/deployment.yaml');
  });
});
