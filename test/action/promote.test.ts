// The Action's promote command through the committed bundle, as the runner runs it, against the
// GitHub simulator: the production job of the seed 001 flow, and a refused --expect.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GitHubSimulator, startGitHubSimulator } from '../github-sim/index.js';
import {
  PRODUCTION,
  productionValues,
  renderedImages,
  STAGING,
  seedRepository,
} from '../promote/fixtures.js';
import { runAction } from './run-action.js';

let sim: GitHubSimulator;

beforeAll(async () => {
  sim = await startGitHubSimulator();
});
afterAll(async () => {
  await sim?.close();
});

function promote(repo: string, inputs: Record<string, string> = {}) {
  return runAction(
    {
      command: 'promote',
      'github-token': sim.tokens.write,
      repo,
      from: STAGING,
      to: PRODUCTION,
      ...inputs,
    },
    {
      env: {
        GITHUB_API_URL: sim.url,
        GITHUB_GRAPHQL_URL: sim.graphqlUrl,
        GITHUB_SERVER_URL: sim.url,
        GITHUB_REPOSITORY: 'acme/app',
        GITHUB_RUN_ID: '77',
      },
    },
  );
}

describe('action: promote', () => {
  it('opens the promotion pull request and sets the outputs', async () => {
    await sim.createRepo('acme/manifests-a', seedRepository());
    const run = await promote('acme/manifests-a', { expect: 'gcr.io/p/web:abc1234' });
    expect(run.code, run.stderr + run.stdout).toBe(0);
    expect(run.outputs).toMatchObject({
      result: 'created',
      branch: 'promote-production-abc1234',
      'pull-request-number': '1',
      image: 'gcr.io/p/web:abc1234\ngcr.io/p/api:v2',
      'changed-files': `${PRODUCTION}/kustomization.yaml\n${PRODUCTION}/values.yaml`,
    });
    expect(run.summary).toContain('Promotion `staging` → `production`');
    const [pr] = sim.pullRequests('acme/manifests-a');
    expect(pr?.body).toContain(`Asked by the pipeline run ${sim.url}/acme/app/actions/runs/77`);
    expect(await sim.readFile('acme/manifests-a', pr!.head, `${PRODUCTION}/values.yaml`)).toBe(
      productionValues('gcr.io/p/api:v2'),
    );
    expect(renderedImages(sim.repoPath('acme/manifests-a'), pr!.head, PRODUCTION)).toEqual([
      'gcr.io/p/web:abc1234',
    ]);
  });

  it('fails with the guard’s message, naming the input, and writes nothing', async () => {
    await sim.createRepo('acme/manifests-b', seedRepository());
    const run = await promote('acme/manifests-b', { expect: 'gcr.io/p/web:0000000' });
    expect(run.code).toBe(1);
    expect(run.outputs.result).toBe('failed');
    expect(run.everything).toContain('input "expect" gcr.io/p/web:0000000');
    expect(run.everything).toContain('not the version the pipeline tested');
    expect(run.everything).not.toContain(sim.tokens.write);
    expect(sim.pullRequests('acme/manifests-b')).toEqual([]);

    const missing = await promote('acme/manifests-b', { to: 'environments/prod' });
    expect(missing.code).toBe(1);
    expect(missing.everything).toContain('input "to": environments/prod: not found');
  });
});
