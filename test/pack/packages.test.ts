// The npm packages as a user gets them: each public package packed as publishing packs it
// (`pnpm pack`: prepack builds dist/, publishConfig gives the published exports), the tarballs
// installed with plain npm into an empty project, then the core API imported and a manifest
// edited with it, the types resolved by tsc, and the bin run: on Node 20 and on Node 24.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PUBLIC_PACKAGES } from '../../scripts/build-packages.mjs';

const run = promisify(execFile);
const root = join(import.meta.dirname, '../..');
let work: string;
let project: string;
const tarballs: Record<string, string> = {};

/** `node` of a major version: the system's when it is that one, else npm's `node@MAJOR` package. */
async function nodeOf(major: number): Promise<string[]> {
  const { stdout } = await run('node', ['--version']);
  if (stdout.startsWith(`v${major}.`)) return ['node'];
  // The repository's `node` devDependency is Node 24; any other major comes from npm the same way.
  const local = join(root, 'node_modules/.bin/node');
  const localVersion = await run(local, ['--version']).then(
    (r) => r.stdout,
    () => '',
  );
  if (localVersion.startsWith(`v${major}.`)) return [local];
  return ['npx', '-y', `node@${major}`];
}

const CORE_SCRIPT = `
import { findImages, parseImageReference, planImageEdits } from '@gitops-release/core';
import { readManifestFiles, writeFilesAtomically } from '@gitops-release/fs';
import * as git from '@gitops-release/git';
import * as github from '@gitops-release/github';
import * as image from '@gitops-release/image';
const files = await readManifestFiles(['manifests'], process.cwd());
const plan = planImageEdits(files, { images: [parseImageReference('ghcr.io/o/web:def5678')] });
await writeFilesAtomically(plan.edits, process.cwd());
console.log(JSON.stringify({
  node: process.version,
  changes: plan.edits.flatMap((e) => e.changes.map((c) => c.to)),
  found: findImages(plan.edits[0].after).map((f) => f.value),
  hosts: [typeof git.createGitHost, typeof github.createGitHubHost, typeof image.selectBuilder],
}));
`;

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web # the web front end
spec:
  template:
    spec:
      containers:
        - name: web
          image: "ghcr.io/o/web:abc1234"
`;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'gr-pack-'));
  const packed = join(work, 'tarballs');
  for (const name of PUBLIC_PACKAGES) {
    const { stdout } = await run('pnpm', ['pack', '--pack-destination', packed], {
      cwd: join(root, 'packages', name),
    });
    const file = stdout.trim().split('\n').at(-1)!;
    expect(file).toMatch(/\.tgz$/);
    tarballs[name] = file;
  }
  project = join(work, 'project');
  await mkdir(project);
  const manifest = { name: 'user-project', private: true, type: 'module' };
  await writeFile(join(project, 'package.json'), `${JSON.stringify(manifest)}\n`);
  // Plain npm, as a user installs them: no workspace, no pnpm, nothing linked from this repository.
  await run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', ...Object.values(tarballs)],
    { cwd: project },
  );
}, 600_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the packed packages', () => {
  it('publish dist/ with exports (types, import), files, engines and a README; no sources', async () => {
    for (const name of PUBLIC_PACKAGES) {
      const { stdout } = await run('tar', ['tzf', tarballs[name]!]);
      const entries = stdout.split('\n').filter(Boolean);
      expect(entries, name).toContain('package/README.md');
      expect(entries, name).toContain('package/LICENSE');
      expect(
        entries.filter((e) => e.startsWith('package/src/')),
        name,
      ).toEqual([]);
      const pkg = JSON.parse(
        await readFile(join(project, 'node_modules/@gitops-release', name, 'package.json'), 'utf8'),
      );
      expect(pkg.engines, name).toEqual({ node: '>=20' });
      // workspace:* became the real version, or npm could not resolve the siblings.
      expect(JSON.stringify(pkg.dependencies ?? {}), name).not.toContain('workspace:');
      if (name === 'cli') {
        expect(pkg.bin).toEqual({ 'gitops-release': 'dist/cli.cjs' });
        expect(entries).toContain('package/dist/cli.cjs');
        // The bin is one bundle: installing the CLI installs nothing else.
        expect(pkg.dependencies ?? {}).toEqual({});
      } else {
        expect(pkg.exports).toEqual({
          '.': { types: './dist/index.d.ts', import: './dist/index.js' },
        });
        for (const file of ['index.js', 'index.d.ts', 'index.js.map', 'index.d.ts.map'])
          expect(entries, name).toContain(`package/dist/${file}`);
      }
    }
  });

  it.each([20, 24])(
    'on Node %i: the core API edits a manifest, every library loads, the bin runs',
    async (major) => {
      const node = await nodeOf(major);
      const [bin, ...pre] = node as [string, ...string[]];
      await rm(join(project, 'manifests'), { recursive: true, force: true });
      await mkdir(join(project, 'manifests'));
      await writeFile(join(project, 'manifests/deployment.yaml'), DEPLOYMENT);
      await writeFile(join(project, 'edit.mjs'), CORE_SCRIPT);
      const edit = await run(bin, [...pre, 'edit.mjs'], { cwd: project });
      const out = JSON.parse(edit.stdout);
      expect(out.node).toMatch(new RegExp(`^v${major}\\.`));
      expect(out.changes).toEqual(['ghcr.io/o/web:def5678']);
      expect(out.hosts).toEqual(['function', 'function', 'function']);
      expect(await readFile(join(project, 'manifests/deployment.yaml'), 'utf8')).toBe(
        DEPLOYMENT.replace('abc1234', 'def5678'),
      );

      const cli = join(project, 'node_modules/@gitops-release/cli/dist/cli.cjs');
      const version = await run(bin, [...pre, cli, '--version'], { cwd: project });
      const { version: expected } = JSON.parse(
        await readFile(join(root, 'packages/cli/package.json'), 'utf8'),
      );
      expect(version.stdout.trim()).toBe(expected);
      const set = await run(
        bin,
        [...pre, cli, 'set-image', 'ghcr.io/o/web:0a1b2c3', 'manifests', '--json'],
        { cwd: project },
      );
      expect(set.stdout).toContain('ghcr.io/o/web:0a1b2c3');
      expect(await readFile(join(project, 'manifests/deployment.yaml'), 'utf8')).toBe(
        DEPLOYMENT.replace('abc1234', '0a1b2c3'),
      );
    },
  );

  it("the README's npx line runs the installed bin, and the core README's example runs", async () => {
    const npx = await run('npx', ['@gitops-release/cli', '--help'], { cwd: project });
    expect(npx.stdout).toContain('Usage: gitops-release <command>');
    const readme = await readFile(join(root, 'packages/core/README.md'), 'utf8');
    const example = readme.match(/```js\n([\s\S]*?)```/)?.[1];
    expect(example).toBeDefined();
    await writeFile(join(project, 'readme.mjs'), example!);
    const out = await run('node', ['readme.mjs'], { cwd: project });
    expect(out.stdout.split('\n')[1]).toBe('true');
  });

  it('the declarations resolve for a TypeScript user (nodenext), and name the real types', async () => {
    await writeFile(
      join(project, 'check.ts'),
      `import { parseImageReference, type ImageReference } from '@gitops-release/core';
import { createGitHubHost, type GitHubHostOptions } from '@gitops-release/github';
const ref: ImageReference = parseImageReference('ghcr.io/o/web:1');
const options: GitHubHostOptions = { repository: 'o/m', token: 't' };
// @ts-expect-error: a tag is a string, so the declarations carry the real types, not any
const wrong: ImageReference = { repository: 1 };
export { ref, options, wrong, createGitHubHost };
`,
    );
    await writeFile(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: [],
        },
        files: ['check.ts'],
      }),
    );
    const tsc = await run(join(root, 'node_modules/.bin/tsc'), ['-p', '.'], { cwd: project }).then(
      (r) => ({ code: 0, out: r.stdout }),
      (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
    );
    expect(tsc).toEqual({ code: 0, out: '' });
  });
});
