// What users of peter-evans/create-pull-request expect of create-release-pr: their own body above
// the generated table, the author and committer they configure (defaults from git's variables and
// the CI's user, never a made-up address), and the pull-request-operation / head-sha outputs.
// Against the GitHub simulator and a plain git remote, through the CLI in-process.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GitHubSimulator, startGitHubSimulator } from '../github-sim/index.js';
import { createManifestRepo, deployment, kustomization } from '../support/manifest-repo.js';
import { runCli } from '../support/run-cli.js';

let sim: GitHubSimulator;
let count = 0;

async function manifests(): Promise<string> {
  const name = `acme/anchors-${++count}`;
  await sim.createRepo(name, {
    'overlays/staging/kustomization.yaml': kustomization(
      ['deploy.yaml'],
      [{ name: 'gcr.io/p/web', newTag: 'old1234' }],
    ),
    'overlays/staging/deploy.yaml': deployment('web', ['gcr.io/p/web']),
  });
  return name;
}

function cli(repo: string, args: string[], env: Record<string, string> = {}) {
  return runCli(
    [
      'create-release-pr',
      '--repo',
      repo,
      '--github-url',
      sim.url,
      '--path',
      'overlays/staging/kustomization.yaml',
      '--json',
      ...args,
    ],
    { GITHUB_TOKEN: sim.tokens.write, ...env },
  );
}

/** `author|committer` of a branch's head in a bare repository. */
function identities(bare: string, branch: string): string {
  return execFileSync('git', ['-C', bare, 'log', '-1', '--format=%an <%ae>|%cn <%ce>', branch], {
    encoding: 'utf8',
  }).trim();
}

beforeAll(async () => {
  sim = await startGitHubSimulator();
});
afterAll(async () => {
  await sim?.close();
});

describe('the pull request body', () => {
  it('puts --body (a template) above the generated table, and keeps it on a re-run', async () => {
    const repo = await manifests();
    const body = 'Deploys **web** {sha} to staging.\n\n- [ ] smoke-tested';
    const r = await cli(repo, ['--image', 'gcr.io/p/web:abc1234', '--body', body]);
    expect(r.code, r.stderr).toBe(0);
    const prBody = sim.pullRequests(repo)[0]?.body ?? '';
    expect(prBody.startsWith('Deploys **web** abc1234 to staging.\n\n- [ ] smoke-tested\n\n')).toBe(
      true,
    );
    expect(prBody).toContain('This release changes:');
    expect(prBody.indexOf('smoke-tested')).toBeLessThan(prBody.indexOf('| File |'));

    // Another image onto the same branch: the body is rebuilt with the user's text still on top.
    const again = await cli(repo, ['--image', 'gcr.io/p/web:abc1234', '--body', body]);
    expect(JSON.parse(again.stdout).result).toBe('updated');
    expect((sim.pullRequests(repo)[0]?.body ?? '').startsWith('Deploys **web** abc1234')).toBe(
      true,
    );
  });

  it('reads --body-path; a file that is not there is named, and nothing is written', async () => {
    const repo = await manifests();
    const dir = mkdtempSync(join(tmpdir(), 'body-'));
    writeFileSync(join(dir, 'body.md'), '## Release notes\n\nFrom a file.\n');
    const r = await runCli(
      [
        'create-release-pr',
        '--repo',
        repo,
        '--github-url',
        sim.url,
        '--path',
        'overlays/staging/kustomization.yaml',
        '--image',
        'gcr.io/p/web:abc1234',
        '--body-path',
        'body.md',
      ],
      { GITHUB_TOKEN: sim.tokens.write },
      dir,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(
      (sim.pullRequests(repo)[0]?.body ?? '').startsWith('## Release notes\n\nFrom a file.\n\n'),
    ).toBe(true);

    const other = await manifests();
    sim.clearRequests();
    const missing = await cli(other, ['--image', 'gcr.io/p/web:abc1234', '--body-path', 'nope.md']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--body-path: cannot read');
    expect(missing.stderr).toContain('nope.md (ENOENT)');
    expect(sim.requests).toEqual([]);
  });
});

describe('author and committer on GitHub', () => {
  it('without --author the commit is the token’s own (GraphQL, signed), even with GITHUB_ACTOR set', async () => {
    const repo = await manifests();
    sim.clearRequests();
    const r = await cli(repo, ['--image', 'gcr.io/p/web:abc1234'], {
      GITHUB_ACTOR: 'octocat',
      GITHUB_ACTOR_ID: '583231',
    });
    expect(r.code, r.stderr).toBe(0);
    expect(sim.requests.map((q) => q.fields?.join('+'))).toContain(
      'createRef+createCommitOnBranch+createPullRequest',
    );
    expect(identities(sim.repoPath(repo), 'release-abc1234')).not.toContain('octocat');
  });

  it('--author and --committer are recorded as given (through the REST Git Data API)', async () => {
    const repo = await manifests();
    sim.clearRequests();
    const r = await cli(repo, [
      '--image',
      'gcr.io/p/web:abc1234',
      '--author',
      'Dev One <dev1@example.com>',
      '--committer',
      'Release Bot <release-bot@example.com>',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(identities(sim.repoPath(repo), 'release-abc1234')).toBe(
      'Dev One <dev1@example.com>|Release Bot <release-bot@example.com>',
    );
    expect(sim.requests.some((q) => q.method === 'POST' && /git\/commits$/.test(q.path))).toBe(
      true,
    );
    expect(sim.requests.every((q) => !q.invalid && !q.simulatorBug)).toBe(true);
  });

  it('takes GIT_AUTHOR_* and GIT_COMMITTER_* as git does; a malformed --author is wrong usage', async () => {
    const repo = await manifests();
    const r = await cli(repo, ['--image', 'gcr.io/p/web:abc1234'], {
      GIT_AUTHOR_NAME: 'Env Author',
      GIT_AUTHOR_EMAIL: 'env-author@example.com',
      GIT_COMMITTER_NAME: 'Env Committer',
      GIT_COMMITTER_EMAIL: 'env-committer@example.com',
    });
    expect(r.code, r.stderr).toBe(0);
    expect(identities(sim.repoPath(repo), 'release-abc1234')).toBe(
      'Env Author <env-author@example.com>|Env Committer <env-committer@example.com>',
    );
    const bad = await cli(repo, ['--image', 'gcr.io/p/web:abc1234', '--author', 'no-brackets']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--author must be "Name <email>", got "no-brackets"');
  });
});

describe('author on a plain git remote', () => {
  function gitRelease(env: Record<string, string>) {
    const repo = createManifestRepo({
      'deploy.yaml': deployment('web', ['gcr.io/p/web:old1234']),
    });
    return runCli(
      [
        'create-release-pr',
        '--repo',
        repo.bare,
        '--path',
        'deploy.yaml',
        '--image',
        'gcr.io/p/web:abc1234',
        '--json',
      ],
      env,
    ).then((r) => ({ r, who: identities(repo.bare, 'release-abc1234') }));
  }

  it('is the GitHub Actions actor with their noreply address', async () => {
    const { r, who } = await gitRelease({ GITHUB_ACTOR: 'octocat', GITHUB_ACTOR_ID: '583231' });
    expect(r.code, r.stderr).toBe(0);
    expect(who).toBe(
      'octocat <583231+octocat@users.noreply.github.com>|octocat <583231+octocat@users.noreply.github.com>',
    );
  });

  it('is the GitLab user with their own address', async () => {
    const { who } = await gitRelease({
      GITLAB_USER_NAME: 'Jane Doe',
      GITLAB_USER_EMAIL: 'jane@example.org',
    });
    expect(who).toBe('Jane Doe <jane@example.org>|Jane Doe <jane@example.org>');
  });

  it('on a CI that gives no address (CircleCI), makes none up', async () => {
    const { r, who } = await gitRelease({ CIRCLE_USERNAME: 'circle-dev' });
    expect(r.code, r.stderr).toBe(0);
    expect(who).toBe('gitops-release <>|gitops-release <>');
  });
});

describe('the outputs of peter-evans/create-pull-request', () => {
  it('pullRequestOperation is created, then updated, then none; the head sha is the branch’s', async () => {
    const repo = await manifests();
    const first = JSON.parse((await cli(repo, ['--image', 'gcr.io/p/web:abc1234'])).stdout);
    expect(first).toMatchObject({ pullRequestOperation: 'created' });
    expect(first.pullRequestHeadSha).toBe(await sim.branchHead(repo, 'release-abc1234'));
    const second = JSON.parse((await cli(repo, ['--image', 'gcr.io/p/web:abc1234'])).stdout);
    expect(second).toMatchObject({ pullRequestOperation: 'updated' });
    expect(second.pullRequestHeadSha).toBe(first.pullRequestHeadSha);
    const dry = JSON.parse(
      (await cli(repo, ['--image', 'gcr.io/p/web:def5678', '--dry-run'])).stdout,
    );
    expect(dry).toMatchObject({ pullRequestOperation: 'none', pullRequestHeadSha: null });
  });
});

describe('messages a user can act on', () => {
  /** A loopback port that was just free: connecting to it is refused. */
  async function refusedPort(): Promise<number> {
    const { createServer } = await import('node:net');
    const server = createServer();
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const { port } = server.address() as { port: number };
    await new Promise((done) => server.close(done));
    return port;
  }

  it('a refused connection to the GitHub API says "cannot connect to", not "HTTP 500"', async () => {
    const port = await refusedPort();
    const r = await runCli(
      [
        'create-release-pr',
        '--repo',
        'acme/manifests',
        '--github-url',
        `http://127.0.0.1:${port}`,
        '--path',
        'deploy.yaml',
        '--image',
        'gcr.io/p/web:abc1234',
      ],
      { GITHUB_TOKEN: sim.tokens.write },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `cannot connect to http://127.0.0.1:${port} (ECONNREFUSED) while reading acme/manifests: check --github-url`,
    );
    expect(r.stderr).toContain('nothing was written');
    expect(r.stderr).not.toContain('HTTP 500');
    expect(r.stderr).not.toContain(sim.tokens.write);
  });
});

describe('the out-of-order guard when the app repository cannot be read', () => {
  it('warns that the guard is off and why, with a token scoped to the manifest repository only', async () => {
    const app = `acme/web-app-${++count}`;
    const { head: older } = await sim.createRepo(app, { 'README.md': 'app\n' });
    const newer = await sim.commit(app, 'main', { 'README.md': 'app v2\n' });
    const repo = `acme/guarded-${count}`;
    await sim.createRepo(repo, {
      'deploy.yaml': deployment('web', [`gcr.io/p/web:${newer.slice(0, 7)}`]),
    });
    // What actions/create-github-app-token with `repositories: manifests` hands out.
    const scoped = 'ghs_scopedToTheManifestRepositoryOnly01';
    sim.addToken(scoped, { login: 'release-app[bot]', permission: 'write', repos: [repo] });
    const args = [
      'create-release-pr',
      '--repo',
      repo,
      '--github-url',
      sim.url,
      '--path',
      'deploy.yaml',
      '--app-repo',
      app,
      '--image',
      `gcr.io/p/web:${older.slice(0, 7)}`,
      '--json',
    ];

    const full = await runCli(args, { GITHUB_TOKEN: sim.tokens.write });
    expect(JSON.parse(full.stdout).result).toBe('skipped-older');
    expect(full.stderr).not.toContain('guard is off');

    const blind = await runCli(args, { GITHUB_TOKEN: scoped });
    expect(blind.code, blind.stderr).toBe(0);
    // The older image went through: the guard could not see the commits, and says so.
    expect(JSON.parse(blind.stdout).result).toBe('created');
    expect(blind.stderr).toContain(
      `warning: the out-of-order guard is off: the token cannot read the application repository ${app} (HTTP 404)`,
    );
    expect(blind.stderr).toContain(`repositories: manifests,${app.split('/')[1]}`);
    expect(blind.stderr.match(/guard is off/g)).toHaveLength(1);
  });
});

describe('GH_TOKEN and --quiet', () => {
  it('takes the token from GH_TOKEN as gh does; --quiet leaves stderr empty and the result on stdout', async () => {
    const repo = await manifests();
    const r = await runCli(
      [
        'create-release-pr',
        '--repo',
        repo,
        '--github-url',
        sim.url,
        '--path',
        'overlays/staging/kustomization.yaml',
        '--image',
        'gcr.io/p/web:abc1234',
        '--quiet',
      ],
      { GH_TOKEN: sim.tokens.write },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^created: created pull request #1 /);
    expect(r.stderr).toBe('');

    const none = await runCli(
      ['create-release-pr', '--repo', repo, '--path', 'x', '--image', 'gcr.io/p/web:abc1234'],
      {},
    );
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('set the environment variable GH_TOKEN or GITHUB_TOKEN');
  });
});

describe('--delete-branch', () => {
  it('deletes the branches of the pull requests --close-superseded closes, and keeps the new one', async () => {
    const repo = await manifests();
    const first = await cli(repo, ['--image', 'gcr.io/p/web:aaa1111']);
    expect(first.code, first.stderr).toBe(0);
    expect(await sim.branchHead(repo, 'release-aaa1111')).toBeDefined();
    const second = await cli(repo, [
      '--image',
      'gcr.io/p/web:bbb2222',
      '--close-superseded',
      '--delete-branch',
    ]);
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({
      closedPullRequests: [1],
      deletedBranches: ['release-aaa1111'],
    });
    expect(sim.pullRequests(repo).map((p) => [p.number, p.state])).toEqual([
      [1, 'closed'],
      [2, 'open'],
    ]);
    expect(await sim.branchHead(repo, 'release-aaa1111')).toBeUndefined();
    expect(await sim.branchHead(repo, 'release-bbb2222')).toBeDefined();
    expect(sim.requests.every((q) => !q.invalid && !q.simulatorBug)).toBe(true);
  });

  it('without --close-superseded it is wrong usage, before any request', async () => {
    const repo = await manifests();
    sim.clearRequests();
    const r = await cli(repo, ['--image', 'gcr.io/p/web:ccc3333', '--delete-branch']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('it goes with --close-superseded');
    expect(sim.requests).toEqual([]);
  });
});

describe('--milestone', () => {
  it('puts the pull request in the milestone; an unknown one is a warning naming it', async () => {
    const repo = await manifests();
    const number = sim.createMilestone(repo, 'Sprint 42');
    const r = await cli(repo, ['--image', 'gcr.io/p/web:abc1234', '--milestone', String(number)]);
    expect(r.code, r.stderr).toBe(0);
    expect(sim.pullRequestMilestone(repo, 1)).toBe(number);
    expect(sim.requests.every((q) => !q.invalid && !q.simulatorBug)).toBe(true);

    const other = await manifests();
    // The pull request is made by then: an unknown milestone is a warning, as a refused label is.
    const bad = await cli(other, ['--image', 'gcr.io/p/web:abc1234', '--milestone', '99']);
    expect(bad.code, bad.stderr).toBe(0);
    expect(bad.stderr).toContain(
      `warning: #1 was not put in milestone 99: there is no such milestone in ${other}`,
    );
    expect(JSON.parse(bad.stdout).warnings).toEqual([
      expect.objectContaining({ kind: 'milestone' }),
    ]);
    expect(sim.pullRequests(other)).toHaveLength(1);
    expect(sim.pullRequestMilestone(other, 1)).toBeNull();

    const word = await cli(other, ['--image', 'gcr.io/p/web:abc1234', '--milestone', 'Sprint']);
    expect(word.code).toBe(2);
    expect(word.stderr).toContain(`--milestone takes the milestone's number, got "Sprint"`);
  });
});
