// create-release-pr on GitHub as it really is: the simulator refuses what GitHub refuses, with
// GitHub's defaults (auto-merge off, no drafts on a private Free repository, nobody but the token
// a collaborator), and the release either stands with warnings or fails at once saying why.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type GitHubSimulator, startGitHubSimulator } from '../github-sim/index.js';
import { kustomization } from '../support/manifest-repo.js';
import { runCli } from '../support/run-cli.js';

let sim: GitHubSimulator;
let repoCount = 0;
const FILE = 'overlays/staging/kustomization.yaml';

async function manifests(): Promise<string> {
  const name = `acme/refusals-${++repoCount}`;
  await sim.createRepo(name, {
    [FILE]: kustomization(['deploy.yaml'], [{ name: 'gcr.io/p/web', newTag: 'old1234' }]),
  });
  return name;
}

function cli(
  repo: string,
  args: string[],
  token = sim.tokens.write,
  env: Record<string, string> = {},
) {
  return runCli(
    ['create-release-pr', '--repo', repo, '--github-url', sim.url, '--path', FILE, ...args],
    { GITHUB_TOKEN: token, ...env },
  );
}

function grant(name: string, permissions: Record<string, 'read' | 'write' | 'none'>): string {
  const token = `ghs_sim${name}${'0'.repeat(20)}`;
  sim.addToken(token, { login: 'release-app[bot]', permission: 'write', permissions });
  return token;
}

beforeAll(async () => {
  sim = await startGitHubSimulator();
});
afterAll(async () => {
  await sim?.close();
});
beforeEach(() => {
  sim.clearRequests();
});

const writes = () => sim.requests.filter((q) => q.write);

describe('refusals are errors of their kind, raised at once', () => {
  it('a token that can read but not write contents: names contents: write, no retry, no branch', async () => {
    const repo = await manifests();
    const token = grant('ContentsRead', { contents: 'read', pull_requests: 'write' });
    const r = await cli(repo, ['--image', 'gcr.io/p/web:abc1234']);
    expect(r.code).toBe(0); // the default token works: the repository is fine
    const repo2 = await manifests();
    sim.clearRequests();
    const refused = await cli(repo2, ['--image', 'gcr.io/p/web:abc1234'], token);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Resource not accessible by integration');
    expect(refused.stderr).toContain('contents: write');
    expect(refused.stderr).not.toMatch(/retrying|kept moving/);
    expect(writes()).toHaveLength(1);
    expect(await sim.branchHead(repo2, 'release-abc1234')).toBeUndefined();
    expect(refused.stdout + refused.stderr).not.toContain(token);
  });

  it('a ruleset restricting creation of release-* branches: the rule, in GitHub words, once (GraphQL and REST)', async () => {
    const repo = await manifests();
    sim.addRule(repo, { kind: 'ruleset', pattern: 'release-*', creation: true });
    const r = await cli(repo, ['--image', 'gcr.io/p/web:abc1234']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Cannot create ref due to creations being restricted');
    expect(r.stderr).toMatch(
      /a rule of acme\/refusals-\d+ refused creating the branch release-abc1234/,
    );
    expect(r.stderr).not.toMatch(/retrying|kept moving/);
    expect(writes()).toHaveLength(1);

    // REST answers a bare "Reference update failed" (a 422 like a race's): still a rule.
    sim.clearRequests();
    const rest = await cli(repo, ['--image', 'gcr.io/p/web:abc1234', '--api', 'rest']);
    expect(rest.code).toBe(1);
    expect(rest.stderr).toContain('Reference update failed');
    expect(rest.stderr).toContain('Retrying cannot help');
    expect(rest.stderr).not.toMatch(/retrying in/);
    expect(writes().filter((q) => q.path.endsWith('/git/refs'))).toHaveLength(1);
    expect(await sim.branchHead(repo, 'release-abc1234')).toBeUndefined();
  });

  it('a protected base in push mode: branch protection named, nothing written', async () => {
    const repo = await manifests();
    const before = await sim.branchHead(repo, 'main');
    sim.addRule(repo, { kind: 'protection', pattern: 'main', requirePullRequest: true });
    const r = await cli(repo, ['--image', 'gcr.io/p/web:abc1234', '--mode', 'push']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Changes must be made through a pull request');
    expect(r.stderr).toContain('--mode pull-request');
    expect(writes()).toHaveLength(1);
    expect(await sim.branchHead(repo, 'main')).toBe(before);
  });

  it('a commit refused on the branch this run created: the branch is deleted again, and the output says so', async () => {
    const repo = await manifests();
    sim.addRule(repo, { kind: 'ruleset', pattern: 'release-*', requirePullRequest: true });
    const r = await cli(repo, ['--image', 'gcr.io/p/web:abc1234']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Repository rule violations found');
    expect(r.stderr).toContain('The branch release-abc1234 this run created was deleted again');
    expect(await sim.branchHead(repo, 'release-abc1234')).toBeUndefined();
    expect(sim.requests.map((q) => q.fields?.join('+'))).toEqual([
      'repository',
      'createRef+createCommitOnBranch+createPullRequest',
      'deleteRef',
    ]);
  });

  it("a workflow's own GITHUB_TOKEN on another repository: App or fine-grained token advice, not permissions:", async () => {
    const repo = await manifests();
    const token = `ghs_simWorkflow${'1'.repeat(20)}`;
    sim.addToken(token, { login: 'github-actions[bot]', permission: 'write', repos: ['acme/web'] });
    const env = { GITHUB_ACTIONS: 'true', GITHUB_REPOSITORY: 'acme/web' };
    const r = await cli(repo, ['--image', 'gcr.io/p/web:abc1234'], token, env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("workflow's own GITHUB_TOKEN");
    expect(r.stderr).toContain('GitHub App installation token');
    expect(r.stderr).toContain('fine-grained personal access token');
    expect(r.stderr).not.toContain('permissions: contents: write');
  });
});

describe('only our own pull requests', () => {
  it("a fork's pull request from a same-named branch is never adopted", async () => {
    const repo = await manifests();
    const theirs = await sim.forkPullRequest(
      repo,
      'mallory/manifests',
      'release-abc1234',
      {
        'evil.yaml': 'kind: ConfigMap\n',
      },
      { title: 'Not yours', body: 'hands off' },
    );
    sim.setAutoMerge(repo, 'allowed');
    for (const api of ['graphql', 'rest']) {
      const r = await cli(repo, [
        '--image',
        'gcr.io/p/web:abc1234',
        '--auto-merge',
        '--api',
        api,
        '--json',
      ]);
      expect(r.code, r.stderr).toBe(0);
      const result = JSON.parse(r.stdout);
      expect(result.pullRequest.number).not.toBe(theirs);
    }
    const fork = sim.pullRequests(repo).find((p) => p.number === theirs)!;
    expect(fork).toMatchObject({
      title: 'Not yours',
      body: 'hands off',
      autoMerge: null,
      state: 'open',
    });
    const ours = sim.pullRequests(repo).filter((p) => p.number !== theirs);
    expect(ours).toHaveLength(1);
    expect(ours[0]?.autoMerge).toEqual({ mergeMethod: 'squash' });
  });
});

describe('a merged or closed release pull request is never added to', () => {
  for (const deleteBranch of [false, true]) {
    it(`merged between the read and the write${deleteBranch ? ', its branch deleted' : ''}: a new pull request, and the result says so`, async () => {
      const repo = await manifests();
      const args = ['--branch', 'release-train', '--json'];
      const first = JSON.parse(
        (await cli(repo, [...args, '--image', 'gcr.io/p/web:aaaaaaa'])).stdout,
      );
      let merged = false;
      const off = sim.onRequest(async (q) => {
        if (!merged && q.fields.includes('createCommitOnBranch')) {
          merged = true;
          await sim.mergePullRequest(repo, first.pullRequest.number, { deleteBranch });
        }
      });
      const second = await cli(repo, [...args, '--image', 'gcr.io/p/web:bbbbbbb']);
      off();
      expect(second.code, second.stderr).toBe(0);
      const result = JSON.parse(second.stdout);
      // With its branch deleted the commit finds no branch, so GitHub cannot say merged or closed.
      const state = deleteBranch ? 'closed-or-merged' : 'merged';
      expect(result).toMatchObject({
        result: 'created',
        replacedPullRequest: { number: first.pullRequest.number, state },
      });
      expect(result.pullRequest.number).not.toBe(first.pullRequest.number);
      expect(result.message).toContain(
        `#${first.pullRequest.number} was ${deleteBranch ? 'closed or merged' : 'merged'} meanwhile`,
      );
      // main has the first release (merged); the new pull request carries the second.
      expect(await sim.readFile(repo, 'main', FILE)).toContain('newTag: aaaaaaa');
      expect(await sim.readFile(repo, 'release-train', FILE)).toContain('newTag: bbbbbbb');
      const open = sim.pullRequests(repo).filter((p) => p.state === 'open');
      expect(open.map((p) => p.number)).toEqual([result.pullRequest.number]);
    });
  }
});

describe('extras are best effort, loudly', () => {
  it("GitHub's defaults: auto-merge off, no drafts, reviewer and assignee not collaborators — created, with warnings", async () => {
    const repo = await manifests();
    const r = await cli(repo, [
      '--image',
      'gcr.io/p/web:abc1234',
      '--draft',
      '--label',
      'release',
      '--reviewer',
      'alice',
      '--team-reviewer',
      'platform',
      '--assignee',
      'bob',
      '--auto-merge',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.result).toBe('created');
    const byKind = Object.fromEntries(
      (result.warnings as { kind: string; message: string }[]).map((w) => [w.kind, w.message]),
    );
    expect(Object.keys(byKind)).toEqual(['draft', 'reviewers', 'assignees', 'auto-merge']);
    expect(byKind.draft).toContain('Draft pull requests are not supported in this repository.');
    expect(byKind.reviewers).toContain('Reviews may only be requested from collaborators');
    expect(byKind.reviewers).toContain('alice, team platform');
    expect(byKind.reviewers).not.toMatch(/^.*Validation Failed$/);
    expect(byKind.assignees).toContain('did not assign bob');
    expect(byKind['auto-merge']).toContain('Allow auto-merge');
    expect(r.stderr).toContain('warning: review was not requested from alice');
    const [pr] = sim.pullRequests(repo);
    expect(pr).toMatchObject({ draft: false, labels: ['release'], reviewers: [], assignees: [] });
  });

  it('clean status with --auto-merge: merged at once with the chosen method', async () => {
    const repo = await manifests();
    sim.setAutoMerge(repo, 'clean-status');
    const r = await cli(repo, [
      '--image',
      'gcr.io/p/web:abc1234',
      '--auto-merge',
      '--merge-method',
      'rebase',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ result: 'created', merged: true, warnings: [] });
    expect(await sim.readFile(repo, 'main', FILE)).toContain('newTag: abc1234');
    const [main] = await sim.commits(repo, 'main', 1);
    expect(main?.parents).toHaveLength(1); // rebased, not a merge commit

    const squashOnly = await manifests();
    sim.setAutoMerge(squashOnly, 'clean-status');
    sim.setMergeMethods(squashOnly, ['squash']);
    const refused = await cli(squashOnly, [
      '--image',
      'gcr.io/p/web:abc1234',
      '--auto-merge',
      '--merge-method',
      'merge',
      '--json',
    ]);
    expect(refused.code, refused.stderr).toBe(0);
    const result = JSON.parse(refused.stdout);
    expect(result.merged).toBeUndefined();
    expect(result.warnings[0].message).toContain(
      'Merge commits are not allowed on this repository.',
    );
  });

  it('"Could not resolve to a node" right after creation is retried; reviewers are asked once, not on updates', async () => {
    const repo = await manifests();
    sim.addCollaborator(repo, 'alice');
    sim.setUnresolvedAfterCreate(repo, 2);
    const args = ['--label', 'release', '--reviewer', 'alice', '--json'];
    const r = await cli(repo, [...args, '--image', 'gcr.io/p/web:abc1234']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).warnings).toEqual([]);
    expect(sim.pullRequests(repo)[0]).toMatchObject({ labels: ['release'], reviewers: ['alice'] });
    expect(
      sim.requests.filter((q) => q.status === 422 && q.path.endsWith('/labels')).length,
    ).toBeGreaterThan(0);

    sim.clearRequests();
    const again = await cli(repo, [...args, '--image', 'gcr.io/p/web:abc1234']);
    expect(JSON.parse(again.stdout).result).toBe('updated');
    expect(sim.requests.filter((q) => q.path.endsWith('/requested_reviewers'))).toEqual([]);
  });
});

describe("GitHub's refusals of the pull request itself", () => {
  it('auto-merge off and a token without pull-requests: write: one attempt; the commit stands on the branch and the error says so', async () => {
    const repo = await manifests();
    const token = grant('PullsRead', { contents: 'write', pull_requests: 'read' });
    const r = await cli(repo, ['--image', 'gcr.io/p/web:abc1234', '--auto-merge'], token);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('pull-requests: write');
    expect(r.stderr).toMatch(/The commit [0-9a-f]{7} is on branch release-abc1234/);
    expect(r.stderr).not.toMatch(/retrying/);
    expect(writes()).toHaveLength(1);
    expect(await sim.branchHead(repo, 'release-abc1234')).toBeDefined();

    // Once the permission is there, a re-run opens the pull request on that branch.
    const fixed = await cli(repo, ['--image', 'gcr.io/p/web:abc1234', '--json']);
    expect(JSON.parse(fixed.stdout)).toMatchObject({ result: 'created' });
  });

  it('a workflow token where Actions may not open pull requests: the setting to turn on', async () => {
    const repo = await manifests();
    const token = `ghs_simActions${'2'.repeat(20)}`;
    sim.addToken(token, { login: 'github-actions[bot]', permission: 'write', actions: true });
    const r = await cli(repo, ['--image', 'gcr.io/p/web:abc1234'], token);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'GitHub Actions is not permitted to create or approve pull requests',
    );
    expect(r.stderr).toContain('Allow GitHub Actions to create and approve pull requests');
  });

  it('a GraphQL rate limit answered as 200 RATE_LIMITED is waited out', async () => {
    const repo = await manifests();
    sim.rateLimitGraphqlNext(1, 1);
    const r = await cli(repo, ['--image', 'gcr.io/p/web:abc1234', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).result).toBe('created');
    expect(r.stderr).toMatch(/rate limit/);
    expect(sim.requests.filter((q) => q.fault === 'rate-limit')).toHaveLength(1);
  });
});

describe('round trips stay honest', () => {
  it('push mode: a 5xx after the commit landed, then a retry that meets the moved base, reports pushed with the SHA', async () => {
    const repo = await manifests();
    const before = await sim.branchHead(repo, 'main');
    sim.failNext(1, 502, (q) => q.fields.includes('createCommitOnBranch'), {
      afterExecuting: true,
    });
    const r = await cli(repo, ['--image', 'gcr.io/p/web:abc1234', '--mode', 'push', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    const head = await sim.branchHead(repo, 'main');
    expect(result).toMatchObject({ result: 'pushed', commitSha: head });
    const [landed] = await sim.commits(repo, 'main', 1);
    expect(landed?.parents).toEqual([before]); // one commit, not two
  });

  it('a branch createRef made is not visible to createCommitOnBranch in the same document: the commit is sent on its own', async () => {
    const repo = await manifests();
    sim.setRefVisibleInSameDocument(false);
    try {
      const r = await cli(repo, ['--image', 'gcr.io/p/web:abc1234', '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).result).toBe('created');
      expect(sim.requests.map((q) => q.fields?.join('+'))).toEqual([
        'repository',
        'createRef+createCommitOnBranch+createPullRequest',
        'createCommitOnBranch+createPullRequest',
      ]);
    } finally {
      sim.setRefVisibleInSameDocument(true);
    }
  });

  it("content-creating requests keep GitHub's spacing of one second", async () => {
    const repo = await manifests();
    sim.addCollaborator(repo, 'alice');
    const r = await cli(repo, [
      '--image',
      'gcr.io/p/web:abc1234',
      '--label',
      'x',
      '--reviewer',
      'alice',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const at = writes().map((q) => q.at);
    expect(at).toHaveLength(3);
    for (let i = 1; i < at.length; i++) expect(at[i]! - at[i - 1]!).toBeGreaterThanOrEqual(950);
  });
});

describe('versions', () => {
  it('--api auto falls back to REST when the schema lacks createCommitOnBranch (GHES before 3.4); --api graphql says so', async () => {
    const repo = await manifests();
    sim.setCreateCommitOnBranch(false);
    try {
      const r = await cli(repo, ['--image', 'gcr.io/p/web:abc1234', '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).result).toBe('created');
      expect(r.stderr).toContain('no createCommitOnBranch here; using the REST Git Data API');
      expect(writes().map((q) => `${q.method} ${q.path}`)).toContain(
        `POST /repos/${repo}/git/trees`,
      );

      const strict = await manifests();
      const refused = await cli(strict, ['--image', 'gcr.io/p/web:abc1234', '--api', 'graphql']);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('pass --api rest');
    } finally {
      sim.setCreateCommitOnBranch(true);
    }
  });
});
