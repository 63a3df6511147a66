// create_release_pr through the committed bundle, run as the runner runs it, against the GitHub
// simulator (REST and GraphQL held to GitHub's published descriptions, real bare git repos).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type GitHubSimulator, startGitHubSimulator } from '../github-sim/index.js';
import { deployment, kustomization } from '../support/manifest-repo.js';
import { type ActionRun, runAction } from './run-action.js';
import { root } from './workflow-lint.js';

const SHA = 'abc1234def567890abc1234def567890abc12345';
const BAD_TOKEN = 'ghp_Wr0ngT0kenThatMustNeverBePrinted99';
const declaredOutputs = Object.keys(
  (parse(readFileSync(join(root, 'action.yml'), 'utf8')) as { outputs: object }).outputs,
).sort();

let sim: GitHubSimulator;
let repoCount = 0;
const runs: ActionRun[] = [];

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
    },
  );
  return name;
}

async function release(inputs: Record<string, string>, token = sim.tokens.write) {
  const run = await runAction(
    { command: 'create_release_pr', 'github-token': token, ...inputs },
    {
      env: {
        GITHUB_SHA: SHA,
        GITHUB_API_URL: sim.url,
        GITHUB_GRAPHQL_URL: sim.graphqlUrl,
        GITHUB_SERVER_URL: sim.url,
      },
    },
  );
  runs.push(run);
  return run;
}

beforeAll(async () => {
  sim = await startGitHubSimulator();
});
afterAll(async () => {
  await sim?.close();
});

describe('create_release_pr', () => {
  let repo: string;

  it('runs the bundle on Node 24, as runs.using: node24 does', () => {
    expect(process.versions.node.split('.')[0]).toBe('24');
  });

  let number: string;

  it('opens the release pull request; outputs, summary and the simulator agree', async () => {
    repo = await manifests();
    sim.clearRequests();
    const r = await release({ repo, paths: 'overlays/staging', image: 'gcr.io/p/web' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const [pr] = sim.pullRequests(repo);
    expect(pr).toBeDefined();
    number = String(pr!.number);
    expect(r.outputs).toEqual({
      result: 'created',
      image: 'gcr.io/p/web:abc1234',
      digest: '',
      'image-ref': '',
      tags: '',
      'pull-request-number': number,
      'pull-request-url': pr!.url,
      branch: 'release-abc1234',
      'commit-sha': pr!.headSha,
      // The directory holds two references to the image: both are released.
      'changed-files': 'overlays/staging/deploy.yaml\noverlays/staging/kustomization.yaml',
      'pull-request-operation': 'created',
      'pull-request-head-sha': pr!.headSha,
    });
    expect(Object.keys(r.outputs).sort()).toEqual(declaredOutputs);
    expect(pr).toMatchObject({ head: 'release-abc1234', base: 'main', state: 'open' });
    expect(sim.requests.every((q) => !q.invalid && !q.simulatorBug)).toBe(true);
    // The summary: the link, and the change as old → new.
    expect(r.summary).toContain(`[#${number}](${pr!.url})`);
    expect(r.summary).toContain(
      '| `overlays/staging/kustomization.yaml` | 7 | `gcr.io/p/web:old1234` | `gcr.io/p/web:abc1234` |',
    );
    // The branch is a real commit that kustomize renders with the new tag.
    const checkout = mkdtempSync(join(tmpdir(), 'action-render-'));
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
  });

  it('a re-run updates the same pull request and opens no second one', async () => {
    const r = await release({ repo, paths: 'overlays/staging', image: 'gcr.io/p/web' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.outputs).toMatchObject({
      result: 'updated',
      'pull-request-number': number,
      'pull-request-operation': 'updated',
      'pull-request-head-sha': sim.pullRequests(repo)[0]!.headSha,
    });
    expect(sim.pullRequests(repo)).toHaveLength(1);
  });

  it('body (multi-line, kept as written) goes above the table; author and committer are recorded', async () => {
    const bodyRepo = await manifests();
    const r = await release({
      repo: bodyRepo,
      paths: 'overlays/staging',
      image: 'gcr.io/p/web',
      body: '## Staging release\n\n  - indented item {sha}\n',
      author: 'Dev One <dev1@example.com>',
      committer: 'Release Bot <release-bot@example.com>',
    });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const [pr] = sim.pullRequests(bodyRepo);
    expect(
      (pr!.body ?? '').startsWith(
        '## Staging release\n\n  - indented item abc1234\n\nThis release',
      ),
    ).toBe(true);
    const who = execFileSync(
      'git',
      [
        '-C',
        sim.repoPath(bodyRepo),
        'log',
        '-1',
        '--format=%an <%ae>|%cn <%ce>',
        'release-abc1234',
      ],
      { encoding: 'utf8' },
    ).trim();
    expect(who).toBe('Dev One <dev1@example.com>|Release Bot <release-bot@example.com>');

    const bad = await release({
      repo: bodyRepo,
      paths: 'overlays/staging',
      image: 'gcr.io/p/web',
      'body-path': 'no/such/body.md',
    });
    expect(bad.code).toBe(1);
    expect(bad.errors[0]).toContain('input "body-path": cannot read');
  });

  it('a dry run against a base that already deploys the image writes nothing: unchanged', async () => {
    const deployed = await manifests({
      'k/kustomization.yaml': kustomization(
        ['d.yaml'],
        [{ name: 'gcr.io/p/web', newTag: 'abc1234' }],
      ),
      'k/d.yaml': deployment('web', ['gcr.io/p/web:abc1234']),
    });
    sim.clearRequests();
    const r = await release({
      repo: deployed,
      paths: 'k',
      image: 'gcr.io/p/web',
      'dry-run': 'true',
    });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.outputs).toMatchObject({
      result: 'unchanged',
      'pull-request-url': '',
      'commit-sha': '',
    });
    expect(r.summary).toContain('nothing to release');
    expect(sim.requests.length).toBeGreaterThan(0);
    expect(sim.requests.filter((q) => q.write)).toEqual([]);
  });

  it('push mode commits straight onto the base', async () => {
    const pushRepo = await manifests();
    const before = await sim.branchHead(pushRepo, 'main');
    const r = await release({
      repo: pushRepo,
      paths: 'overlays/staging/kustomization.yaml',
      image: 'gcr.io/p/web:fedcba9',
      mode: 'push',
    });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const after = await sim.branchHead(pushRepo, 'main');
    expect(after).not.toBe(before);
    expect(r.outputs).toMatchObject({ result: 'pushed', branch: 'main', 'commit-sha': after });
    expect(sim.pullRequests(pushRepo)).toEqual([]);
  });

  it('a bad token: one clear failure, outputs set, the token nowhere', async () => {
    const r = await release({ repo, paths: 'overlays/staging', image: 'gcr.io/p/web' }, BAD_TOKEN);
    expect(r.code).toBe(1);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatch(/GitHub refused the token \(HTTP 401/);
    expect(r.errors[0]).toContain('Set a valid token in input "github-token"');
    expect(r.outputs.result).toBe('failed');
    expect(Object.keys(r.outputs).sort()).toEqual(declaredOutputs);
    expect(r.stdout).toContain(`::add-mask::${BAD_TOKEN}`);
  });

  it('a manifest that does not parse is annotated at its file and line', async () => {
    const broken = await manifests({
      'app/kustomization.yaml': 'images:\n  - name: gcr.io/p/web\n    newTag: [unclosed\n',
    });
    const r = await release({ repo: broken, paths: 'app', image: 'gcr.io/p/web' });
    expect(r.code).toBe(1);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatch(
      /^::error title=gitops-release,file=app\/kustomization\.yaml,line=\d+/,
    );
    expect(r.outputs.result).toBe('failed');
  });

  it.each([
    [{ mode: 'direct' }, 'mode'],
    [{ draft: 'maybe' }, 'draft'],
    [{ paths: '' }, 'paths'],
    [{ 'merge-method': 'squash' }, 'merge-method'],
  ])('an invalid input %j fails once naming "%s", before any request', async (given, input) => {
    sim.clearRequests();
    const r = await release({ repo, paths: 'overlays/staging', image: 'gcr.io/p/web', ...given });
    expect(r.code).toBe(1);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toContain(`"${input}"`);
    expect(r.summary).toContain('### `create_release_pr` failed');
    expect(r.summary).toContain(`"${input}"`);
    expect(r.outputs.result).toBe('failed');
    expect(Object.keys(r.outputs).sort()).toEqual(declaredOutputs);
    expect(sim.requests).toEqual([]);
  });

  it('no token appears in anything the action printed or wrote', () => {
    expect(runs.length).toBeGreaterThan(8);
    for (const r of runs) {
      expect(r.everything).not.toContain(sim.tokens.write);
      expect(r.everything).not.toContain(BAD_TOKEN);
    }
  });
});
