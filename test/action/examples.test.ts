import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  actionlintProblems,
  ourActionProblems,
  root,
  snippetStepProblems,
} from './workflow-lint.js';

const examples = join(root, 'examples/github');

function workflows(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.github\/workflows\/[^/]+\.ya?ml$/.test(f))
    .map((f) => join(dir, f))
    .sort();
}

const files = workflows(examples);

describe('examples/github workflows', () => {
  it('are there: the application side and the manifest side', () => {
    expect(files.map((f) => relative(examples, f))).toEqual(
      expect.arrayContaining([
        'app-repo/.github/workflows/release.yml',
        'manifest-repo/.github/workflows/validate.yml',
      ]),
    );
  });

  it.each(files.map((f) => [relative(examples, f), f]))('%s passes actionlint', async (_, file) => {
    expect(await actionlintProblems(readFileSync(file, 'utf8'))).toEqual([]);
  });

  it.each(files.map((f) => [relative(examples, f), f]))(
    '%s uses only inputs and outputs action.yml declares',
    (_, file) => {
      expect(ourActionProblems(readFileSync(file, 'utf8'))).toEqual([]);
    },
  );

  it('ask for no write permission by default, and each job only for what it uses', () => {
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      const wf = parse(text) as {
        permissions?: Record<string, string>;
        jobs: Record<string, { permissions?: Record<string, string> }>;
      };
      expect(wf.permissions, file).toBeDefined();
      expect(Object.values(wf.permissions ?? {}), file).not.toContain('write');
      for (const [name, job] of Object.entries(wf.jobs)) {
        const writes = Object.entries(job.permissions ?? {}).filter(([, v]) => v === 'write');
        // A write permission must say why, on its line.
        for (const [scope] of writes)
          expect(text, `${file} job ${name}`).toMatch(new RegExp(`${scope}: write # \\w`));
      }
    }
  });
});

describe('the lint itself', () => {
  const release = readFileSync(join(examples, 'app-repo/.github/workflows/release.yml'), 'utf8');

  it('catches a broken workflow (actionlint)', async () => {
    const broken = release.replace('runs-on: ubuntu-latest', 'runs-on: ubuntu-latest\n    foo: 1');
    const problems = await actionlintProblems(broken);
    expect(problems.map((p) => p.message).join('\n')).toMatch(/foo/);
  });

  it('catches a misspelt input, a missing command and an unknown output of our action', () => {
    const broken = release
      .replace('close-superseded: true', 'close-superceded: true')
      .replace('command: build_and_push_image', '')
      .replace('steps.build.outputs.digest', 'steps.build.outputs.sha');
    expect(ourActionProblems(broken)).toEqual([
      expect.stringMatching(/step build: required input "command" is missing/),
      expect.stringMatching(/output "sha" of step build/),
      expect.stringMatching(/input "close-superceded" is not in action.yml/),
    ]);
  });
});

describe('examples/github/manifest-repo', () => {
  it.each(['staging', 'production'])('overlays/%s renders with kubectl kustomize', async (o) => {
    const { stdout } = await promisify(execFile)('kubectl', [
      'kustomize',
      join(examples, 'manifest-repo/overlays', o),
    ]);
    expect(stdout).toContain(`namespace: web-${o}`);
    expect(stdout).toMatch(/image: asia\.gcr\.io\/my-project\/web:0a1b2c3/);
  });

  it('has the Argo CD Application that watches the staging overlay', () => {
    const app = readFileSync(join(examples, 'manifest-repo/argocd/web-staging.yaml'), 'utf8');
    expect(app).toMatch(/kind: Application/);
    expect(app).toMatch(/path: overlays\/staging/);
  });
});

describe('README.md, GitHub Actions section', () => {
  it('has the inputs and outputs tables action.yml gives (scripts/action-docs.mjs --check)', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [
      join(root, 'scripts/action-docs.mjs'),
      '--check',
    ]);
    expect(stdout).toContain('matches action.yml');
    const doc = readFileSync(join(root, 'README.md'), 'utf8');
    for (const name of ['github-token', 'skip-existing', 'close-superseded', 'pull-request-url'])
      expect(doc).toContain(`| \`${name}\``);
  });

  it("its YAML snippets give each action it uses only that action's inputs, required ones included", () => {
    const doc = readFileSync(join(root, 'README.md'), 'utf8');
    const snippets = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)]
      .map((m) => m[1]!)
      .filter((text) => /uses: gitops-release\//.test(text));
    expect(snippets.length).toBeGreaterThanOrEqual(2);
    expect(snippets.flatMap(snippetStepProblems)).toEqual([]);
    // A step given another command's input would fail here:
    expect(
      snippetStepProblems(
        '- uses: gitops-release/gitops-release/create-release-pr@v1\n  with: { repo: o/m, paths: p, image: i, context: . }',
      ),
    ).toEqual([
      'gitops-release/gitops-release/create-release-pr@v1: input "context" is not in its action.yml',
    ]);
  });
});
