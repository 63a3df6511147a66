// examples/circleci/promote.yml (seed 001: staging in push mode, production by promote after an
// approval) through the offline runner with the packed orb, against the GitHub simulator. The
// build job is left out (its image is there already, as test/orb/flow.test.ts builds it), and
// the digest is not pinned here (test/promote pins from a real registry).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { type GitHubSimulator, startGitHubSimulator } from '../github-sim/index.js';
import { type JobResult, OfflineRunner } from './runner.js';

const root = join(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'orb-promote-'));
const PROJECT = 'demo-project-4711';
const REPO = 'my-org/manifests';
const SHA = 'c0ffee1234567890c0ffee1234567890c0ffee12';
const image = (tag: string) => `asia.gcr.io/${PROJECT}/web:${tag}`;

function overlay(tag: string): string {
  return `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../base
images:
  - name: asia.gcr.io/${PROJECT}/web
    newTag: ${tag}
`;
}

let sim: GitHubSimulator;

beforeAll(async () => {
  sim = await startGitHubSimulator();
  await sim.createRepo(REPO, {
    'overlays/staging/kustomization.yaml': overlay('0a1b2c3'),
    'overlays/production/kustomization.yaml': overlay('0a1b2c3'),
  });
});
afterAll(async () => {
  await sim?.close();
  rmSync(work, { recursive: true, force: true });
});

/** The example without the jobs `leftOut`, the manifest repository on the simulator. */
function config(leftOut = ['build_and_push_image']): string {
  const c = YAML.parse(readFileSync(join(root, 'examples/circleci/promote.yml'), 'utf8'));
  const wf = c.workflows.staging_then_production;
  wf.jobs = wf.jobs.filter(
    (e: Record<string, { name?: string }>) => !leftOut.includes(Object.values(e)[0]?.name ?? ''),
  );
  for (const entry of wf.jobs) {
    const args = Object.values(entry)[0] as Record<string, unknown>;
    if (Array.isArray(args.requires))
      args.requires = args.requires.filter((r) => !leftOut.includes(r));
    if (args.repo) args.github_url = '$GITHUB_API';
    if (args.name === 'promote_to_production') {
      args.pin_digest = false;
      args.app_repo = '';
    }
  }
  return YAML.stringify(c);
}

function run(approve: boolean, text = config()): Promise<JobResult[]> {
  return new OfflineRunner({
    config: text,
    orbs: { 'gitops-release/gitops-release@1': join(root, 'orb/orb.yml') },
    pipeline: { sha: SHA, branch: 'main', projectUsername: 'my-org', projectReponame: 'web' },
    contexts: {
      gitops: {
        GOOGLE_PROJECT_ID: PROJECT,
        GITHUB_API: sim.url,
        GITHUB_TOKEN: sim.tokens.write,
      },
    },
    workDir: mkdtempSync(join(work, 'run-')),
    machineEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    approve: (job) => approve && job === 'hold_production',
  }).runWorkflow();
}

const status = (results: JobResult[]) => Object.fromEntries(results.map((r) => [r.name, r.status]));
const output = (results: JobResult[], job: string) =>
  results
    .find((r) => r.name === job)
    ?.steps.map((s) => s.output)
    .join('\n') ?? '';

describe('the orb in the seed 001 flow', () => {
  it('deploys staging at once, and production only after the approval, with the same image', async () => {
    const waiting = await run(false);
    expect(status(waiting)).toEqual({
      release_to_staging: 'success',
      hold_production: 'blocked',
      promote_to_production: 'blocked',
    });
    const staging = await sim.readFile(REPO, 'main', 'overlays/staging/kustomization.yaml');
    expect(staging).toBe(overlay(SHA.slice(0, 7)));
    expect(sim.pullRequests(REPO)).toEqual([]);

    const approved = await run(true);
    expect(status(approved), output(approved, 'promote_to_production')).toEqual({
      release_to_staging: 'success',
      hold_production: 'success',
      promote_to_production: 'success',
    });
    const [pr] = sim.pullRequests(REPO);
    expect(pr?.head).toBe(`promote-production-${SHA.slice(0, 7)}`);
    expect(pr?.body).toContain(`| \`asia.gcr.io/${PROJECT}/web\` | \`:0a1b2c3\` | \`:c0ffee1\` |`);
    expect(await sim.readFile(REPO, pr!.head, 'overlays/production/kustomization.yaml')).toBe(
      overlay(SHA.slice(0, 7)),
    );
    expect(output(approved, 'promote_to_production')).not.toContain(sim.tokens.write);
  });

  it('fails the promote job, writing nothing, when staging runs another commit than this pipeline’s', async () => {
    // Staging moved on (a newer pipeline); this older pipeline's approval comes late.
    await sim.commit(REPO, 'main', { 'overlays/staging/kustomization.yaml': overlay('beef999') });
    const before = await sim.readFile(REPO, 'main', 'overlays/production/kustomization.yaml');
    const results = await run(true, config(['build_and_push_image', 'release_to_staging']));
    expect(status(results).promote_to_production).toBe('failed');
    const out = output(results, 'promote_to_production');
    expect(out).toContain('"reason": "expect-mismatch"');
    expect(out).toContain(`now deploys ${image('beef999')}`);
    expect(await sim.readFile(REPO, 'main', 'overlays/production/kustomization.yaml')).toBe(before);
  });
});
