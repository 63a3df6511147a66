import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../main.js';

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
    cwd,
    encoding: 'utf8',
  }).trim();

/** A manifest repository (local path, plain git) and an application checkout with one commit. */
async function repos() {
  const root = await mkdtemp(join(tmpdir(), 'gr-commit-'));
  const manifests = join(root, 'manifests');
  const app = join(root, 'app');
  await mkdir(manifests);
  await mkdir(app);
  git(manifests, 'init', '-q', '-b', 'main');
  await writeFile(
    join(manifests, 'pod.yaml'),
    'spec:\n  containers:\n    - name: web\n      image: 172.16.194.68/demo-ns/go-sampleapp:0000000\n',
  );
  git(manifests, 'add', '.');
  git(manifests, 'commit', '-q', '-m', 'first');
  git(app, 'init', '-q', '-b', 'main');
  await writeFile(join(app, 'main.go'), 'package main\n');
  git(app, 'add', '.');
  git(app, 'commit', '-q', '-m', 'app');
  return { root, manifests, app, head: git(app, 'rev-parse', 'HEAD') };
}

async function cli(args: string[], env: Record<string, string>, cwd: string) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(
    ['create-release-pr', '--host', 'git', '--path', 'pod.yaml', '--dry-run', ...args],
    {
      stdout: (t) => out.push(t),
      stderr: (t) => err.push(t),
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      cwd,
    },
  );
  return { code, stdout: out.join(''), stderr: err.join('') };
}

const IMAGE = '172.16.194.68/demo-ns/go-sampleapp';

describe('create-release-pr finds the commit outside GitHub, CircleCI and GitLab', () => {
  it('takes git rev-parse HEAD in --app-dir when no CI variable is set, and says so', async () => {
    const r0 = await repos();
    const r = await cli(
      ['--repo', r0.manifests, '--image', IMAGE, '--app-dir', r0.app],
      {},
      r0.root,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`+      image: ${IMAGE}:${r0.head.slice(0, 7)}`);
    expect(r.stderr).toContain(
      `commit ${r0.head.slice(0, 7)} (from git rev-parse HEAD in ${r0.app})`,
    );
  });

  it('defaults --app-dir to the working directory', async () => {
    const r0 = await repos();
    const r = await cli(['--repo', r0.manifests, '--image', IMAGE], {}, r0.app);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${IMAGE}:${r0.head.slice(0, 7)}`);
  });

  it('takes Jenkins’ GIT_COMMIT over git, and --commit with --sha-length over both', async () => {
    const r0 = await repos();
    const jenkins = 'abcdef0123456789abcdef0123456789abcdef01';
    const fromEnv = await cli(
      ['--repo', r0.manifests, '--image', IMAGE],
      { GIT_COMMIT: jenkins },
      r0.app,
    );
    expect(fromEnv.stdout).toContain(`${IMAGE}:abcdef0`);
    expect(fromEnv.stderr).not.toContain('git rev-parse');
    const given = 'FEDCBA9876543210FEDCBA9876543210FEDCBA98';
    const r = await cli(
      [
        '--repo',
        r0.manifests,
        '--image',
        IMAGE,
        '--commit',
        given,
        '--sha-length',
        '12',
        '--title',
        'Release {sha}',
      ],
      { GIT_COMMIT: jenkins },
      r0.app,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${IMAGE}:fedcba987654`);
    expect(r.stdout).toContain('Release fedcba987654');
  });

  it('without any commit, the error names every source it looked at', async () => {
    const r0 = await repos();
    const r = await cli(['--repo', r0.manifests, '--image', IMAGE], {}, r0.root);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('GIT_COMMIT');
    expect(r.stderr).toContain('no git checkout in --app-dir');
  });

  it.each([
    [['--commit', 'main'], '--commit takes a commit SHA'],
    [['--sha-length', '3'], '--sha-length takes a whole number from 4 to 64'],
  ])('%j is wrong usage', async (args, message) => {
    const r0 = await repos();
    const r = await cli(['--repo', r0.manifests, '--image', IMAGE, ...args], {}, r0.app);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });
});
