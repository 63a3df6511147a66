// create-release-pr against plain git: real bare repositories served by `git http-backend` over
// smart HTTP on 127.0.0.1, with a token checked as basic auth.
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GitHttpServer, startGitHttpServer } from '../support/git-http-server.js';
import {
  createManifestRepo,
  deployment,
  kustomization,
  kustomizeBranch,
  type ManifestRepo,
} from '../support/manifest-repo.js';
import { runCli } from '../support/run-cli.js';

const TOKEN = 'git-token-3f9a1c77e2';

describe('create-release-pr over git http-backend', () => {
  let repo: ManifestRepo;
  let server: GitHttpServer;
  let url: string;

  beforeAll(async () => {
    repo = createManifestRepo({
      'overlays/staging/kustomization.yaml': kustomization(
        ['deploy.yaml'],
        [{ name: 'gcr.io/p/web', newTag: 'old1234' }],
      ),
      'overlays/staging/deploy.yaml': deployment('web', ['gcr.io/p/web']),
      'overlays/prod/deploy.yaml': deployment(
        'all',
        Array.from({ length: 10 }, (_, i) => `gcr.io/p/svc${i}:0000000`),
      ),
    });
    server = await startGitHttpServer({ root: repo.root, token: TOKEN });
    url = `${server.url}/${repo.name}.git`;
  });
  afterAll(async () => {
    await server?.close();
  });

  const env = { GIT_TOKEN: TOKEN };
  const base = () => ['create-release-pr', '--repo', url, '--token-env', 'GIT_TOKEN'];

  it('pushes a release branch with one commit that kustomize renders, and a re-run adds nothing', async () => {
    const before = repo.log('main').length;
    const r = await runCli(
      [
        ...base(),
        '--path',
        'overlays/staging/kustomization.yaml',
        '--image',
        'gcr.io/p/web:abc1234',
        '--json',
      ],
      env,
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({ result: 'pushed', branch: 'release-abc1234', base: 'main' });
    expect(repo.branches()).toContain('release-abc1234');
    expect(repo.log('release-abc1234')).toHaveLength(before + 1);
    expect(repo.log('release-abc1234')[0]).toBe(result.commitSha);
    expect(repo.show('release-abc1234', 'overlays/staging/kustomization.yaml')).toContain(
      'newTag: abc1234',
    );
    expect(repo.show('main', 'overlays/staging/kustomization.yaml')).toContain('newTag: old1234');
    const rendered = kustomizeBranch(repo, 'release-abc1234', 'overlays/staging');
    expect(rendered).toContain('image: gcr.io/p/web:abc1234');

    const again = await runCli(
      [
        ...base(),
        '--path',
        'overlays/staging/kustomization.yaml',
        '--image',
        'gcr.io/p/web:abc1234',
        '--json',
      ],
      env,
    );
    expect(again.code, again.stderr).toBe(0);
    // Nothing was pushed, and the result says so instead of "pushed".
    expect(JSON.parse(again.stdout)).toMatchObject({
      result: 'unchanged',
      commitSha: result.commitSha,
    });
    expect(JSON.parse(again.stdout).message).toMatch(
      /^branch release-abc1234 of .* is already up to date \([0-9a-f]{7} carries gcr\.io\/p\/web:abc1234\); nothing pushed/,
    );
    expect(repo.log('release-abc1234')).toHaveLength(before + 1);
  });

  it('reads and pushes a release in 6 HTTP requests: protocol v2 from one advertisement', async () => {
    const from = server.log.length;
    const r = await runCli(
      [...base(), '--path', 'overlays/staging', '--image', 'gcr.io/p/web:a060606', '--json'],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).result).toBe('pushed');
    // From the server's own log: the capability advertisement, ls-refs, the fetch of commits and
    // trees, the fetch of the target blobs, then git push's advertisement and its pack.
    expect(server.log.slice(from).map((e) => `${e.method} ${e.service} ${e.status}`)).toEqual([
      'GET git-upload-pack 200',
      'POST git-upload-pack 200',
      'POST git-upload-pack 200',
      'POST git-upload-pack 200',
      'GET git-receive-pack 200',
      'POST git-receive-pack 200',
    ]);
    expect(repo.show('release-a060606', 'overlays/staging/kustomization.yaml')).toContain(
      'newTag: a060606',
    );
  });

  it('lands all of 10 concurrent pushes of 10 different images into one file', async () => {
    const runs = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        runCli(
          [
            ...base(),
            '--mode',
            'push',
            '--path',
            'overlays/prod',
            '--image',
            `gcr.io/p/svc${i}:${String(i + 1).repeat(7)}`,
            '--json',
          ],
          env,
        ),
      ),
    );
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).result).toBe('pushed');
    }
    const file = repo.show('main', 'overlays/prod/deploy.yaml');
    for (let i = 0; i < 10; i++)
      expect(file).toContain(
        `image: gcr.io/p/svc${i}:${String(i + 1).repeat(7)} # keep this comment`,
      );
    // The racing runs were refused by the lease and retried: some needed more than one attempt.
    expect(Math.max(...runs.map((r) => JSON.parse(r.stdout).attempts))).toBeGreaterThan(1);
  });

  it('writes nothing in a dry run and prints the diff', async () => {
    const pushes = server.pushes();
    const r = await runCli(
      [...base(), '--path', 'overlays/staging', '--image', 'gcr.io/p/web:fff0000', '--dry-run'],
      env,
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('-    newTag: old1234');
    expect(r.stdout).toContain('+    newTag: fff0000');
    expect(server.pushes()).toBe(pushes);
    expect(repo.branches()).not.toContain('release-fff0000');
  });

  it('refuses a bad token clearly without printing it', async () => {
    const bad = 'wrong-token-9d8c7b6a5f';
    const r = await runCli(
      [...base(), '--path', 'overlays/staging', '--image', 'gcr.io/p/web:abc1234'],
      { GIT_TOKEN: bad },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/401|credentials/);
    expect(r.stderr).toContain('--token-env');
    expect(`${r.stdout}${r.stderr}`).not.toContain(bad);
    expect(`${r.stdout}${r.stderr}`).not.toContain(
      Buffer.from(`x-access-token:${bad}`).toString('base64'),
    );
  });
});

describe('create-release-pr on a local path', () => {
  it('commits straight onto the base in push mode', async () => {
    const repo = createManifestRepo({
      'app/deploy.yaml': deployment('web', ['127.0.0.1:5000/web:1111111']),
    });
    const r = await runCli(
      [
        'create-release-pr',
        '--repo',
        repo.bare,
        '--mode',
        'push',
        '--path',
        'app',
        '--image',
        '127.0.0.1:5000/web:2222222',
      ],
      {},
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^pushed: pushed [0-9a-f]{7} onto main/);
    expect(repo.show('main', 'app/deploy.yaml')).toContain(
      'image: 127.0.0.1:5000/web:2222222 # keep this comment',
    );
  });

  it('stops at once, clearly, when a server hook refuses the push to a protected base', async () => {
    const repo = createManifestRepo({
      'app/deploy.yaml': deployment('web', ['127.0.0.1:5000/web:1111111']),
    });
    const hook = join(repo.bare, 'hooks', 'pre-receive');
    writeFileSync(hook, '#!/bin/sh\necho "main is protected: open a pull request" >&2\nexit 1\n');
    chmodSync(hook, 0o755);
    const r = await runCli([
      'create-release-pr',
      '--repo',
      repo.bare,
      '--mode',
      'push',
      '--path',
      'app',
      '--image',
      '127.0.0.1:5000/web:2222222',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('refused the push to main');
    expect(r.stderr).toContain('--mode pull-request');
    expect(r.stderr).not.toContain('retrying');
    expect(repo.show('main', 'app/deploy.yaml')).toContain('web:1111111');
  });

  it('takes the tag from the CI commit when --image has none, and names the branch after it', async () => {
    const repo = createManifestRepo({
      'app/deploy.yaml': deployment('web', ['127.0.0.1:5000/web:1111111']),
    });
    const r = await runCli(
      [
        'create-release-pr',
        '--repo',
        repo.bare,
        '--path',
        'app',
        '--image',
        '127.0.0.1:5000/web',
        '--json',
      ],
      { CIRCLE_SHA1: '9f8e7d6c5b4a39281706f5e4d3c2b1a098765432' },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ result: 'pushed', branch: 'release-9f8e7d6' });
    expect(repo.show('release-9f8e7d6', 'app/deploy.yaml')).toContain('127.0.0.1:5000/web:9f8e7d6');
    const none = await runCli([
      'create-release-pr',
      '--repo',
      repo.bare,
      '--path',
      'app',
      '--image',
      '127.0.0.1:5000/web',
    ]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('GITHUB_SHA, CIRCLE_SHA1, CI_COMMIT_SHA');
  });
});

describe('create-release-pr on plain git with an application repository', () => {
  it('skips an older commit than the deployed one, unless a downgrade is allowed', async () => {
    const app = createManifestRepo({ 'main.go': 'package main\n' }, 'web');
    const older = app.commitAs('main', 'main.go', 'package main // 1\n').slice(0, 7);
    const newer = app.commitAs('main', 'main.go', 'package main // 2\n').slice(0, 7);
    const repo = createManifestRepo({
      'app/deploy.yaml': deployment('web', [`gcr.io/p/web:${newer}`]),
    });
    const args = [
      'create-release-pr',
      '--repo',
      repo.bare,
      '--mode',
      'push',
      '--path',
      'app',
      '--app-repo',
      app.bare,
      '--json',
    ];
    const skipped = await runCli([...args, '--image', `gcr.io/p/web:${older}`]);
    expect(skipped.code, skipped.stderr).toBe(0);
    expect(JSON.parse(skipped.stdout).result).toBe('skipped-older');
    expect(repo.show('main', 'app/deploy.yaml')).toContain(`gcr.io/p/web:${newer}`);
    const rollback = await runCli([
      ...args,
      '--image',
      `gcr.io/p/web:${older}`,
      '--allow-downgrade',
    ]);
    expect(JSON.parse(rollback.stdout).result).toBe('pushed');
    expect(repo.show('main', 'app/deploy.yaml')).toContain(`gcr.io/p/web:${older}`);
    const forward = await runCli([...args, '--image', `gcr.io/p/web:${newer}`]);
    expect(JSON.parse(forward.stdout).result).toBe('pushed');
  });
});
