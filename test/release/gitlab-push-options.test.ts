// create-release-pr --host git against a GitLab remote with only git access (a deploy token, a
// job token): the merge request opened with GitLab's push options, as seed 002's
// `git push -o merge_request.create -o merge_request.target=main` does, over real git HTTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GitLabSimulator, startGitLabSimulator } from '../gitlab-sim/index.js';
import { kustomization } from '../support/manifest-repo.js';
import { runCli } from '../support/run-cli.js';

let sim: GitLabSimulator;
let n = 0;

async function project(): Promise<string> {
  const path = `acme/deploy-key-${++n}`;
  await sim.createProject(path, {
    'k.yaml': kustomization(
      ['d.yaml'],
      [{ name: 'registry.gitlab.test/acme/web', newTag: 'fedcba9' }],
    ),
  });
  return path;
}

beforeAll(async () => {
  sim = await startGitLabSimulator();
});
afterAll(async () => {
  await sim?.close();
});

describe('create-release-pr --host git --merge-request on GitLab', () => {
  it('pushes the release branch with push options: the merge request opens, labelled, into the base', async () => {
    const repo = await project();
    const r = await runCli(
      [
        'create-release-pr',
        '--host',
        'git',
        '--repo',
        sim.gitUrl(repo),
        '--path',
        'k.yaml',
        '--image',
        'registry.gitlab.test/acme/web:abc1234',
        '--base',
        'main',
        '--merge-request',
        '--label',
        'release',
        '--remove-source-branch',
        '--git-user',
        'oauth2',
        '--token-env',
        'DEPLOY_TOKEN',
        '--push-option',
        'ci.skip',
        '--json',
      ],
      { DEPLOY_TOKEN: sim.tokens.write },
    );
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.result).toBe('pushed');
    // The link is the merge request on the remote's own host (self-managed too, not only gitlab.com).
    expect(result.compareUrl).toBe(
      `${sim.url}/${repo}/-/merge_requests?state=opened&source_branch=release-abc1234`,
    );
    expect(sim.mergeRequests(repo)).toMatchObject([
      {
        source: 'release-abc1234',
        target: 'main',
        title: 'Release web abc1234',
        labels: ['release'],
        removeSourceBranch: true,
        state: 'opened',
      },
    ]);
    expect(await sim.readFile(repo, 'release-abc1234', 'k.yaml')).toContain('newTag: abc1234');
    expect(r.stderr + r.stdout).not.toContain(sim.tokens.write);
  });

  it('sends the job token as gitlab-ci-token and says plainly when GitLab refuses its push', async () => {
    const repo = await project();
    const r = await runCli(
      [
        'create-release-pr',
        '--host',
        'git',
        '--repo',
        sim.gitUrl(repo),
        '--path',
        'k.yaml',
        '--image',
        'registry.gitlab.test/acme/web:abc1234',
        '--merge-request',
        '--token-env',
        'CI_JOB_TOKEN',
      ],
      { CI_JOB_TOKEN: sim.tokens.job },
    );
    // The job token may read (the release was planned) but not push: GitLab answers 403.
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/403/);
    expect(
      sim.requests.some(
        (q) => q.kind === 'git' && q.operation === 'git-upload-pack' && q.status === 200,
      ),
    ).toBe(true);
    expect(sim.mergeRequests(repo)).toEqual([]);
    expect(r.stderr).not.toContain(sim.tokens.job);
  });
});
