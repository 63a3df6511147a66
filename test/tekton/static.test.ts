// Checked offline, like the orb: every Task and Pipeline against Tekton's own v1 CRD schemas (unknown
// fields rejected), and through @ibm/tekton-lint for undefined or unused params and results. Plus the
// promises the Tasks make: the CLI they fetch is the one this commit builds, every CLI option has
// a param, and no param is pasted into a script.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { buildAndPushImageCommand } from '../../packages/cli/src/commands/build-and-push-image.js';
import { createReleasePrCommand } from '../../packages/cli/src/commands/create-release-pr.js';
import { loadResources, type Resource } from './runner.js';

const exec = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const SCHEMAS = join(ROOT, '..', 'shared', 'schemas');
const LINTER = join(ROOT, 'node_modules/@ibm/tekton-lint/dist/lint.js');

async function yamlFiles(dir: string): Promise<string[]> {
  return (await readdir(dir))
    .filter((f) => f.endsWith('.yaml') && !f.startsWith('.'))
    .map((f) => join(dir, f));
}

const published = () => yamlFiles(join(ROOT, 'tekton'));
const examples = () => yamlFiles(join(ROOT, 'examples/tekton'));
const standIns = () => yamlFiles(join(import.meta.dirname, 'catalog'));

async function validators() {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  const load = async (name: string) =>
    ajv.compile(JSON.parse(await readFile(join(SCHEMAS, `tekton-${name}.schema.json`), 'utf8')));
  return { Task: await load('task'), Pipeline: await load('pipeline') };
}

/** Schema errors of one resource, and of the Tasks embedded in a Pipeline (the CRD leaves those unchecked). */
async function schemaErrors(r: Resource): Promise<string[]> {
  const v = await validators();
  const errors: string[] = [];
  const check = (kind: 'Task' | 'Pipeline', value: unknown, where: string) => {
    if (!v[kind](value))
      for (const e of v[kind].errors ?? [])
        errors.push(`${where}${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
  };
  if (r.kind === 'Task' || r.kind === 'Pipeline') check(r.kind, r, `${r.kind} ${r.metadata.name}`);
  for (const t of r.kind === 'Pipeline' ? r.spec.tasks : [])
    if (t.taskSpec) {
      const { metadata: _m, ...spec } = t.taskSpec;
      check(
        'Task',
        { apiVersion: 'tekton.dev/v1', kind: 'Task', metadata: { name: t.name }, spec },
        `${r.metadata.name} tasks.${t.name}.taskSpec`,
      );
    }
  return errors;
}

interface LintProblem {
  message: string;
  rule: string;
  level: string;
  path: string;
}

async function lint(files: string[]): Promise<LintProblem[]> {
  // A HOME of its own: the linter keeps a cache of external tasks there. The settings are the ones
  // users get in tekton/.tektonlintrc.yaml.
  const home = await mkdtemp(join(tmpdir(), 'gr-tekton-lint-'));
  try {
    const { stdout } = await exec(
      process.execPath,
      [LINTER, '--format', 'json', '--color', 'false', '--config', join(ROOT, 'tekton'), ...files],
      { env: { ...process.env, HOME: home }, cwd: ROOT },
    );
    return JSON.parse(stdout) as LintProblem[];
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

describe("Tekton's v1 CRD schemas", () => {
  it('accept every published Task and every example Pipeline, embedded Tasks included', async () => {
    const resources = await loadResources([...(await published()), ...(await examples())]);
    const kinds = resources.map((r) => `${r.kind} ${r.metadata.name ?? r.metadata.generateName}`);
    expect(kinds).toEqual(
      expect.arrayContaining([
        'Task gitops-release-build-and-push',
        'Task gitops-release-image-exists',
        'Task gitops-release-create-release-pr',
        'Pipeline go-sampleapp-ci',
        'Pipeline go-sampleapp-release-pr',
      ]),
    );
    for (const r of resources) expect(await schemaErrors(r)).toEqual([]);
  });

  it('reject a misspelt field (so the check above could fail)', async () => {
    const [task] = await loadResources([join(ROOT, 'tekton/gitops-release-build-and-push.yaml')]);
    task!.spec.steps[1].scripts = task!.spec.steps[1].script;
    expect((await schemaErrors(task!)).join('\n')).toContain('must NOT have additional properties');
  });
});

describe('@ibm/tekton-lint', () => {
  it('finds nothing in the Tasks, the Pipelines and the catalog stand-ins: no undefined or unused params or results', async () => {
    const files = [...(await published()), ...(await examples()), ...(await standIns())];
    expect(await lint(files)).toEqual([]);
  });

  it('reports an undefined param and an unused one in a broken copy', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gr-tekton-broken-'));
    const text = await readFile(join(ROOT, 'tekton/gitops-release-build-and-push.yaml'), 'utf8');
    await writeFile(join(dir, 'task.yaml'), text.replace('$(params.TARGET)', '$(params.TARGETS)'));
    const problems = await lint([join(dir, 'task.yaml')]);
    await rm(dir, { recursive: true, force: true });
    expect(problems.map((p) => p.rule).sort()).toEqual(['no-undefined-param', 'no-unused-param']);
  });
});

describe('what the Tasks promise', () => {
  it('fetch exactly the CLI this commit builds: CLI_SHA256 is dist/cli.cjs’s, CLI_VERSION the package’s', async () => {
    const sha = createHash('sha256')
      .update(await readFile(join(ROOT, 'dist/cli.cjs')))
      .digest('hex');
    const { version } = JSON.parse(await readFile(join(ROOT, 'packages/cli/package.json'), 'utf8'));
    const installs = new Set<string>();
    for (const task of await loadResources(await published())) {
      const param = (n: string) =>
        task.spec.params.find((p: { name: string }) => p.name === n)?.default;
      expect(param('CLI_SHA256'), task.metadata.name).toBe(sha);
      expect(param('CLI_VERSION'), task.metadata.name).toBe(version);
      installs.add(JSON.stringify(task.spec.steps[0]));
    }
    // One install step, the same in every Task.
    expect(installs.size).toBe(1);
  });

  it('are described in docs/tekton.md as they are (generated tables, checked for drift)', async () => {
    const { stdout } = await exec(process.execPath, [
      join(ROOT, 'scripts/tekton-docs.mjs'),
      '--check',
    ]);
    expect(stdout).toContain('docs/tekton.md matches tekton/*.yaml.');
  });

  it('paste no param, workspace or result into a script: all arrive as environment variables', async () => {
    for (const task of await loadResources(await published()))
      for (const step of task.spec.steps)
        expect(step.script, `${task.metadata.name} ${step.name}`).not.toMatch(
          /\$\((params|workspaces|results)\./,
        );
  });

  const GITLAB_ONLY = new Set([
    'gitlab-url',
    'remove-source-branch',
    'squash',
    'merge-request',
    'push-option',
    'git-user',
  ]);
  it('take every create-release-pr option as a param or a workspace', async () => {
    const [task] = await loadResources([
      join(ROOT, 'tekton/gitops-release-create-release-pr.yaml'),
    ]);
    const params = new Set(task!.spec.params.map((p: { name: string }) => p.name));
    // Options a workspace stands for, and the output format the Task always uses.
    const byWorkspace: Record<string, string> = {
      'token-env': 'git-token',
      'ssh-key': 'ssh-directory',
      'app-dir': 'source',
    };
    const plural: Record<string, string> = {
      path: 'PATHS',
      image: 'IMAGES',
      label: 'LABELS',
      reviewer: 'REVIEWERS',
      'team-reviewer': 'TEAM_REVIEWERS',
      assignee: 'ASSIGNEES',
    };
    const workspaces = new Set(task!.spec.workspaces.map((w: { name: string }) => w.name));
    for (const option of Object.keys(createReleasePrCommand.options)) {
      if (option === 'json') continue;
      // GitLab's own options: the Task releases to GitHub or any git remote (HOST github|git).
      if (GITLAB_ONLY.has(option)) continue;
      if (byWorkspace[option]) expect(workspaces).toContain(byWorkspace[option]);
      else
        expect(params, option).toContain(plural[option] ?? option.toUpperCase().replace(/-/g, '_'));
    }
  });

  it('take the build options a buildah Task can use', async () => {
    const [task] = await loadResources([join(ROOT, 'tekton/gitops-release-build-and-push.yaml')]);
    const params = new Set(task!.spec.params.map((p: { name: string }) => p.name));
    // Left out on purpose: the builder is buildah; the login is the dockerconfig workspace; the
    // CA the registry-ca workspace, build secrets the build-secrets one; the output is always JSON;
    // a dry run is gitops-release-image-exists.
    const notParams = new Set([
      'builder',
      'username',
      'password-env',
      'password-stdin',
      'gcp-key-env',
      'registry-ca',
      'secret-env',
      'json',
      'dry-run',
      'no-skip-existing',
      'platform',
      'cache-from',
      'cache-to',
      'source',
    ]);
    const named: Record<string, string> = {
      file: 'DOCKERFILE',
      'extra-tag': 'EXTRA_TAGS',
      'build-arg': 'BUILD_ARGS',
      label: 'LABELS',
      'insecure-registry': 'INSECURE_REGISTRIES',
      'no-push': 'PUSH',
    };
    const workspaces = new Set(task!.spec.workspaces.map((w: { name: string }) => w.name));
    expect(workspaces).toContain('registry-ca');
    expect(workspaces).toContain('build-secrets');
    for (const option of Object.keys(buildAndPushImageCommand.options)) {
      if (notParams.has(option)) continue;
      expect(params, option).toContain(named[option] ?? option.toUpperCase().replace(/-/g, '_'));
    }
  });
});
