// create-release-pr --host gitlab against the GitLab simulator (real bare repositories behind
// GitLab's REST and GraphQL paths), through the CLI in-process.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createReleasePr, parseImageReference } from '../../packages/core/src/index.js';
import { createGitLabHost } from '../../packages/gitlab/src/index.js';
import { type GitLabSimulator, startGitLabSimulator } from '../gitlab-sim/index.js';
import { deployment, kustomization } from '../support/manifest-repo.js';
import { runCli } from '../support/run-cli.js';

let sim: GitLabSimulator;
let count = 0;

async function manifests(files?: Record<string, string>): Promise<string> {
  const path = `acme/platform/manifests-${++count}`;
  await sim.createProject(
    path,
    files ?? {
      'overlays/staging/kustomization.yaml': kustomization(
        ['deploy.yaml'],
        [{ name: 'registry.gitlab.test/acme/web', newTag: 'old1234' }],
      ),
      'overlays/staging/deploy.yaml': deployment('web', ['registry.gitlab.test/acme/web']),
      'overlays/prod/deploy.yaml': deployment(
        'all',
        Array.from({ length: 20 }, (_, i) => `registry.gitlab.test/acme/svc${i}:0000000`),
      ),
    },
  );
  return path;
}

function cli(repo: string, args: string[], env: Record<string, string> = {}) {
  return runCli(
    ['create-release-pr', '--host', 'gitlab', '--repo', repo, '--gitlab-url', sim.url, ...args],
    {
      GITLAB_TOKEN: sim.tokens.write,
      ...env,
    },
  );
}

const staging = ['--path', 'overlays/staging/kustomization.yaml'];

beforeAll(async () => {
  sim = await startGitLabSimulator();
});
afterAll(async () => {
  await sim?.close();
});
beforeEach(() => sim.clearRequests());

describe('create-release-pr on GitLab', () => {
  it('opens a one-file release merge request in 3 round trips; kustomize renders the branch', async () => {
    const repo = await manifests();
    sim.clearRequests();
    const r = await cli(repo, [
      ...staging,
      '--image',
      'registry.gitlab.test/acme/web:abc1234',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({
      result: 'created',
      branch: 'release-abc1234',
      base: 'main',
      pullRequest: { number: 1, url: `${sim.url}/${repo}/-/merge_requests/1` },
    });
    // Round 1: GraphQL read ∥ the release branch over REST; 2: the commit; 3: the merge request.
    const rounds = sim.requests.map(
      (q) => `${q.method} ${q.path.replace(/\/projects\/[^/]+/, '/projects/:id')}`,
    );
    expect(rounds).toEqual([
      expect.stringMatching(
        /^(POST \/api\/graphql|GET \/api\/v4\/projects\/:id\/repository\/branches\/release-abc1234)$/,
      ),
      expect.stringMatching(
        /^(POST \/api\/graphql|GET \/api\/v4\/projects\/:id\/repository\/branches\/release-abc1234)$/,
      ),
      'POST /api/v4/projects/:id/repository/commits',
      'POST /api/v4/projects/:id/merge_requests',
    ]);
    expect(sim.requests.some((q) => q.unsupported)).toBe(false);
    const [mr] = sim.mergeRequests(repo);
    expect(mr).toMatchObject({
      title: 'Release web abc1234',
      source: 'release-abc1234',
      target: 'main',
      state: 'opened',
    });
    expect(mr?.description).toContain(
      '| `overlays/staging/kustomization.yaml` | 7 | `registry.gitlab.test/acme/web:old1234` | `registry.gitlab.test/acme/web:abc1234` |',
    );
    const checkout = mkdtempSync(join(tmpdir(), 'gitlab-render-'));
    execFileSync('git', [
      'clone',
      '-q',
      '--branch',
      'release-abc1234',
      sim.repoPath(repo),
      checkout,
    ]);
    const rendered = execFileSync('kubectl', ['kustomize', join(checkout, 'overlays/staging')], {
      encoding: 'utf8',
    });
    expect(rendered).toContain('image: registry.gitlab.test/acme/web:abc1234');
  });

  it('updates the same merge request on a re-run, and writes nothing when the base deploys it', async () => {
    const repo = await manifests();
    const args = [...staging, '--image', 'registry.gitlab.test/acme/web:abc1234', '--json'];
    const first = JSON.parse((await cli(repo, args)).stdout);
    const again = await cli(repo, args);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({
      result: 'updated',
      pullRequest: { number: first.pullRequest.number },
      commitSha: first.commitSha,
    });
    expect(sim.mergeRequests(repo)).toHaveLength(1);
    sim.clearRequests();
    const same = await cli(repo, [
      ...staging,
      '--image',
      'registry.gitlab.test/acme/web:old1234',
      '--json',
    ]);
    expect(JSON.parse(same.stdout).result).toBe('unchanged');
    expect(sim.requests.filter((q) => q.write)).toEqual([]);
  });

  it('reads a directory, labels, assigns, asks for review, marks a draft and removes the source branch', async () => {
    const repo = await manifests();
    const r = await cli(repo, [
      '--path',
      'overlays/prod',
      '--image',
      'registry.gitlab.test/acme/svc3:abc1234',
      '--label',
      'release,gitops',
      '--reviewer',
      'alice',
      '--assignee',
      'bob',
      '--draft',
      '--remove-source-branch',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const [mr] = sim.mergeRequests(repo);
    expect(mr).toMatchObject({
      title: 'Draft: Release svc3 abc1234',
      draft: true,
      labels: ['release', 'gitops'],
      reviewers: ['alice'],
      assignees: ['bob'],
      removeSourceBranch: true,
    });
    expect(await sim.readFile(repo, 'release-abc1234', 'overlays/prod/deploy.yaml')).toContain(
      'registry.gitlab.test/acme/svc3:abc1234 # keep this comment',
    );
  });

  it('enables auto-merge guarded by the head sha when a pipeline runs; says why not when none does', async () => {
    const repo = await manifests();
    sim.setPipeline(repo, 'running');
    sim.unprotectBranch(repo, 'main');
    const r = await cli(repo, [
      ...staging,
      '--image',
      'registry.gitlab.test/acme/web:abc1234',
      '--auto-merge',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const [mr] = sim.mergeRequests(repo);
    expect(mr?.autoMerge?.sha).toBe(JSON.parse(r.stdout).commitSha);

    const none = await manifests();
    sim.unprotectBranch(none, 'main');
    sim.clearRequests();
    // Straight through the host, with short waits for the pipeline that never comes.
    const lines: string[] = [];
    const host = createGitLabHost({
      project: none,
      token: sim.tokens.write,
      url: sim.url,
      autoMergeWaitsMs: [10, 10],
      log: (l) => lines.push(l),
    });
    const n = await createReleasePr(
      {
        images: [parseImageReference('registry.gitlab.test/acme/web:abc1234')],
        paths: ['overlays/staging/kustomization.yaml'],
        autoMerge: 'squash',
      },
      host,
    );
    expect(n.result).toBe('created');
    expect(n.warnings.map((w) => w.message).join('\n')).toMatch(
      /auto-merge not enabled on !1: GitLab answered 405/,
    );
    expect(lines).toEqual([]);
    const merges = sim.requests.filter((q) => q.path.endsWith('/merge'));
    expect(merges.map((q) => q.status)).toEqual([405, 405, 405]);
    expect(sim.mergeRequests(none)[0]?.state).toBe('opened');
  }, 60_000);

  it('lands all of 20 concurrent pushes of 20 different images into one file', async () => {
    const repo = await manifests();
    const runs = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        runCli(
          [
            'create-release-pr',
            '--host',
            'gitlab',
            '--repo',
            repo,
            '--gitlab-url',
            sim.url,
            '--path',
            'overlays/prod/deploy.yaml',
            '--mode',
            'push',
            '--base',
            'main',
            '--image',
            `registry.gitlab.test/acme/svc${i}:${(i + 1).toString(16).padStart(7, 'a')}`,
            '--json',
          ],
          { GITLAB_TOKEN: sim.tokens.maintainer },
        ),
      ),
    );
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const file = await sim.readFile(repo, 'main', 'overlays/prod/deploy.yaml');
    for (let i = 0; i < 20; i++) {
      expect(file).toContain(
        `registry.gitlab.test/acme/svc${i}:${(i + 1).toString(16).padStart(7, 'a')} # keep this comment`,
      );
    }
    // The races were GitLab's own refusals, retried: last_commit_id or Gitaly's ref update.
    expect(
      runs.some((r) => /has changed since you started editing it|Could not update/.test(r.stderr)),
    ).toBe(true);
  }, 120_000);

  it('names the scope, the role and the job token in refusals, never printing the token', async () => {
    const repo = await manifests();
    const args = [...staging, '--image', 'registry.gitlab.test/acme/web:abc1234'];
    const readOnly = await cli(repo, args, { GITLAB_TOKEN: sim.tokens.readOnly });
    expect(readOnly.code).toBe(1);
    expect(readOnly.stderr).toMatch(/HTTP 403: insufficient_scope.*"api" scope/s);
    expect(readOnly.stderr + readOnly.stdout).not.toContain(sim.tokens.readOnly);
    const reporter = await cli(repo, args, { GITLAB_TOKEN: sim.tokens.reporter });
    expect(reporter.code).toBe(1);
    expect(reporter.stderr).toMatch(
      /You are not allowed to push into this branch.*Developer role/s,
    );
    const push = await cli(repo, [...args, '--mode', 'push']);
    expect(push.stderr).toMatch(/The branch is protected/);
    const job = await cli(repo, [...args, '--token-env', 'CI_JOB_TOKEN'], {
      CI_JOB_TOKEN: sim.tokens.job,
    });
    expect(job.code).toBe(1);
    expect(job.stderr).toContain(
      'CI_JOB_TOKEN cannot create commits or merge requests through the API',
    );
    const bad = await cli(repo, args, { GITLAB_TOKEN: 'glpat-nothing-like-it-00000' });
    expect(bad.stderr).toMatch(/HTTP 401.*GITLAB_TOKEN/s);
    expect(bad.stderr).not.toContain('glpat-nothing-like-it-00000');
    expect(sim.mergeRequests(repo)).toHaveLength(0);
  });

  it('skips an older commit after a newer one through the compare API, and closes a superseded merge request', async () => {
    await sim.createProject('acme/web', { 'README.md': 'web\n' });
    const older = (await sim.commit('acme/web', 'main', { 'a.txt': '1' }, 'First change')).slice(
      0,
      7,
    );
    const newer = (await sim.commit('acme/web', 'main', { 'a.txt': '2' }, 'Second change')).slice(
      0,
      7,
    );
    const repo = await manifests({
      'k.yaml': kustomization(
        ['d.yaml'],
        [{ name: 'registry.gitlab.test/acme/web', newTag: older }],
      ),
    });
    const first = await cli(repo, [
      '--path',
      'k.yaml',
      '--image',
      `registry.gitlab.test/acme/web:${newer}`,
      '--app-repo',
      'acme/web',
      '--json',
    ]);
    expect(first.code, first.stderr).toBe(0);
    expect(sim.mergeRequests(repo)[0]?.description).toContain('Second change');
    await sim.merge(repo, 1);
    const down = await cli(repo, [
      '--path',
      'k.yaml',
      '--image',
      `registry.gitlab.test/acme/web:${older}`,
      '--app-repo',
      'acme/web',
      '--json',
    ]);
    expect(JSON.parse(down.stdout).result).toBe('skipped-older');

    const third = (await sim.commit('acme/web', 'main', { 'a.txt': '3' }, 'Third')).slice(0, 7);
    const fourth = (await sim.commit('acme/web', 'main', { 'a.txt': '4' }, 'Fourth')).slice(0, 7);
    await cli(repo, [
      '--path',
      'k.yaml',
      '--image',
      `registry.gitlab.test/acme/web:${third}`,
      '--json',
    ]);
    const last = await cli(repo, [
      '--path',
      'k.yaml',
      '--image',
      `registry.gitlab.test/acme/web:${fourth}`,
      '--close-superseded',
      '--json',
    ]);
    expect(last.code, last.stderr).toBe(0);
    expect(JSON.parse(last.stdout).closedPullRequests).toEqual([2]);
    const closed = sim.mergeRequests(repo).find((m) => m.iid === 2);
    expect(closed?.state).toBe('closed');
    expect(closed?.notes[0]).toContain(`Superseded by #3 (${sim.url}/${repo}/-/merge_requests/3)`);
  });
});

describe('promote on GitLab', () => {
  it('promotes the version staging runs into production with one merge request', async () => {
    const repo = await manifests({
      'overlays/staging/kustomization.yaml': kustomization(
        ['d.yaml'],
        [{ name: 'registry.gitlab.test/acme/web', newTag: 'abc1234' }],
      ),
      'overlays/prod/kustomization.yaml': kustomization(
        ['d.yaml'],
        [{ name: 'registry.gitlab.test/acme/web', newTag: 'fedcba9' }],
      ),
    });
    const r = await runCli(
      [
        'promote',
        '--host',
        'gitlab',
        '--repo',
        repo,
        '--gitlab-url',
        sim.url,
        '--from',
        'overlays/staging',
        '--to',
        'overlays/prod',
        '--json',
      ],
      { GITLAB_TOKEN: sim.tokens.write },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).result).toBe('created');
    const [mr] = sim.mergeRequests(repo);
    expect(mr).toMatchObject({ target: 'main', state: 'opened' });
    expect(await sim.readFile(repo, mr!.source, 'overlays/prod/kustomization.yaml')).toContain(
      'newTag: abc1234',
    );
    expect(await sim.readFile(repo, 'main', 'overlays/prod/kustomization.yaml')).toContain(
      'newTag: fedcba9',
    );
  });
});
