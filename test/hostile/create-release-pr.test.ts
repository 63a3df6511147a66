import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { git } from '../support/manifest-repo.js';
import { cli, expectRefused, type Refusal, snapshot, tempDir } from './harness.js';

// create-release-pr against a real bare repository on a local path (the plain git host): every
// refusal must leave its refs as they were and remove its temporary repository.

const TOKEN = 'glpat-hostile-Secret-0123456789';
let bare: string;
let refs: () => string;

beforeAll(() => {
  const root = tempDir('release-repo');
  const work = join(root, 'work');
  const files: Record<string, string | Buffer> = {
    'overlays/staging/kustomization.yaml':
      'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../base\nimages:\n  - name: ghcr.io/acme/web\n    newTag: 1.0.0\n',
    'pinned/kustomization.yaml':
      'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nimages:\n  - name: ghcr.io/acme/web\n    newTag: abc1234\n',
    'broken/values.yaml': 'image:\n  repository: ghcr.io/acme/web\n  tag: [1.0.0\n',
    'latin1/values.yaml': Buffer.concat([
      Buffer.from('# caf'),
      Buffer.from([0xe9]),
      Buffer.from('\nimage:\n  repository: ghcr.io/acme/web\n  tag: 1.0.0\n'),
    ]),
  };
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(work, path)), { recursive: true });
    writeFileSync(join(work, path), text);
  }
  git(['init', '-q', '-b', 'main'], work);
  git(['add', '.'], work);
  git(['commit', '-q', '-m', 'Initial manifests'], work);
  bare = join(root, 'manifests.git');
  git(['clone', '-q', '--bare', work, bare], root);
  git(['config', 'uploadpack.allowFilter', 'true'], bare);
  git(['config', 'uploadpack.allowAnySHA1InWant', 'true'], bare);
  refs = () => execFileSync('git', ['for-each-ref'], { cwd: bare, encoding: 'utf8' });
});

interface Case {
  name: string;
  /** Arguments after the command; `REPO` is replaced by the bare repository's path. */
  argv: string[];
  refusal: Refusal;
  env?: Record<string, string>;
}

const release = ['--repo', 'REPO', '--path', 'overlays/staging', '--token-env', 'GIT_TOKEN'];
const IMAGE = ['--image', 'ghcr.io/acme/web:2.0.0'];
const github = ['--repo', 'acme/manifests', '--path', 'overlays/staging', ...IMAGE];
const GITHUB_ENV = { GITHUB_TOKEN: TOKEN, GITHUB_API_URL: 'http://127.0.0.1:9' };

const cases: Case[] = [
  // --- missing and malformed flags ---
  {
    name: 'no --repo',
    argv: ['--path', 'x', ...IMAGE],
    refusal: { code: 2, names: ['--repo is required'] },
  },
  {
    name: 'no --path',
    argv: ['--repo', 'REPO', ...IMAGE],
    refusal: { code: 2, names: ['--path is required'] },
  },
  { name: 'no --image', argv: release, refusal: { code: 2, names: ['--image is required'] } },
  {
    name: 'an --image whose digest is too long',
    argv: [...release, '--image', `ghcr.io/acme/web@sha256:${'a'.repeat(65)}`],
    refusal: { code: 2, names: ['--image', 'this one has 65'] },
  },
  {
    name: 'an --image without a tag while GITHUB_SHA is set but empty',
    argv: [...release, '--image', 'ghcr.io/acme/web'],
    env: { GITHUB_SHA: '', CIRCLE_SHA1: ' ' },
    refusal: { code: 2, names: ['--image ghcr.io/acme/web has no tag', 'GITHUB_SHA'] },
  },
  {
    name: 'an unknown --host',
    argv: [...release, ...IMAGE, '--host', 'svn'],
    refusal: { code: 2, names: ['--host must be one of', '(got "svn")'] },
  },
  {
    name: 'an unknown --mode',
    argv: [...release, ...IMAGE, '--mode', 'merge'],
    refusal: { code: 2, names: ['--mode must be one of pull-request, push'] },
  },
  {
    name: 'an unknown --api',
    argv: [...github, '--api', 'soap'],
    env: GITHUB_ENV,
    refusal: { code: 2, names: ['--api must be one of'], secrets: [TOKEN] },
  },
  {
    name: '--merge-method without --auto-merge',
    argv: [...release, ...IMAGE, '--merge-method', 'rebase'],
    refusal: { code: 2, names: ['--merge-method only goes with --auto-merge'] },
  },
  // --- branch names git refuses ---
  {
    name: 'a branch template with ".."',
    argv: [...release, ...IMAGE, '--branch', 'release..{sha}'],
    refusal: { code: 2, names: ['branch "release..{sha}"', 'contains ".."'] },
  },
  {
    name: 'a branch template with a space',
    argv: [...release, ...IMAGE, '--branch', 'release {sha}'],
    refusal: { code: 2, names: ['is not a branch name git accepts: it contains a space'] },
  },
  {
    name: 'a branch template rendering a ":" from {image}',
    argv: [...release, ...IMAGE, '--branch', 'release/{image}'],
    refusal: { code: 2, names: ['renders to "release/ghcr.io/acme/web:2.0.0"', 'contains ":"'] },
  },
  {
    name: 'a branch template with an unknown placeholder',
    argv: [...release, ...IMAGE, '--branch', 'release-{commit}'],
    refusal: { code: 2, names: ['unknown placeholder {commit}'] },
  },
  {
    name: 'a branch ending in .lock',
    argv: [...release, ...IMAGE, '--branch', 'release.lock'],
    refusal: { code: 2, names: ['ends with ".lock"'] },
  },
  {
    name: 'a branch template that is only spaces',
    argv: [...release, ...IMAGE, '--branch', '   '],
    refusal: { code: 2, names: ['--branch must not be empty'] },
  },
  {
    name: 'a --base git refuses',
    argv: [...release, ...IMAGE, '--base', 'main~1'],
    refusal: { code: 2, names: ['--base "main~1" is not a branch name git accepts', '"~"'] },
  },
  {
    name: 'a release branch equal to the --base in pull-request mode',
    argv: [...release, ...IMAGE, '--branch', 'main', '--base', 'main'],
    refusal: { code: 2, names: ['the release branch "main" is the base branch', '--mode push'] },
  },
  {
    name: 'a release branch equal to the default branch, known only after the read',
    argv: [...release, ...IMAGE, '--branch', 'main'],
    refusal: { code: 2, names: ['the release branch "main" is the base branch', '--mode push'] },
  },
  // --- flags that contradict each other ---
  {
    name: '--mode push with --branch',
    argv: [...release, ...IMAGE, '--mode', 'push', '--branch', 'release-{sha}'],
    refusal: { code: 2, names: ['--branch is for pull-request mode'] },
  },
  {
    name: '--mode push with --reviewer',
    argv: [...release, ...IMAGE, '--mode', 'push', '--reviewer', 'alice'],
    refusal: { code: 2, names: ['--reviewer is for pull-request mode'] },
  },
  {
    name: '--key with two images',
    argv: [...release, ...IMAGE, '--image', 'ghcr.io/acme/api:2', '--key', '.images[0].newTag'],
    refusal: {
      code: 2,
      names: ['--key edits one place, so give exactly one --image (2 were given)'],
    },
  },
  // --- the application repository and the token ---
  {
    name: 'an --app-repo path that does not exist',
    argv: [...release, ...IMAGE, '--app-repo', './no-such-app'],
    refusal: { code: 2, names: ['--app-repo "./no-such-app": no such directory'] },
  },
  {
    name: 'an --app-repo that is a directory but no git repository (read for the guard)',
    argv: [
      '--repo',
      'REPO',
      '--path',
      'pinned',
      '--image',
      'ghcr.io/acme/web:def5678',
      '--app-repo',
      'REPO/..',
      '--token-env',
      'GIT_TOKEN',
    ],
    refusal: { code: 1, names: ['--app-repo:', 'Check --app-repo'], secrets: [TOKEN] },
  },
  {
    name: 'an --app-repo that is not OWNER/NAME on GitHub',
    argv: [...github, '--app-repo', 'acme/web/extra'],
    env: GITHUB_ENV,
    refusal: {
      code: 2,
      names: ['--app-repo "acme/web/extra" is not OWNER/NAME'],
      secrets: [TOKEN],
    },
  },
  {
    name: 'GITHUB_TOKEN set but empty',
    argv: github,
    env: { GITHUB_TOKEN: '' },
    refusal: { code: 2, names: ['no GitHub token', 'GITHUB_TOKEN'] },
  },
  {
    name: '--token-env naming a variable that is not set',
    argv: [...github, '--token-env', 'MANIFESTS_TOKEN'],
    env: { GITHUB_TOKEN: TOKEN },
    refusal: { code: 2, names: ['MANIFESTS_TOKEN'], secrets: [TOKEN] },
  },
  {
    name: 'a --repo that is not OWNER/NAME on GitHub',
    argv: ['--repo', 'acme/', '--host', 'github', '--path', 'x', ...IMAGE],
    env: GITHUB_ENV,
    refusal: { code: 2, names: ['--repo "acme/" is not OWNER/NAME'], secrets: [TOKEN] },
  },
  // --- what the read finds ---
  {
    name: 'a --repo path that does not exist',
    argv: ['--repo', './no-such-repo', '--path', 'x', ...IMAGE, '--token-env', 'GIT_TOKEN'],
    refusal: { code: 1, names: ['no-such-repo'], secrets: [TOKEN] },
  },
  {
    name: 'a git URL with a password in it, unreachable',
    argv: ['--repo', `http://ci:${TOKEN}@127.0.0.1:9/manifests.git`, '--path', 'x', ...IMAGE],
    refusal: { code: 1, names: ['127.0.0.1:9'], secrets: [TOKEN] },
  },
  {
    name: 'a --path the repository does not have',
    argv: ['--repo', 'REPO', '--path', 'overlays/prod', ...IMAGE, '--token-env', 'GIT_TOKEN'],
    refusal: { code: 1, names: ['overlays/prod'], secrets: [TOKEN] },
  },
  {
    name: 'a file in the repository that is not valid YAML',
    argv: ['--repo', 'REPO', '--path', 'broken', ...IMAGE, '--token-env', 'GIT_TOKEN'],
    refusal: { code: 1, names: [/broken\/values\.yaml:\d+:\d+: /], secrets: [TOKEN] },
  },
  {
    name: 'a file in the repository that is not UTF-8',
    argv: ['--repo', 'REPO', '--path', 'latin1', ...IMAGE, '--token-env', 'GIT_TOKEN'],
    refusal: {
      code: 1,
      names: ['latin1/values.yaml:1: not UTF-8 text (byte 0xe9'],
      secrets: [TOKEN],
    },
  },
  {
    name: 'an image the files do not deploy',
    argv: [...release, '--image', 'ghcr.io/acme/api:2'],
    refusal: { code: 1, names: ['ghcr.io/acme/api:2', 'ghcr.io/acme/web:1.0.0'], secrets: [TOKEN] },
  },
  {
    name: 'a --key that leads nowhere',
    argv: [...release, ...IMAGE, '--key', '.images[4].newTag'],
    refusal: { code: 1, names: ['key ".images[4].newTag"'], secrets: [TOKEN] },
  },
];

describe('create-release-pr refuses hostile and unusual input, changing no ref', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const cwd = tempDir('release-cwd');
    const temp = tempDir('release-tmp');
    const before = refs();
    const cwdBefore = snapshot(cwd);
    const out = await cli(['create-release-pr', ...c.argv.map((a) => a.replace(/^REPO/, bare))], {
      cwd,
      env: { GIT_TOKEN: TOKEN, TMPDIR: temp, ...c.env },
    });
    expectRefused(out, { ...c.refusal, secrets: [TOKEN, ...(c.refusal.secrets ?? [])] });
    expect(refs(), 'no ref of the manifest repository changed').toBe(before);
    expect(readdirSync(temp), 'the temporary repository was removed').toEqual([]);
    expect(snapshot(cwd)).toEqual(cwdBefore);
  });
});
