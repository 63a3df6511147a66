// GitHub's refusals through the committed Action bundle, run as the runner runs it: a refusal of
// an extra is a warning annotation and a line in the job summary, the release stands; a refusal
// of the release itself is one ::error:: with GitHub's words and what to change.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAction } from '../action/run-action.js';
import { type GitHubSimulator, startGitHubSimulator } from '../github-sim/index.js';
import { kustomization } from '../support/manifest-repo.js';

const SHA = 'abc1234def567890abc1234def567890abc12345';
let sim: GitHubSimulator;
let repoCount = 0;

async function manifests(): Promise<string> {
  const name = `acme/action-refusals-${++repoCount}`;
  await sim.createRepo(name, {
    'overlays/staging/kustomization.yaml': kustomization(
      ['deploy.yaml'],
      [{ name: 'gcr.io/p/web', newTag: 'old1234' }],
    ),
  });
  return name;
}

function release(inputs: Record<string, string>, token = sim.tokens.write) {
  return runAction(
    {
      command: 'create_release_pr',
      'github-token': token,
      paths: 'overlays/staging',
      image: 'gcr.io/p/web',
      ...inputs,
    },
    {
      env: {
        GITHUB_SHA: SHA,
        GITHUB_API_URL: sim.url,
        GITHUB_GRAPHQL_URL: sim.graphqlUrl,
        GITHUB_SERVER_URL: sim.url,
        GITHUB_REPOSITORY: 'acme/web',
      },
    },
  );
}

const warnings = (stdout: string) => stdout.split('\n').filter((l) => l.startsWith('::warning'));

beforeAll(async () => {
  sim = await startGitHubSimulator();
});
afterAll(async () => {
  await sim?.close();
});

describe('create_release_pr meets GitHub as it really is', () => {
  it("GitHub's defaults refuse draft, reviewer, assignee and auto-merge: created, with warning annotations and a summary section", async () => {
    const repo = await manifests();
    const r = await release({
      repo,
      draft: 'true',
      reviewers: 'alice',
      assignees: 'bob',
      labels: 'release',
      'auto-merge': 'true',
    });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.outputs.result).toBe('created');
    const lines = warnings(r.stdout);
    expect(lines).toHaveLength(4);
    expect(lines.join('\n')).toContain('Draft pull requests are not supported in this repository.');
    expect(lines.join('\n')).toContain('Reviews may only be requested from collaborators');
    expect(lines.join('\n')).toContain('did not assign bob');
    expect(lines.join('\n')).toContain('Allow auto-merge');
    expect(r.summary).toContain('#### Warnings');
    expect(r.summary).toContain('Reviews may only be requested from collaborators');
    expect(r.errors).toEqual([]);
    expect(sim.pullRequests(repo)[0]).toMatchObject({ labels: ['release'], draft: false });
  });

  it('a ruleset restricting release-* branches: one ::error:: naming the rule, no branch', async () => {
    const repo = await manifests();
    sim.addRule(repo, { kind: 'ruleset', pattern: 'release-*', creation: true });
    const r = await release({ repo });
    expect(r.code).toBe(1);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toContain('Cannot create ref due to creations being restricted');
    expect(r.errors[0]).toContain('Retrying cannot help');
    expect(r.everything).not.toMatch(/kept moving|serialize the release jobs/);
    expect(await sim.branchHead(repo, 'release-abc1234')).toBeUndefined();
  });

  it("the workflow's own token on another repository: the App / fine-grained token advice", async () => {
    const repo = await manifests();
    const token = `ghs_simActionWorkflow${'3'.repeat(20)}`;
    sim.addToken(token, { login: 'github-actions[bot]', permission: 'write', repos: ['acme/web'] });
    const r = await release({ repo }, token);
    expect(r.code).toBe(1);
    expect(r.errors.join('\n')).toContain("workflow's own GITHUB_TOKEN");
    expect(r.errors.join('\n')).toContain('GitHub App installation token');
    expect(r.everything).not.toContain(token);
  });

  it('clean status with auto-merge: merged at once, and the summary says so', async () => {
    const repo = await manifests();
    sim.setAutoMerge(repo, 'clean-status');
    const r = await release({ repo, 'auto-merge': 'true', 'merge-method': 'squash' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(warnings(r.stdout)).toEqual([]);
    expect(r.summary).toContain('Merged at once');
    expect(await sim.readFile(repo, 'main', 'overlays/staging/kustomization.yaml')).toContain(
      'newTag: abc1234',
    );
  });

  it('a merged release pull request is not added to: a new one, said in the summary', async () => {
    const repo = await manifests();
    const first = await release({ repo, branch: 'release-train' });
    expect(first.code, first.stdout + first.stderr).toBe(0);
    const number = Number(first.outputs['pull-request-number']);
    let merged = false;
    const off = sim.onRequest(async (q) => {
      if (!merged && q.fields.includes('createCommitOnBranch')) {
        merged = true;
        await sim.mergePullRequest(repo, number);
      }
    });
    const second = await release({ repo, branch: 'release-train', image: 'gcr.io/p/web:bbbbbbb' });
    off();
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(Number(second.outputs['pull-request-number'])).not.toBe(number);
    expect(second.summary).toContain(`#${number} was merged while this release was written`);
  });
});
