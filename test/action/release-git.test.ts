// create_release_pr on a plain git remote through the committed bundle: git http-backend on
// loopback (token-protected) and a local bare repository, as a self-hosted GitLab or Gitea would be.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GitHttpServer, startGitHttpServer } from '../support/git-http-server.js';
import {
  createManifestRepo,
  deployment,
  kustomization,
  type ManifestRepo,
} from '../support/manifest-repo.js';
import { type ActionRun, runAction } from './run-action.js';

const SHA = 'abc1234def567890abc1234def567890abc12345';
const TOKEN = 'glpat-Gitr3poT0kenNeverPrinted77';

let repo: ManifestRepo;
let server: GitHttpServer;
let url: string;
const runs: ActionRun[] = [];

function files() {
  return {
    'overlays/staging/kustomization.yaml': kustomization(
      ['deploy.yaml'],
      [{ name: 'gcr.io/p/web', newTag: 'old1234' }],
    ),
    'overlays/staging/deploy.yaml': deployment('web', ['gcr.io/p/web:old1234']),
  };
}

async function release(inputs: Record<string, string>, serverUrl: string) {
  const run = await runAction(
    {
      command: 'create_release_pr',
      'github-token': TOKEN,
      paths: 'overlays/staging',
      image: 'gcr.io/p/web',
      ...inputs,
    },
    { env: { GITHUB_SHA: SHA, GITHUB_SERVER_URL: serverUrl } },
  );
  runs.push(run);
  return run;
}

beforeAll(async () => {
  repo = createManifestRepo(files());
  server = await startGitHttpServer({ root: repo.root, token: TOKEN });
  url = `${server.url}/${repo.name}.git`;
});
afterAll(async () => {
  await server?.close();
});

describe('create_release_pr on plain git', () => {
  it("pushes a release branch when the remote is the workflow's own server (token sent)", async () => {
    const r = await release({ repo: url }, server.url);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.outputs).toMatchObject({
      result: 'pushed',
      branch: 'release-abc1234',
      'pull-request-url': '',
      'changed-files': 'overlays/staging/deploy.yaml\noverlays/staging/kustomization.yaml',
    });
    expect(repo.branches()).toContain('release-abc1234');
    expect(repo.show('release-abc1234', 'overlays/staging/kustomization.yaml')).toContain(
      'newTag: abc1234',
    );
    expect(r.outputs['commit-sha']).toBe(repo.log('release-abc1234')[0]);
    expect(r.summary).toContain('`gcr.io/p/web:old1234` | `gcr.io/p/web:abc1234`');
  });

  it('never sends the workflow token to another host: the remote refuses, one clear error', async () => {
    const pushesBefore = server.pushes();
    const r = await release({ repo: url, tag: 'fedcba9' }, 'https://github.com');
    expect(r.code).toBe(1);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatch(/refused the credentials/);
    expect(r.errors[0]).toContain('input "git-token"');
    expect(r.errors[0]).toContain('github-token is not sent to 127.0.0.1');
    expect(r.outputs.result).toBe('failed');
    expect(server.pushes()).toBe(pushesBefore);
  });

  it('sends git-token, given for the remote, to that remote', async () => {
    const r = await release(
      { repo: url, tag: 'fedcba9', 'github-token': 'ghs_notForThisRemote0000', 'git-token': TOKEN },
      'https://github.com',
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // {sha} is the commit (GITHUB_SHA), as in the CLI, not the tag given.
    expect(r.outputs).toMatchObject({ result: 'pushed', branch: `release-${SHA.slice(0, 7)}` });
    expect(r.stdout).toContain(`::add-mask::${TOKEN}`);
  });

  it('push mode on a local bare repository commits onto the base branch', async () => {
    const local = createManifestRepo(files(), 'local');
    const before = local.log('main').length;
    const r = await release({ repo: local.bare, mode: 'push' }, 'https://github.com');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.outputs).toMatchObject({ result: 'pushed', branch: 'main' });
    expect(local.log('main')).toHaveLength(before + 1);
    expect(r.outputs['commit-sha']).toBe(local.log('main')[0]);
  });

  it('no token appears in anything the action printed or wrote', () => {
    for (const r of runs) expect(r.everything).not.toContain(TOKEN);
  });
});
