// promote on plain git (real bare repositories behind `git http-backend`, with a token) and on a
// local checkout: the seed 001 flow, re-runs, a guard, and a staging release racing the push.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GitHttpServer, startGitHttpServer } from '../support/git-http-server.js';
import { createManifestRepo, git, type ManifestRepo } from '../support/manifest-repo.js';
import { runCli } from '../support/run-cli.js';
import {
  PRODUCTION,
  productionValues,
  renderedImages,
  STAGING,
  seedRepository,
  stagingValues,
  valuesImage,
} from './fixtures.js';

const TOKEN = 'git-token-promote-51c0de';

describe('promote over git http-backend', () => {
  let repo: ManifestRepo;
  let server: GitHttpServer;
  let url: string;
  let hook: ((service: string | undefined, method: string) => void | Promise<void>) | undefined;

  beforeAll(async () => {
    repo = createManifestRepo(seedRepository({ web: 'abc1234', api: 'abc1234' }));
    server = await startGitHttpServer({
      root: repo.root,
      token: TOKEN,
      onRequest: (entry) => hook?.(entry.service, entry.method),
    });
    url = `${server.url}/${repo.name}.git`;
  });
  afterAll(async () => {
    await server?.close();
  });

  const cli = (command: string, args: string[]) =>
    runCli([command, '--repo', url, '--token-env', 'GIT_TOKEN', '--json', ...args], {
      GIT_TOKEN: TOKEN,
    });
  const promote = (args: string[] = []) =>
    cli('promote', ['--from', STAGING, '--to', PRODUCTION, ...args]);

  it('pushes a promotion branch that renders production exactly as staging, and a re-run adds nothing', async () => {
    const r = await promote();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain(TOKEN);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({ result: 'pushed', branch: 'promote-production-abc1234' });
    const branch = result.branch as string;
    expect(repo.log(branch)).toHaveLength(repo.log('main').length + 1);
    expect(renderedImages(repo.bare, branch, PRODUCTION)).toEqual(
      renderedImages(repo.bare, 'main', STAGING),
    );
    expect(repo.show(branch, `${PRODUCTION}/values.yaml`)).toBe(
      productionValues('gcr.io/p/api:abc1234'),
    );
    expect(valuesImage(repo.show(branch, `${PRODUCTION}/values.yaml`))).toBe(
      valuesImage(repo.show('main', `${STAGING}/values.yaml`)),
    );

    const pushes = server.pushes();
    const again = await promote();
    expect(again.code, again.stderr).toBe(0);
    // Nothing was pushed, and the result says so (issue 11: "already up to date", not "pushed").
    expect(JSON.parse(again.stdout)).toMatchObject({
      result: 'unchanged',
      commitSha: result.commitSha,
    });
    expect(JSON.parse(again.stdout).message).toContain('is already up to date');
    expect(server.pushes()).toBe(pushes);
  });

  it('refuses --expect of another version and a missing environment, pushing nothing', async () => {
    const pushes = server.pushes();
    const r = await promote(['--expect', 'gcr.io/p/web:0000000']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ result: 'refused', reason: 'expect-mismatch' });
    const missing = await cli('promote', ['--from', 'environments/qa', '--to', PRODUCTION]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('--from: environments/qa: no such file');
    expect(server.pushes()).toBe(pushes);
  });

  it('in push mode, a staging release that lands before the push is never promoted untested', async () => {
    const stagingRelease = (sha: string) => {
      let done = false;
      hook = (service, method) => {
        if (done || service !== 'git-receive-pack' || method !== 'GET') return;
        done = true;
        repo.commitAs('main', `${STAGING}/values.yaml`, stagingValues(sha));
      };
    };
    const before = repo.show('main', `${PRODUCTION}/values.yaml`);
    stagingRelease('def5678');
    const r = await promote(['--mode', 'push', '--expect', 'gcr.io/p/api:abc1234']);
    hook = undefined;
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).reason).toBe('expect-mismatch');
    expect(r.stderr).toContain('staging moved while promoting');
    expect(repo.show('main', `${PRODUCTION}/values.yaml`)).toBe(before);

    // Without --expect the promotion is planned again from the read that saw the release.
    stagingRelease('fed9876');
    const free = await promote(['--mode', 'push', '--image', 'gcr.io/p/api']);
    hook = undefined;
    expect(free.code, free.stderr).toBe(0);
    expect(JSON.parse(free.stdout)).toMatchObject({
      result: 'pushed',
      branch: 'main',
      promoted: [{ name: 'gcr.io/p/api', to: 'gcr.io/p/api:fed9876' }],
    });
    expect(valuesImage(repo.show('main', `${PRODUCTION}/values.yaml`))).toBe(
      'gcr.io/p/api:fed9876',
    );
    expect(valuesImage(repo.show('main', `${STAGING}/values.yaml`))).toBe('gcr.io/p/api:fed9876');
  });
});

describe('promote in a local checkout', () => {
  function checkout(files: Record<string, string>): string {
    const repo = createManifestRepo(files);
    const dir = mkdtempSync(join(tmpdir(), 'promote-local-'));
    git(['clone', '-q', repo.bare, dir], tmpdir());
    return dir;
  }

  it('edits --to in place, as set-image does, and kustomize renders staging’s image', async () => {
    const dir = checkout(seedRepository());
    const dry = await runCli(
      ['promote', '--from', STAGING, '--to', PRODUCTION, '--dry-run'],
      {},
      dir,
    );
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('+    newTag: abc1234 # production');
    expect(git(['status', '--porcelain'], dir)).toBe('');

    const r = await runCli(['promote', '--from', STAGING, '--to', PRODUCTION, '--json'], {}, dir);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ result: 'promoted' });
    const render = (env: string) =>
      execFileSync('kubectl', ['kustomize', join(dir, env)], { encoding: 'utf8' }).match(
        /image: (\S+)/,
      )?.[1];
    expect(render(PRODUCTION)).toBe('gcr.io/p/web:abc1234');
    expect(render(PRODUCTION)).toBe(render(STAGING));
    expect(readFileSync(join(dir, PRODUCTION, 'values.yaml'), 'utf8')).toBe(
      productionValues('gcr.io/p/api:v2'),
    );
    const again = await runCli(
      ['promote', '--from', STAGING, '--to', PRODUCTION, '--json'],
      {},
      dir,
    );
    expect(JSON.parse(again.stdout).result).toBe('unchanged');
    const same = await runCli(['promote', '--from', STAGING, '--to', `${STAGING}/`], {}, dir);
    expect(same.code).toBe(2);
    expect(same.stderr).toContain('--from and --to are the same path');
  });

  it('refuses an image staging deploys twice with different versions, writing nothing', async () => {
    const dir = checkout({
      ...seedRepository(),
      [`${STAGING}/more/values.yaml`]: stagingValues('v9'),
    });
    const r = await runCli(['promote', '--from', STAGING, '--to', PRODUCTION], {}, dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('deploys gcr.io/p/api twice with different versions');
    expect(git(['status', '--porcelain'], dir)).toBe('');
  });
});
