import { execFileSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../main.js';

async function cli(args: string[], env: Record<string, string> = {}, cwd?: string) {
  const out: string[] = [];
  const err: string[] = [];
  const dir = cwd ?? (await mkdtemp(join(tmpdir(), 'gr-cli-')));
  await writeFile(join(dir, 'Dockerfile'), 'FROM scratch\n');
  const code = await run(['build-and-push-image', ...args], {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    env: { PATH: process.env.PATH, ...env },
    cwd: dir,
  });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

describe('build-and-push-image usage', () => {
  it('has a full --help with examples for GCR, Artifact Registry, ECR, GHCR and Harbor', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    for (const s of [
      'gcr.io/',
      '-docker.pkg.dev/',
      '.dkr.ecr.',
      'ghcr.io/',
      'harbor.example.com/',
      '--password-stdin',
      '--gcp-key-env',
    ])
      expect(r.stdout).toContain(s);
  });

  it.each([
    [['--tag', 'x'], '--image is required'],
    [['--image', 'r.example/app', '--builder', 'kaniko'], '--builder must be auto'],
    [['--image', 'r.example/app', '--username', 'u'], '--username needs --password-env'],
    [
      ['--image', 'r.example/app', '--password-env', 'A', '--gcp-key-env', 'B'],
      'give only one of --password-env, --gcp-key-env',
    ],
    [['--image', 'r.example/app', '--password-env', 'UNSET_VAR'], 'UNSET_VAR is empty or not set'],
    [['--image', 'r.example/app', '--build-arg', 'novalue'], '--build-arg takes KEY=VALUE'],
    [['--image', 'r.example/app', '--context', 'missing-dir'], '--context: '],
    [['--image', 'r.example/app', '--sha-length', 'seven'], '--sha-length takes a whole number'],
  ])('%j is a usage error: %s', async (args, message) => {
    const r = await cli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });

  it('asks for a tag when there is no commit anywhere', async () => {
    const r = await cli(['--image', 'r.example/app', '--dry-run']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no tag: pass --tag');
  });

  it('a GCP key that is not one is refused without printing it', async () => {
    const r = await cli(['--image', 'gcr.io/p/app', '--gcp-key-env', 'KEY'], {
      KEY: '{"private_key":"TOPSECRETKEYMATERIAL"}',
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--gcp-key-env KEY is not a service-account key');
    expect(r.stderr).not.toContain('TOPSECRETKEYMATERIAL');
  });
});

describe('build-and-push-image tag source', () => {
  async function repoWithCommit(): Promise<{ dir: string; sha: string }> {
    const dir = await mkdtemp(join(tmpdir(), 'gr-cli-git-'));
    await writeFile(join(dir, 'Dockerfile'), 'FROM scratch\n');
    const git = (...a: string[]) =>
      execFileSync('git', a, {
        cwd: dir,
        env: {
          PATH: process.env.PATH,
          GIT_AUTHOR_NAME: 't',
          GIT_AUTHOR_EMAIL: 't@example.com',
          GIT_COMMITTER_NAME: 't',
          GIT_COMMITTER_EMAIL: 't@example.com',
        },
      })
        .toString()
        .trim();
    git('init', '-q');
    git('add', 'Dockerfile');
    git('commit', '-q', '-m', 'app');
    return { dir, sha: git('rev-parse', 'HEAD') };
  }
  // --no-skip-existing with --dry-run asks no registry: these runs need no network.
  const offline = ['--image', 'r.example/app', '--no-skip-existing', '--dry-run', '--json'];

  it('tags with the short SHA of HEAD in the build context when the CI sets none', async () => {
    const { dir, sha } = await repoWithCommit();
    const r = await cli(offline, {}, dir);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      image: `r.example/app:${sha.slice(0, 7)}`,
      result: 'would-build',
      labels: { 'org.opencontainers.image.revision': sha },
    });
  });

  it('prefers --commit, then GITHUB_SHA / CIRCLE_SHA1 / CI_COMMIT_SHA, over git', async () => {
    const { dir } = await repoWithCommit();
    const a = 'a'.repeat(40);
    const c = 'c'.repeat(40);
    const fromEnv = await cli([...offline, '--sha-length', '9'], { CI_COMMIT_SHA: c }, dir);
    expect(JSON.parse(fromEnv.stdout).image).toBe('r.example/app:ccccccccc');
    const fromFlag = await cli([...offline, '--commit', a], { CIRCLE_SHA1: c }, dir);
    expect(JSON.parse(fromFlag.stdout).image).toBe('r.example/app:aaaaaaa');
  });
});
