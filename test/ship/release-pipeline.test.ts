// The release pipeline, checked offline: the workflows pass actionlint and run scripts that exist;
// the changesets config is valid and `changeset version` gives every package one version; the
// Action's tags and the orb's version follow from it; and the README, the examples and the orb's
// usage refer to exactly the versions this pipeline produces.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Ajv2020 from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { actionlintProblems, root } from '../action/workflow-lint.js';

const run = promisify(execFile);
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const work = mkdtempSync(join(tmpdir(), 'gr-release-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const PACKAGES = ['action', 'cli', 'core', 'fs', 'git', 'github', 'image'];
let released: string;

beforeAll(async () => {
  // `changeset version` on a copy: the workspace's manifests and the pending changesets.
  for (const file of ['package.json', 'pnpm-workspace.yaml', '.changeset'])
    cpSync(join(root, file), join(work, file), { recursive: true });
  for (const p of PACKAGES)
    cpSync(join(root, 'packages', p, 'package.json'), join(work, 'packages', p, 'package.json'));
  cpSync(join(root, 'scripts/tag-action.sh'), join(work, 'scripts/tag-action.sh'));
  await run(join(root, 'node_modules/.bin/changeset'), ['version'], { cwd: work });
  released = JSON.parse(readFileSync(join(work, 'packages/cli/package.json'), 'utf8')).version;
}, 120_000);

describe('the GitHub workflows of this repository', () => {
  const workflows = readdirSync(join(root, '.github/workflows'));

  it.each(workflows)('%s passes actionlint', async (file) => {
    expect(await actionlintProblems(read(`.github/workflows/${file}`))).toEqual([]);
  });

  it('release.yml versions and publishes with the root scripts, and tags the Action after a publish', () => {
    const workflow = YAML.parse(read('.github/workflows/release.yml'));
    const scripts = JSON.parse(read('package.json')).scripts;
    const changesets = workflow.jobs.release.steps.find((s: { uses?: string }) =>
      s.uses?.startsWith('changesets/action@'),
    );
    for (const command of [changesets.with.version, changesets.with.publish]) {
      const [, script] = String(command).match(/^pnpm (\S+)$/) ?? [];
      expect(scripts[script!], command).toBeDefined();
    }
    expect(scripts.release).toBe('changeset publish');
    const tags = workflow.jobs['action-tags'];
    expect(tags.needs).toBe('release');
    expect(tags.if).toContain("needs.release.outputs.published == 'true'");
    expect(JSON.stringify(tags.steps)).toContain('scripts/tag-action.sh');
  });
});

describe('versions', () => {
  it('the changesets config is valid against its own schema, and one version is shared', () => {
    const cli = createRequire(join(root, 'node_modules/@changesets/cli/package.json'));
    const schema = JSON.parse(readFileSync(cli.resolve('@changesets/config/schema.json'), 'utf8'));
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    const config = JSON.parse(read('.changeset/config.json'));
    expect(ajv.validate(schema, config), JSON.stringify(ajv.errors)).toBe(true);
    const names = PACKAGES.map((p) => JSON.parse(read(`packages/${p}/package.json`)).name);
    expect([...config.fixed[0]].sort()).toEqual(names.sort());
  });

  it('changeset version gives every package, the Action included, the same release version', () => {
    expect(released).toMatch(/^\d+\.\d+\.\d+$/);
    for (const p of PACKAGES) {
      const pkg = JSON.parse(readFileSync(join(work, 'packages', p, 'package.json'), 'utf8'));
      expect(pkg.version, p).toBe(released);
    }
    // The changelog each package gets names the version and the change.
    const changelog = readFileSync(join(work, 'packages/cli/CHANGELOG.md'), 'utf8');
    expect(changelog).toContain(`## ${released}`);
  });

  it('the Action is tagged vX.Y.Z once and vX moved to it', async () => {
    await run('git', ['init', '-q'], { cwd: work });
    const { stdout } = await run('bash', ['scripts/tag-action.sh', '--dry-run'], { cwd: work });
    const major = released.split('.')[0];
    expect(stdout.split('\n').filter(Boolean)).toEqual([
      `git tag -a v${released} -m gitops-release v${released}`,
      `git tag -f -a v${major} -m gitops-release v${major} (v${released})`,
      `git push origin refs/tags/v${released}`,
      `git push --force origin refs/tags/v${major}`,
    ]);
  });

  it('the README, the examples and the orb usage refer to the versions this pipeline produces', () => {
    const major = released.split('.')[0];
    const files = [
      'README.md',
      'examples/circleci/config.yml',
      ...readdirSync(join(root, 'examples/github/app-repo/.github/workflows')).map(
        (f) => `examples/github/app-repo/.github/workflows/${f}`,
      ),
      ...readdirSync(join(root, 'orb/src/examples')).map((f) => `orb/src/examples/${f}`),
      ...PACKAGES.filter((p) => p !== 'action').map((p) => `packages/${p}/README.md`),
    ];
    // Actions follow the moving major tag vX; the orb and npm take the major X (any X.y.z).
    const wrong: string[] = [];
    let count = 0;
    for (const file of files) {
      for (const m of read(file).matchAll(
        /(uses: |orbs?:\s*\n?\s*gitops-release: |)(gitops-release\/gitops-release(?:\/[\w-]+)?|@gitops-release\/cli)@([\w.:-]+)/g,
      )) {
        count++;
        const [whole, how, what, version] = m as unknown as [string, string, string, string];
        const want =
          what === '@gitops-release/cli' || how.includes('gitops-release: ') ? major : `v${major}`;
        if (how === '' && what !== '@gitops-release/cli')
          wrong.push(`${file}: ${whole} (neither uses: nor orbs:)`);
        else if (version !== want) wrong.push(`${file}: ${whole} (want @${want})`);
      }
    }
    expect(count).toBeGreaterThan(5);
    expect(wrong).toEqual([]);
  });
});

describe('the orb release (CircleCI orb-tools conventions)', () => {
  const setup = YAML.parse(read('.circleci/config.yml'));
  const deploy = YAML.parse(read('.circleci/test-deploy.yml'));
  const jobs = (config: typeof setup) =>
    Object.fromEntries(
      config.workflows[Object.keys(config.workflows)[0]!].jobs.map((j: Record<string, unknown>) =>
        typeof j === 'string' ? [j, {}] : Object.entries(j)[0],
      ),
    ) as Record<string, Record<string, unknown> & { filters?: { tags?: { only?: string } } }>;

  it('lints, packs and reviews orb/src, then continues to test-deploy with the orb injected', () => {
    expect(setup.setup).toBe(true);
    expect(setup.orbs['orb-tools']).toMatch(/^circleci\/orb-tools@12/);
    const j = jobs(setup);
    for (const name of ['orb-tools/lint', 'orb-tools/pack', 'orb-tools/review'])
      expect(j[name]?.source_dir, name).toBe('orb/src');
    expect(j['orb-tools/continue']?.orb_name).toBe('gitops-release');
    // continue injects the packed dev orb under the same key.
    expect(deploy.orbs['gitops-release']).toEqual({});
  });

  it('publishes the production orb only on a vX.Y.Z tag, the one the Action is tagged with', () => {
    const publish = jobs(deploy)['orb-tools/publish']!;
    expect(publish.orb_name).toBe('gitops-release/gitops-release');
    expect(publish.pub_type).toBe('production');
    const only = new RegExp(String(publish.filters?.tags?.only).replace(/^\/|\/$/g, ''));
    expect(only.test(`v${released}`)).toBe(true);
    expect(only.test(`v${released.split('.')[0]}`)).toBe(false);
    expect((publish.filters as { branches?: { ignore?: string } }).branches?.ignore).toBe('/.*/');
  });
});
