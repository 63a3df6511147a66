// create-release-pr against the GitHub simulator (REST and GraphQL validated against GitHub's
// published descriptions, backed by real bare git repositories), through the CLI in-process.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type GitHubSimulator, startGitHubSimulator } from '../github-sim/index.js';
import { deployment, kustomization } from '../support/manifest-repo.js';
import { runCli } from '../support/run-cli.js';

let sim: GitHubSimulator;
let repoCount = 0;

/** A fresh manifest repository for each test, so tests do not see each other's branches. */
async function manifests(files?: Record<string, string>): Promise<string> {
  const name = `acme/manifests-${++repoCount}`;
  await sim.createRepo(
    name,
    files ?? {
      'overlays/staging/kustomization.yaml': kustomization(
        ['deploy.yaml'],
        [{ name: 'gcr.io/p/web', newTag: 'old1234' }],
      ),
      'overlays/staging/deploy.yaml': deployment('web', ['gcr.io/p/web']),
      'overlays/prod/deploy.yaml': deployment(
        'all',
        Array.from({ length: 10 }, (_, i) => `gcr.io/p/svc${i}:0000000`),
      ),
    },
  );
  return name;
}

function cli(repo: string, args: string[], token = sim.tokens.write, url = sim.url) {
  return runCli(['create-release-pr', '--repo', repo, '--github-url', url, ...args], {
    GITHUB_TOKEN: token,
  });
}

const kustomizationPath = ['--path', 'overlays/staging/kustomization.yaml'];

beforeAll(async () => {
  sim = await startGitHubSimulator();
});
afterAll(async () => {
  await sim?.close();
});
beforeEach(() => {
  sim.clearRequests();
});

describe('create-release-pr on GitHub', () => {
  it('opens a one-file release pull request in 2 round trips; kustomize renders the branch', async () => {
    const repo = await manifests();
    sim.clearRequests();
    const r = await cli(repo, [...kustomizationPath, '--image', 'gcr.io/p/web:abc1234', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({
      result: 'created',
      branch: 'release-abc1234',
      base: 'main',
      pullRequest: { number: 1 },
      changedFiles: ['overlays/staging/kustomization.yaml'],
    });
    // Round trips: one read; one mutation that creates the branch, commits and opens the PR.
    expect(sim.requests.map((q) => q.fields?.join('+'))).toEqual([
      'repository',
      'createRef+createCommitOnBranch+createPullRequest',
    ]);
    expect(sim.requests.every((q) => !q.invalid && !q.simulatorBug)).toBe(true);
    const [pr] = sim.pullRequests(repo);
    expect(pr).toMatchObject({
      title: 'Release web abc1234',
      head: 'release-abc1234',
      base: 'main',
    });
    expect(pr?.body).toContain(
      '| `overlays/staging/kustomization.yaml` | 7 | `gcr.io/p/web:old1234` | `gcr.io/p/web:abc1234` |',
    );
    expect(pr?.headSha).toBe(result.commitSha);

    const checkout = mkdtempSync(join(tmpdir(), 'release-render-'));
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
    expect(rendered).toContain('image: gcr.io/p/web:abc1234');
    const log = execFileSync('git', ['-C', checkout, 'log', '--format=%s', 'origin/main..HEAD'], {
      encoding: 'utf8',
    });
    expect(log.trim().split('\n')).toEqual(['Release web abc1234']);
  });

  it('updates the same pull request on a re-run, and writes nothing when the base deploys it', async () => {
    const repo = await manifests();
    const args = [...kustomizationPath, '--image', 'gcr.io/p/web:abc1234', '--json'];
    const first = JSON.parse((await cli(repo, args)).stdout);
    const again = await cli(repo, args);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({
      result: 'updated',
      pullRequest: { number: first.pullRequest.number },
      commitSha: first.commitSha,
    });
    expect(sim.pullRequests(repo)).toHaveLength(1);

    const deployed = await manifests({
      'k.yaml': kustomization(['d.yaml'], [{ name: 'gcr.io/p/web', newTag: 'abc1234' }]),
    });
    sim.clearRequests();
    const same = await cli(deployed, [
      '--path',
      'k.yaml',
      '--image',
      'gcr.io/p/web:abc1234',
      '--json',
    ]);
    expect(JSON.parse(same.stdout).result).toBe('unchanged');
    expect(sim.requests.filter((q) => q.write)).toEqual([]);
  });

  it('skips an older commit after a newer one, and lists escaped app commits for a newer one', async () => {
    await sim.createRepo('acme/web', { 'README.md': 'web\n' });
    const older = (await sim.commit('acme/web', 'main', { 'a.txt': '1' }, 'First change')).slice(
      0,
      7,
    );
    const newer = (
      await sim.commit(
        'acme/web',
        'main',
        { 'a.txt': '2' },
        'Second change for @octocat <b>x</b> #1',
      )
    ).slice(0, 7);
    const repo = await manifests({
      'k.yaml': kustomization(['d.yaml'], [{ name: 'gcr.io/p/web', newTag: older }]),
    });
    const up = await cli(repo, [
      '--path',
      'k.yaml',
      '--image',
      `gcr.io/p/web:${newer}`,
      '--app-repo',
      'acme/web',
      '--mode',
      'push',
      '--json',
    ]);
    expect(up.code, up.stderr).toBe(0);
    expect(JSON.parse(up.stdout).result).toBe('pushed');

    sim.clearRequests();
    const down = await cli(repo, [
      '--path',
      'k.yaml',
      '--image',
      `gcr.io/p/web:${older}`,
      '--app-repo',
      'acme/web',
      '--json',
    ]);
    expect(down.code, down.stderr).toBe(0);
    const skipped = JSON.parse(down.stdout);
    expect(skipped.result).toBe('skipped-older');
    expect(skipped.message).toContain('--allow-downgrade');
    expect(sim.requests.filter((q) => q.write)).toEqual([]);

    const rollback = await cli(repo, [
      '--path',
      'k.yaml',
      '--image',
      `gcr.io/p/web:${older}`,
      '--app-repo',
      'acme/web',
      '--allow-downgrade',
      '--json',
    ]);
    expect(JSON.parse(rollback.stdout).result).toBe('created');

    // A newer release from the deployed tag lists the app commits between, escaped.
    const third = (
      await sim.commit('acme/web', 'main', { 'a.txt': '3' }, 'Ping @admin <script>')
    ).slice(0, 7);
    const forward = await cli(repo, [
      '--path',
      'k.yaml',
      '--image',
      `gcr.io/p/web:${third}`,
      '--app-repo',
      'acme/web',
      '--json',
    ]);
    expect(JSON.parse(forward.stdout).result).toBe('created');
    const pr = sim.pullRequests(repo).find((p) => p.head === `release-${third}`);
    expect(pr?.body).toContain('Ping @\u200badmin &lt;script&gt;');
    expect(pr?.body).not.toContain('@admin');
    expect(pr?.body).toMatch(
      new RegExp(`Compare: \\S+/acme/web/compare/${newer}\\.\\.\\.${third}`),
    );
  });

  it('retries when the base moves between the read and the write, keeping both changes', async () => {
    const repo = await manifests();
    let moved = false;
    const off = sim.onRequest(async (q) => {
      if (!moved && q.fields.includes('createCommitOnBranch')) {
        moved = true;
        await sim.commit(
          repo,
          'main',
          { 'overlays/staging/other.yaml': 'kind: ConfigMap\n' },
          'Another pipeline',
        );
      }
    });
    const r = await cli(repo, [
      ...kustomizationPath,
      '--image',
      'gcr.io/p/web:abc1234',
      '--mode',
      'push',
      '--json',
    ]);
    off();
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ result: 'pushed', attempts: 2 });
    expect(r.stderr).toMatch(/moved[\s\S]*re-reading and retrying/);
    expect(await sim.readFile(repo, 'main', 'overlays/staging/kustomization.yaml')).toContain(
      'newTag: abc1234',
    );
    expect(await sim.readFile(repo, 'main', 'overlays/staging/other.yaml')).toBe(
      'kind: ConfigMap\n',
    );
  });

  it('retries when the release branch moves under an open pull request, losing nothing', async () => {
    const repo = await manifests();
    const first = await cli(repo, [
      ...kustomizationPath,
      '--image',
      'gcr.io/p/web:abc1234',
      '--json',
    ]);
    expect(JSON.parse(first.stdout).result).toBe('created');
    let moved = false;
    const off = sim.onRequest(async (q) => {
      if (!moved && q.fields.includes('createCommitOnBranch')) {
        moved = true;
        await sim.commit(
          repo,
          'release-abc1234',
          { 'overlays/staging/note.yaml': 'kind: ConfigMap\n' },
          'A reviewer pushes',
        );
      }
    });
    const second = await cli(repo, [
      '--path',
      'overlays/prod',
      '--branch',
      'release-abc1234',
      '--image',
      'gcr.io/p/svc3:abc1234',
      '--json',
    ]);
    off();
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ result: 'updated', attempts: 2 });
    expect(await sim.readFile(repo, 'release-abc1234', 'overlays/staging/note.yaml')).toBe(
      'kind: ConfigMap\n',
    );
    expect(
      await sim.readFile(repo, 'release-abc1234', 'overlays/staging/kustomization.yaml'),
    ).toContain('newTag: abc1234');
    expect(await sim.readFile(repo, 'release-abc1234', 'overlays/prod/deploy.yaml')).toContain(
      'gcr.io/p/svc3:abc1234',
    );
    expect(sim.pullRequests(repo)).toHaveLength(1);
  });

  it('lands all of 10 concurrent pushes of 10 different images into one file', async () => {
    const repo = await manifests();
    const runs = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        cli(repo, [
          '--path',
          'overlays/prod',
          '--mode',
          'push',
          '--image',
          `gcr.io/p/svc${i}:${String(i + 1).repeat(7)}`,
          '--json',
        ]),
      ),
    );
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const file = await sim.readFile(repo, 'main', 'overlays/prod/deploy.yaml');
    for (let i = 0; i < 10; i++) {
      expect(file).toContain(
        `image: gcr.io/p/svc${i}:${String(i + 1).repeat(7)} # keep this comment`,
      );
    }
    const shown = execFileSync(
      'git',
      ['--git-dir', sim.repoPath(repo), 'show', 'main:overlays/prod/deploy.yaml'],
      {
        encoding: 'utf8',
      },
    );
    expect(shown).toBe(file);
  });

  it('lands 4 concurrent releases sharing one release branch in one pull request', async () => {
    const repo = await manifests();
    const runs = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        cli(repo, [
          '--path',
          'overlays/prod',
          '--branch',
          'release-train',
          '--image',
          `gcr.io/p/svc${i}:${String(i + 1).repeat(7)}`,
          '--json',
        ]),
      ),
    );
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const file = await sim.readFile(repo, 'release-train', 'overlays/prod/deploy.yaml');
    for (let i = 0; i < 4; i++)
      expect(file).toContain(`gcr.io/p/svc${i}:${String(i + 1).repeat(7)}`);
    const open = sim.pullRequests(repo).filter((p) => p.state === 'open');
    expect(open).toHaveLength(1);
    for (const r of runs) expect(JSON.parse(r.stdout).pullRequest.number).toBe(open[0]?.number);
    for (let i = 0; i < 4; i++) {
      expect(open[0]?.body).toContain(`gcr.io/p/svc${i}:${String(i + 1).repeat(7)}`);
    }
  });

  it('waits out 502s and a secondary rate limit as GitHub says, then succeeds', async () => {
    const repo = await manifests();
    sim.failNext(1, 502);
    sim.rateLimitNext(1, 1, (q) => q.write);
    const r = await cli(repo, [...kustomizationPath, '--image', 'gcr.io/p/web:abc1234', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).result).toBe('created');
    expect(r.stderr).toMatch(/secondary rate limit .* waiting 1 s/);
    expect(sim.requests.filter((q) => q.fault === 'fail')).toHaveLength(1);
    expect(sim.requests.filter((q) => q.fault === 'rate-limit')).toHaveLength(1);
    expect(sim.pullRequests(repo)).toHaveLength(1);
  });

  it('explains a bad token, a read-only token and a repository it cannot see, never printing the token', async () => {
    const repo = await manifests();
    const args = [...kustomizationPath, '--image', 'gcr.io/p/web:abc1234'];
    const bad = 'ghp_wrongwrongwrong0123456789';
    const r401 = await cli(repo, args, bad);
    expect(r401.code).toBe(1);
    expect(r401.stderr).toContain('HTTP 401');
    expect(r401.stderr).toContain('GITHUB_TOKEN');
    expect(r401.stdout + r401.stderr).not.toContain(bad);

    const r403 = await cli(repo, args, sim.tokens.readOnly);
    expect(r403.code).toBe(1);
    expect(r403.stderr).toContain('contents: write');
    expect(r403.stdout + r403.stderr).not.toContain(sim.tokens.readOnly);

    const r404 = await cli(repo, args, sim.tokens.noAccess);
    expect(r404.code).toBe(1);
    expect(r404.stderr).toMatch(/404.*token cannot see it/s);
    expect(r404.stdout + r404.stderr).not.toContain(sim.tokens.noAccess);
  });

  it('sends no request that writes in a dry run, and prints the diff and the pull request', async () => {
    const repo = await manifests();
    sim.clearRequests();
    const r = await cli(repo, [
      ...kustomizationPath,
      '--image',
      'gcr.io/p/web:abc1234',
      '--dry-run',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('-    newTag: old1234');
    expect(r.stdout).toContain('+    newTag: abc1234');
    expect(r.stdout).toContain('Pull request release-abc1234 → main: Release web abc1234');
    expect(sim.requests.length).toBeGreaterThan(0);
    expect(sim.requests.filter((q) => q.write)).toEqual([]);
    expect(sim.pullRequests(repo)).toEqual([]);
  });

  it('falls back to the REST Git Data API with one inline tree where GraphQL is not served', async () => {
    const repo = await manifests();
    sim.setGraphqlEnabled(false);
    sim.clearRequests();
    try {
      const r = await cli(repo, [
        ...kustomizationPath,
        '--image',
        'gcr.io/p/web:abc1234',
        '--label',
        'release',
        '--json',
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).result).toBe('created');
      expect(r.stderr).toContain('REST Git Data API');
    } finally {
      sim.setGraphqlEnabled(true);
    }
    const writes = sim.requests.filter((q) => q.write).map((q) => `${q.method} ${q.path}`);
    expect(writes).toContain(`POST /repos/${repo}/git/trees`);
    expect(writes.filter((w) => w.endsWith('/git/blobs'))).toEqual([]);
    expect(
      await sim.readFile(repo, 'release-abc1234', 'overlays/staging/kustomization.yaml'),
    ).toContain('newTag: abc1234');
    expect(sim.pullRequests(repo)[0]?.labels).toEqual(['release']);
  });

  it('sets labels, reviewers, assignees, draft and auto-merge, and closes the superseded release', async () => {
    const repo = await manifests();
    // What GitHub offers only when set up so: drafts (a paid plan), collaborators, auto-merge on.
    sim.setDrafts(repo, true);
    sim.addCollaborator(repo, 'alice');
    sim.addCollaborator(repo, 'bob');
    sim.setAutoMerge(repo, 'allowed');
    const common = [
      ...kustomizationPath,
      '--label',
      'release',
      '--reviewer',
      'alice',
      '--assignee',
      'bob',
      '--auto-merge',
      '--merge-method',
      'squash',
      '--close-superseded',
      '--json',
    ];
    const first = JSON.parse(
      (await cli(repo, [...common, '--image', 'gcr.io/p/web:aaaaaaa'])).stdout,
    );
    const second = await cli(repo, [...common, '--draft', '--image', 'gcr.io/p/web:bbbbbbb']);
    expect(second.code, second.stderr).toBe(0);
    const result = JSON.parse(second.stdout);
    expect(result.closedPullRequests).toEqual([first.pullRequest.number]);
    const prs = sim.pullRequests(repo);
    const old = prs.find((p) => p.number === first.pullRequest.number)!;
    const now = prs.find((p) => p.number === result.pullRequest.number)!;
    expect(old.state).toBe('closed');
    expect(old.comments.at(-1)?.body).toContain(`Superseded by #${now.number} (${now.url})`);
    expect(now).toMatchObject({
      state: 'open',
      draft: true,
      labels: ['release'],
      reviewers: ['alice'],
      assignees: ['bob'],
      autoMerge: { mergeMethod: 'squash' },
    });
  });

  it('works against a GitHub Enterprise Server base URL with an explicit base branch', async () => {
    const repo = await manifests();
    sim.clearRequests();
    const r = await cli(
      repo,
      [...kustomizationPath, '--base', 'main', '--image', 'gcr.io/p/web:abc1234', '--json'],
      sim.tokens.write,
      sim.enterpriseUrl,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).result).toBe('created');
    expect(sim.requests).toHaveLength(2);
  });
});
