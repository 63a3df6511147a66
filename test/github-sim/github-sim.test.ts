// The simulator driven by the real Octokit clients: if it drifts from what GitHub answers,
// the product's GitHub host would be tested against a fiction.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GraphqlResponseError, graphql } from '@octokit/graphql';
import { Octokit } from '@octokit/rest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GitHubSimulator, startGitHubSimulator } from './index.js';

const run = promisify(execFile);
const REPO = 'acme/manifests';
// Octokit logs every 4xx; these tests ask for them on purpose.
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

const deployment = (tag: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          image: registry.example/acme/web:${tag}
`;
const kustomization = (tag: string) => `resources:
  - ../../base
images:
  - name: registry.example/acme/web
    newTag: ${tag}
`;

let sim: GitHubSimulator;
let rest: Octokit;
let gql: typeof graphql;
let work: string;

async function git(args: string[], cwd?: string): Promise<string> {
  const { stdout } = await run('git', args, { cwd });
  return stdout;
}

async function expectGraphQLError(
  promise: Promise<unknown>,
  type: string,
): Promise<GraphqlResponseError<unknown>> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GraphqlResponseError);
  const e = error as GraphqlResponseError<unknown>;
  expect(e.errors?.[0]?.type).toBe(type);
  return e;
}

async function status(
  promise: Promise<unknown>,
): Promise<{ status: number; data: unknown; headers: Record<string, string> }> {
  try {
    await promise;
    return { status: 200, data: undefined, headers: {} };
  } catch (error) {
    const e = error as {
      status: number;
      response?: { data: unknown; headers: Record<string, string> };
    };
    return { status: e.status, data: e.response?.data, headers: e.response?.headers ?? {} };
  }
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'github-sim-test-'));
  sim = await startGitHubSimulator();
  rest = new Octokit({ log: quiet, baseUrl: sim.url, auth: sim.tokens.write });
  gql = graphql.defaults({
    baseUrl: sim.url,
    headers: { authorization: `token ${sim.tokens.write}` },
  });
  await sim.createRepo(REPO, {
    'base/deployment.yaml': deployment('1.0.0'),
    'base/kustomization.yaml': 'resources:\n  - deployment.yaml\n',
    'overlays/staging/kustomization.yaml': kustomization('aaaaaaa'),
    'README.md': '# manifests\n',
  });
});

afterAll(async () => {
  // Every answer of the whole run stayed within GitHub's descriptions and the implemented calls.
  expect(sim.requests.filter((r) => r.simulatorBug || r.unsupported)).toEqual([]);
  await sim?.close();
  await rm(work, { recursive: true, force: true });
});

describe('GraphQL', () => {
  it('reads files and directories at a branch with several aliased objects in one query', async () => {
    const from = sim.requests.length;
    const data = await gql<{
      repository: {
        id: string;
        nameWithOwner: string;
        defaultBranchRef: { name: string; target: { oid: string } };
        file: { text: string; byteSize: number; isBinary: boolean; oid: string };
        missing: null;
        dir: {
          entries: {
            name: string;
            path: string;
            type: string;
            mode: number;
            object: { text: string };
          }[];
        };
      };
      viewer: { login: string };
    }>(
      `query ReadTargets($owner: String!, $name: String!) {
        viewer { login }
        repository(owner: $owner, name: $name) {
          id nameWithOwner
          defaultBranchRef { name target { oid } }
          file: object(expression: "main:overlays/staging/kustomization.yaml") { ... on Blob { text byteSize isBinary oid } }
          missing: object(expression: "main:nope.yaml") { ... on Blob { text } }
          dir: object(expression: "main:overlays/staging") {
            ... on Tree { entries { name path type mode object { ... on Blob { text byteSize isBinary } } } }
          }
        }
      }`,
      { owner: 'acme', name: 'manifests' },
    );
    const head = await sim.branchHead(REPO, 'main');
    expect(data.viewer.login).toBe('github-actions[bot]');
    expect(data.repository.nameWithOwner).toBe(REPO);
    expect(data.repository.defaultBranchRef).toEqual({ name: 'main', target: { oid: head } });
    expect(data.repository.file.text).toBe(kustomization('aaaaaaa'));
    expect(data.repository.file.byteSize).toBe(kustomization('aaaaaaa').length);
    expect(data.repository.missing).toBeNull();
    expect(data.repository.dir.entries).toEqual([
      {
        name: 'kustomization.yaml',
        path: 'overlays/staging/kustomization.yaml',
        type: 'blob',
        mode: 0o100644,
        object: {
          text: kustomization('aaaaaaa'),
          byteSize: kustomization('aaaaaaa').length,
          isBinary: false,
        },
      },
    ]);
    expect(sim.requests.slice(from)).toMatchObject([
      { kind: 'graphql', operationName: 'ReadTargets', write: false, status: 200 },
    ]);
  });

  it('refuses a stale expectedHeadOid, lands the right one as a real, verified git commit', async () => {
    const head = (await sim.branchHead(REPO, 'main'))!;
    const mutation = `mutation Commit($input: CreateCommitOnBranchInput!) {
      createCommitOnBranch(input: $input) { commit { oid url message signature { isValid } } ref { name target { oid } } }
    }`;
    const input = (expectedHeadOid: string) => ({
      branch: { repositoryNameWithOwner: REPO, branchName: 'main' },
      expectedHeadOid,
      message: { headline: 'Release web bbbbbbb', body: 'Image registry.example/acme/web:bbbbbbb' },
      fileChanges: {
        additions: [
          {
            path: 'overlays/staging/kustomization.yaml',
            contents: Buffer.from(kustomization('bbbbbbb')).toString('base64'),
          },
        ],
        deletions: [{ path: 'README.md' }],
      },
    });
    const stale = await expectGraphQLError(
      gql(mutation, { input: input('1'.repeat(40)) }),
      'STALE_DATA',
    );
    expect(stale.message).toContain('Expected branch to point to');
    expect(await sim.branchHead(REPO, 'main')).toBe(head);

    const result = await gql<{
      createCommitOnBranch: {
        commit: { oid: string; url: string; message: string; signature: { isValid: boolean } };
      };
    }>(mutation, { input: input(head) });
    const commit = result.createCommitOnBranch.commit;
    expect(commit.signature.isValid).toBe(true);
    expect(commit.url).toBe(`${sim.url}/${REPO}/commit/${commit.oid}`);
    expect(await sim.branchHead(REPO, 'main')).toBe(commit.oid);

    const log = await git([
      '--git-dir',
      sim.repoPath(REPO),
      'log',
      '--format=%H %P %s',
      '-n',
      '1',
      'main',
    ]);
    expect(log.trim()).toBe(`${commit.oid} ${head} Release web bbbbbbb`);
    const shown = await git([
      '--git-dir',
      sim.repoPath(REPO),
      'show',
      `${commit.oid}:overlays/staging/kustomization.yaml`,
    ]);
    expect(shown).toBe(kustomization('bbbbbbb'));
    await expect(
      git(['--git-dir', sim.repoPath(REPO), 'show', `${commit.oid}:README.md`]),
    ).rejects.toThrow();

    // A clone renders with kustomize: the commit is an ordinary git commit.
    const clone = join(work, 'clone');
    await git(['clone', '--quiet', sim.repoPath(REPO), clone]);
    const { stdout } = await run('kubectl', ['kustomize', join(clone, 'overlays/staging')]);
    expect(stdout).toContain('image: registry.example/acme/web:bbbbbbb');
  });

  it('truncates Blob.text at 512,000 bytes and says so, as GitHub does', async () => {
    const text = 'a: b\n'.repeat(120_000);
    await sim.commit(REPO, 'large', { 'large.yaml': text }, 'large manifest');
    const data = await gql<{
      repository: { object: { text: string; isTruncated: boolean; byteSize: number } };
    }>(
      '{ repository(owner: "acme", name: "manifests") { object(expression: "large:large.yaml") { ... on Blob { text isTruncated byteSize } } } }',
    );
    expect(data.repository.object).toEqual({
      text: text.slice(0, 512_000),
      isTruncated: true,
      byteSize: 600_000,
    });
  });

  it('refuses to delete a path that does not exist, and a base64 that is not', async () => {
    const head = (await sim.branchHead(REPO, 'main'))!;
    const mutation = `mutation($input: CreateCommitOnBranchInput!) { createCommitOnBranch(input: $input) { commit { oid } } }`;
    await expectGraphQLError(
      gql(mutation, {
        input: {
          branch: { repositoryNameWithOwner: REPO, branchName: 'main' },
          expectedHeadOid: head,
          message: { headline: 'x' },
          fileChanges: { deletions: [{ path: 'no/such/file' }] },
        },
      }),
      'UNPROCESSABLE',
    );
    expect(await sim.branchHead(REPO, 'main')).toBe(head);
  });

  it('answers STALE_DATA when another writer moves the branch mid-flight', async () => {
    const head = (await sim.branchHead(REPO, 'main'))!;
    const off = sim.onRequest(async (r) => {
      if (r.fields.includes('createCommitOnBranch'))
        await sim.commit(REPO, 'main', { 'other.txt': 'x\n' }, 'Another writer');
    });
    await expectGraphQLError(
      gql(
        `mutation($input: CreateCommitOnBranchInput!) { createCommitOnBranch(input: $input) { commit { oid } } }`,
        {
          input: {
            branch: { repositoryNameWithOwner: REPO, branchName: 'main' },
            expectedHeadOid: head,
            message: { headline: 'lost race' },
            fileChanges: {
              additions: [{ path: 'a.txt', contents: Buffer.from('a').toString('base64') }],
            },
          },
        },
      ),
      'STALE_DATA',
    );
    off();
    const now = (await sim.branchHead(REPO, 'main'))!;
    expect(now).not.toBe(head);
    expect(await sim.readFile(REPO, 'main', 'a.txt')).toBeUndefined();
    expect(await sim.readFile(REPO, 'main', 'other.txt')).toBe('x\n');
  });

  it('opens, finds, labels, assigns, requests reviews, auto-merges, comments on and closes a pull request', async () => {
    // GitHub's defaults refuse these; this repository is set up as a team on a paid plan would.
    sim.setAutoMerge(REPO, 'allowed');
    sim.setDrafts(REPO, true);
    for (const login of ['alice', 'bob', 'carol', 'dana']) sim.addCollaborator(REPO, login);
    sim.addTeam(REPO, 'platform');
    const repo = await gql<{
      repository: { id: string; defaultBranchRef: { target: { oid: string } } };
    }>(
      `{ repository(owner: "acme", name: "manifests") { id defaultBranchRef { target { oid } } } }`,
    );
    const base = repo.repository.defaultBranchRef.target.oid;
    const created = await gql<{ createRef: { ref: { id: string; name: string } } }>(
      `mutation($input: CreateRefInput!) { createRef(input: $input) { ref { id name } } }`,
      {
        input: { repositoryId: repo.repository.id, name: 'refs/heads/release-ccccccc', oid: base },
      },
    );
    expect(created.createRef.ref.name).toBe('release-ccccccc');
    await expectGraphQLError(
      gql(`mutation($input: CreateRefInput!) { createRef(input: $input) { ref { id } } }`, {
        input: { repositoryId: repo.repository.id, name: 'refs/heads/release-ccccccc', oid: base },
      }),
      'UNPROCESSABLE',
    );
    const commit = await gql<{ createCommitOnBranch: { commit: { oid: string } } }>(
      `mutation($input: CreateCommitOnBranchInput!) { createCommitOnBranch(input: $input) { commit { oid } } }`,
      {
        input: {
          branch: { id: created.createRef.ref.id },
          expectedHeadOid: base,
          message: { headline: 'Release web ccccccc' },
          fileChanges: {
            additions: [
              {
                path: 'overlays/staging/kustomization.yaml',
                contents: Buffer.from(kustomization('ccccccc')).toString('base64'),
              },
            ],
          },
        },
      },
    );
    const opened = await gql<{
      createPullRequest: {
        pullRequest: {
          id: string;
          number: number;
          url: string;
          headRefOid: string;
          isDraft: boolean;
        };
      };
    }>(
      `mutation($input: CreatePullRequestInput!) { createPullRequest(input: $input) { pullRequest { id number url headRefOid isDraft } } }`,
      {
        input: {
          repositoryId: repo.repository.id,
          baseRefName: 'main',
          headRefName: 'release-ccccccc',
          title: 'Release web ccccccc',
          body: '| file | old | new |',
          draft: true,
        },
      },
    );
    const pr = opened.createPullRequest.pullRequest;
    expect(pr).toMatchObject({ number: 1, url: `${sim.url}/${REPO}/pull/1`, isDraft: true });
    expect(pr.headRefOid).toBe(commit.createCommitOnBranch.commit.oid);
    // A second pull request for the same branches is refused, as GitHub does.
    await expectGraphQLError(
      gql(
        `mutation($input: CreatePullRequestInput!) { createPullRequest(input: $input) { pullRequest { id } } }`,
        {
          input: {
            repositoryId: repo.repository.id,
            baseRefName: 'main',
            headRefName: 'release-ccccccc',
            title: 'dup',
          },
        },
      ),
      'UNPROCESSABLE',
    );

    const lookups = await gql<{
      user: { id: string };
      organization: { team: { id: string } };
    }>(
      `{ user(login: "alice") { id } organization(login: "acme") { team(slug: "platform") { id } } }`,
    );
    const label = await gql<{ createLabel: { label: { id: string } } }>(
      `mutation($input: CreateLabelInput!) { createLabel(input: $input) { label { id } } }`,
      { input: { repositoryId: repo.repository.id, name: 'release', color: '0e8a16' } },
    );
    // Several mutations in one document run in order.
    await gql(
      `mutation($pr: ID!, $label: ID!, $user: ID!, $team: ID!) {
        a: addLabelsToLabelable(input: { labelableId: $pr, labelIds: [$label] }) { clientMutationId }
        b: addAssigneesToAssignable(input: { assignableId: $pr, assigneeIds: [$user] }) { clientMutationId }
        c: requestReviews(input: { pullRequestId: $pr, userIds: [$user], teamIds: [$team], union: true }) { clientMutationId }
        d: enablePullRequestAutoMerge(input: { pullRequestId: $pr, mergeMethod: SQUASH }) { pullRequest { autoMergeRequest { mergeMethod } } }
        e: updatePullRequest(input: { pullRequestId: $pr, title: "Release web ccccccc (2 images)" }) { pullRequest { title } }
      }`,
      {
        pr: pr.id,
        label: label.createLabel.label.id,
        user: lookups.user.id,
        team: lookups.organization.team.id,
      },
    );
    const found = await gql<{
      repository: {
        pullRequests: {
          totalCount: number;
          nodes: { number: number; title: string; labels: { nodes: { name: string }[] } }[];
        };
      };
    }>(
      `{ repository(owner: "acme", name: "manifests") {
          pullRequests(headRefName: "release-ccccccc", baseRefName: "main", states: [OPEN], labels: ["release"], first: 10, orderBy: { field: CREATED_AT, direction: DESC }) {
            totalCount nodes { number title labels(first: 10) { nodes { name } } }
          }
        } }`,
    );
    expect(found.repository.pullRequests).toEqual({
      totalCount: 1,
      nodes: [
        {
          number: 1,
          title: 'Release web ccccccc (2 images)',
          labels: { nodes: [{ name: 'release' }] },
        },
      ],
    });
    // Where the pull request could merge at once, GitHub refuses auto-merge.
    sim.setAutoMerge(REPO, 'clean-status');
    const clean = await expectGraphQLError(
      gql(
        `mutation($pr: ID!) { enablePullRequestAutoMerge(input: { pullRequestId: $pr }) { clientMutationId } }`,
        { pr: pr.id },
      ),
      'UNPROCESSABLE',
    );
    expect(clean.message).toContain('Pull request is in clean status');
    sim.setAutoMerge(REPO, 'allowed');
    // GitHub insists on a page size.
    await expectGraphQLError(
      gql(
        `{ repository(owner: "acme", name: "manifests") { pullRequests(states: [OPEN]) { totalCount } } }`,
      ),
      'MISSING_PAGINATION_BOUNDARIES',
    );

    await gql(
      `mutation($pr: ID!) {
        addComment(input: { subjectId: $pr, body: "Superseded by #2" }) { commentEdge { node { url } } }
        closePullRequest(input: { pullRequestId: $pr }) { pullRequest { state } }
      }`,
      { pr: pr.id },
    );
    const [view] = sim.pullRequests(REPO);
    expect(view).toMatchObject({
      number: 1,
      state: 'closed',
      draft: true,
      labels: ['release'],
      assignees: ['alice'],
      reviewers: ['alice'],
      teamReviewers: ['platform'],
      autoMerge: { mergeMethod: 'squash' },
      comments: [{ body: 'Superseded by #2', user: 'github-actions[bot]' }],
      headSha: commit.createCommitOnBranch.commit.oid,
    });
  });

  it('lets exactly one of concurrent writers win each compare-and-swap: ten writers, no update lost', async () => {
    await sim.createRepo('acme/race', { 'images.txt': '' });
    const read = `query($expr: String!) { repository(owner: "acme", name: "race") {
      defaultBranchRef { target { oid } } file: object(expression: $expr) { ... on Blob { text } } } }`;
    const write = `mutation($input: CreateCommitOnBranchInput!) { createCommitOnBranch(input: $input) { commit { oid } } }`;
    let stale = 0;
    const writer = async (i: number) => {
      for (;;) {
        const r = await gql<{
          repository: { defaultBranchRef: { target: { oid: string } }; file: { text: string } };
        }>(read, {
          expr: 'main:images.txt',
        });
        try {
          await gql(write, {
            input: {
              branch: { repositoryNameWithOwner: 'acme/race', branchName: 'main' },
              expectedHeadOid: r.repository.defaultBranchRef.target.oid,
              message: { headline: `writer ${i}` },
              fileChanges: {
                additions: [
                  {
                    path: 'images.txt',
                    contents: Buffer.from(`${r.repository.file.text}image-${i}\n`).toString(
                      'base64',
                    ),
                  },
                ],
              },
            },
          });
          return;
        } catch (error) {
          if (!(error instanceof GraphqlResponseError) || error.errors?.[0]?.type !== 'STALE_DATA')
            throw error;
          stale++;
        }
      }
    };
    await Promise.all(Array.from({ length: 10 }, (_, i) => writer(i)));
    const lines = (await sim.readFile('acme/race', 'main', 'images.txt'))!
      .trim()
      .split('\n')
      .sort();
    expect(lines).toEqual(Array.from({ length: 10 }, (_, i) => `image-${i}`).sort());
    const count = await git([
      '--git-dir',
      sim.repoPath('acme/race'),
      'rev-list',
      '--count',
      'main',
    ]);
    expect(Number(count)).toBe(11);
    expect(stale).toBeGreaterThan(0);
    await git(['--git-dir', sim.repoPath('acme/race'), 'fsck', '--strict', '--no-progress']);
  });

  it('validates documents against GitHub schema and logs the refusal', async () => {
    const from = sim.requests.length;
    const error = await gql(
      `{ repository(owner: "acme", name: "manifests") { noSuchField } }`,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GraphqlResponseError);
    expect((error as Error).message).toContain('noSuchField');
    expect(sim.requests[from]?.invalid).toContain('noSuchField');
  });
});

describe('REST', () => {
  it('reads contents (file, raw and directory), a ref, a recursive tree and a commit', async () => {
    const head = (await sim.branchHead(REPO, 'main'))!;
    const ref = await rest.git.getRef({ owner: 'acme', repo: 'manifests', ref: 'heads/main' });
    expect(ref.data.object.sha).toBe(head);
    const file = await rest.repos.getContent({
      owner: 'acme',
      repo: 'manifests',
      path: 'base/deployment.yaml',
      ref: 'main',
    });
    expect(Array.isArray(file.data)).toBe(false);
    const content = file.data as {
      content: string;
      encoding: string;
      sha: string;
      html_url: string;
    };
    expect(Buffer.from(content.content, 'base64').toString()).toBe(deployment('1.0.0'));
    expect(content.html_url).toBe(`${sim.url}/${REPO}/blob/main/base/deployment.yaml`);
    const raw = await rest.repos.getContent({
      owner: 'acme',
      repo: 'manifests',
      path: 'base/deployment.yaml',
      mediaType: { format: 'raw' },
    });
    expect(String(raw.data)).toBe(deployment('1.0.0'));
    const dir = await rest.repos.getContent({ owner: 'acme', repo: 'manifests', path: 'base' });
    expect((dir.data as { name: string; type: string }[]).map((e) => [e.name, e.type])).toEqual([
      ['deployment.yaml', 'file'],
      ['kustomization.yaml', 'file'],
    ]);
    const tree = await rest.git.getTree({
      owner: 'acme',
      repo: 'manifests',
      tree_sha: head,
      recursive: '1',
    });
    expect(tree.data.tree.map((e) => e.path)).toContain('overlays/staging/kustomization.yaml');
    const commit = await rest.git.getCommit({ owner: 'acme', repo: 'manifests', commit_sha: head });
    expect(commit.data.sha).toBe(head);
    // Over 1 MB the JSON answer carries no content, as on GitHub; raw still does.
    const big = `${'x'.repeat(1024 * 1024)}\n`;
    await sim.commit(REPO, 'big', { 'big.txt': big }, 'big file');
    const bigJson = await rest.repos.getContent({
      owner: 'acme',
      repo: 'manifests',
      path: 'big.txt',
      ref: 'big',
    });
    expect(bigJson.data).toMatchObject({ content: '', encoding: 'none', size: big.length });
    const bigRaw = await rest.repos.getContent({
      owner: 'acme',
      repo: 'manifests',
      path: 'big.txt',
      ref: 'big',
      mediaType: { format: 'raw' },
    });
    expect(String(bigRaw.data)).toBe(big);
    const missing = await status(
      rest.repos.getContent({ owner: 'acme', repo: 'manifests', path: 'nope' }),
    );
    expect(missing.status).toBe(404);
  });

  it('commits through tree, commit and ref; a ref update that is not a fast-forward is refused', async () => {
    const head = (await sim.branchHead(REPO, 'main'))!;
    const parent = await rest.git.getCommit({ owner: 'acme', repo: 'manifests', commit_sha: head });
    const tree = await rest.git.createTree({
      owner: 'acme',
      repo: 'manifests',
      base_tree: parent.data.tree.sha,
      tree: [
        {
          path: 'overlays/staging/kustomization.yaml',
          mode: '100644',
          type: 'blob',
          content: kustomization('ddddddd'),
        },
      ],
    });
    const commit = await rest.git.createCommit({
      owner: 'acme',
      repo: 'manifests',
      message: 'Release web ddddddd',
      tree: tree.data.sha,
      parents: [head],
    });
    expect(commit.data.verification.verified).toBe(true);
    // A sibling commit (same parent) cannot replace main without force.
    const sibling = await rest.git.createCommit({
      owner: 'acme',
      repo: 'manifests',
      message: 'sibling',
      tree: tree.data.sha,
      parents: [parent.data.parents[0]!.sha],
    });
    await rest.git.updateRef({
      owner: 'acme',
      repo: 'manifests',
      ref: 'heads/main',
      sha: commit.data.sha,
      force: false,
    });
    const refused = await status(
      rest.git.updateRef({
        owner: 'acme',
        repo: 'manifests',
        ref: 'heads/main',
        sha: sibling.data.sha,
        force: false,
      }),
    );
    expect(refused.status).toBe(422);
    expect(refused.data).toMatchObject({ message: 'Update is not a fast forward' });
    expect(await sim.branchHead(REPO, 'main')).toBe(commit.data.sha);
    expect(await sim.readFile(REPO, 'main', 'overlays/staging/kustomization.yaml')).toBe(
      kustomization('ddddddd'),
    );
    // Untouched files keep their blobs: base_tree was honoured.
    expect(await sim.readFile(REPO, 'main', 'base/deployment.yaml')).toBe(deployment('1.0.0'));
    await rest.git.createRef({
      owner: 'acme',
      repo: 'manifests',
      ref: 'refs/heads/release-eeeeeee',
      sha: commit.data.sha,
    });
    const exists = await status(
      rest.git.createRef({
        owner: 'acme',
        repo: 'manifests',
        ref: 'refs/heads/release-eeeeeee',
        sha: commit.data.sha,
      }),
    );
    expect(exists).toMatchObject({ status: 422, data: { message: 'Reference already exists' } });
  });

  it('opens, lists, updates and closes a pull request with labels, reviewers, assignees and a comment', async () => {
    // GitHub's defaults refuse these; this repository is set up as a team on a paid plan would.
    sim.setAutoMerge(REPO, 'allowed');
    sim.setDrafts(REPO, true);
    for (const login of ['alice', 'bob', 'carol', 'dana']) sim.addCollaborator(REPO, login);
    sim.addTeam(REPO, 'platform');
    await sim.commit(
      REPO,
      'release-eeeeeee',
      { 'overlays/staging/kustomization.yaml': kustomization('eeeeeee') },
      'Release web eeeeeee',
    );
    const created = await rest.pulls.create({
      owner: 'acme',
      repo: 'manifests',
      head: 'release-eeeeeee',
      base: 'main',
      title: 'Release web eeeeeee',
      body: 'body',
    });
    expect(created.status).toBe(201);
    expect(created.data.html_url).toBe(`${sim.url}/${REPO}/pull/${created.data.number}`);
    expect(created.data.commits).toBe(1);
    const dup = await status(
      rest.pulls.create({
        owner: 'acme',
        repo: 'manifests',
        head: 'acme:release-eeeeeee',
        base: 'main',
        title: 'dup',
      }),
    );
    expect(dup.status).toBe(422);
    expect(JSON.stringify(dup.data)).toContain(
      'A pull request already exists for acme:release-eeeeeee.',
    );
    const listed = await rest.pulls.list({
      owner: 'acme',
      repo: 'manifests',
      head: 'acme:release-eeeeeee',
      state: 'open',
    });
    expect(listed.data.map((p) => p.number)).toEqual([created.data.number]);
    const number = created.data.number;
    const labels = await rest.issues.addLabels({
      owner: 'acme',
      repo: 'manifests',
      issue_number: number,
      labels: ['release', 'staging'],
    });
    expect(labels.data.map((l) => l.name)).toEqual(['release', 'staging']);
    const reviewers = await rest.pulls.requestReviewers({
      owner: 'acme',
      repo: 'manifests',
      pull_number: number,
      reviewers: ['bob'],
      team_reviewers: ['platform'],
    });
    expect(reviewers.data.requested_reviewers?.map((u) => u.login)).toEqual(['bob']);
    const assigned = await rest.issues.addAssignees({
      owner: 'acme',
      repo: 'manifests',
      issue_number: number,
      assignees: ['carol'],
    });
    expect(assigned.data.assignees?.map((u) => u.login)).toEqual(['carol']);
    const comment = await rest.issues.createComment({
      owner: 'acme',
      repo: 'manifests',
      issue_number: number,
      body: 'Superseded',
    });
    expect(comment.data.html_url).toContain(`/pull/${number}#issuecomment-`);
    const updated = await rest.pulls.update({
      owner: 'acme',
      repo: 'manifests',
      pull_number: number,
      body: 'new body',
      state: 'closed',
    });
    expect(updated.data).toMatchObject({ state: 'closed', body: 'new body' });
    expect(
      (await rest.pulls.list({ owner: 'acme', repo: 'manifests', head: 'acme:release-eeeeeee' }))
        .data,
    ).toEqual([]);
    // Reopened: fine while it is the only one for its branch; refused once another is open.
    await rest.pulls.update({
      owner: 'acme',
      repo: 'manifests',
      pull_number: number,
      state: 'open',
    });
    await rest.pulls.update({
      owner: 'acme',
      repo: 'manifests',
      pull_number: number,
      state: 'closed',
    });
    const second = await rest.pulls.create({
      owner: 'acme',
      repo: 'manifests',
      head: 'release-eeeeeee',
      base: 'main',
      title: 'again',
    });
    const reopen = await status(
      rest.pulls.update({ owner: 'acme', repo: 'manifests', pull_number: number, state: 'open' }),
    );
    expect(reopen.status).toBe(422);
    await rest.pulls.update({
      owner: 'acme',
      repo: 'manifests',
      pull_number: second.data.number,
      state: 'closed',
    });
    // Link headers as GitHub sends them: paginate walks every page.
    const all = await rest.paginate(rest.pulls.list, {
      owner: 'acme',
      repo: 'manifests',
      state: 'all',
      per_page: 1,
    });
    expect(all.map((p) => p.number).sort((a, b) => a - b)).toEqual([1, number, second.data.number]);
  });

  it('opens one pull request when several creations for the same branch race', async () => {
    await sim.commit(REPO, 'release-race', { 'race.txt': 'r\n' }, 'race');
    const { repository } = await gql<{ repository: { id: string } }>(
      '{ repository(owner: "acme", name: "manifests") { id } }',
    );
    const viaRest = () =>
      status(
        rest.pulls.create({
          owner: 'acme',
          repo: 'manifests',
          head: 'release-race',
          base: 'main',
          title: 'race',
        }),
      );
    const viaGraphQL = () =>
      gql(
        `mutation($input: CreatePullRequestInput!) { createPullRequest(input: $input) { pullRequest { number } } }`,
        {
          input: {
            repositoryId: repository.id,
            baseRefName: 'main',
            headRefName: 'release-race',
            title: 'race',
          },
        },
      ).then(
        () => ({ status: 201 }),
        (e: GraphqlResponseError<unknown>) => ({
          status: e.errors?.[0]?.type === 'UNPROCESSABLE' ? 422 : 500,
        }),
      );
    const outcomes = await Promise.all([
      viaRest(),
      viaGraphQL(),
      viaRest(),
      viaGraphQL(),
      viaRest(),
    ]);
    const opened = sim
      .pullRequests(REPO)
      .filter((p) => p.head === 'release-race' && p.state === 'open');
    expect(opened).toHaveLength(1);
    // The winner answered 201 (pulls.create) or 200 (octokit's status for a resolved call here).
    expect(outcomes.filter((o) => o.status === 422)).toHaveLength(4);
  });

  it('merges a pull request as a person would: a real three-way merge, shown merged everywhere', async () => {
    await sim.createRepo('acme/merging', { 'app.yaml': 'tag: a\n', 'other.yaml': 'x: 1\n' });
    await sim.commit('acme/merging', 'release-b', { 'app.yaml': 'tag: b\n' }, 'Release b');
    await sim.commit('acme/merging', 'main', { 'other.yaml': 'x: 2\n' }, 'Someone else');
    const pr = await rest.pulls.create({
      owner: 'acme',
      repo: 'merging',
      head: 'release-b',
      base: 'main',
      title: 'Release b',
    });
    const merge = await sim.mergePullRequest('acme/merging', pr.data.number);
    expect(await sim.readFile('acme/merging', 'main', 'app.yaml')).toBe('tag: b\n');
    expect(await sim.readFile('acme/merging', 'main', 'other.yaml')).toBe('x: 2\n');
    const [top] = await sim.commits('acme/merging', 'main', 1);
    expect(top).toMatchObject({ sha: merge, verified: true });
    expect(top?.parents).toHaveLength(2);
    const got = await rest.pulls.get({
      owner: 'acme',
      repo: 'merging',
      pull_number: pr.data.number,
    });
    expect(got.data).toMatchObject({ state: 'closed', merged: true, merge_commit_sha: merge });
    const viaGraphQL = await gql<{
      repository: { pullRequests: { nodes: { number: number; state: string }[] } };
    }>(
      '{ repository(owner: "acme", name: "merging") { pullRequests(states: [MERGED], first: 5) { nodes { number state } } } }',
    );
    expect(viaGraphQL.repository.pullRequests.nodes).toEqual([
      { number: pr.data.number, state: 'MERGED' },
    ]);
    // Two edits of one line conflict, as in git.
    await sim.commit('acme/merging', 'release-c', { 'app.yaml': 'tag: c\n' }, 'Release c');
    await sim.commit('acme/merging', 'main', { 'app.yaml': 'tag: hotfix\n' }, 'Hotfix');
    const conflicting = await rest.pulls.create({
      owner: 'acme',
      repo: 'merging',
      head: 'release-c',
      base: 'main',
      title: 'Release c',
    });
    await expect(sim.mergePullRequest('acme/merging', conflicting.data.number)).rejects.toThrow(
      /conflict/i,
    );
    expect(await sim.readFile('acme/merging', 'main', 'app.yaml')).toBe('tag: hotfix\n');
  });

  it('compares commits: ahead, behind, identical, diverged, with messages and authors', async () => {
    const base = (await sim.branchHead(REPO, 'main'))!;
    await sim.commit(REPO, 'app-a', { 'a.txt': '1\n' }, 'feat: first\n\nbody', { author: 'dev' });
    await sim.commit(REPO, 'app-a', { 'a.txt': '2\n' }, 'fix: second @mention');
    const ahead = await rest.repos.compareCommitsWithBasehead({
      owner: 'acme',
      repo: 'manifests',
      basehead: `${base}...app-a`,
    });
    expect(ahead.data).toMatchObject({
      status: 'ahead',
      ahead_by: 2,
      behind_by: 0,
      total_commits: 2,
    });
    expect(ahead.data.commits.map((c) => c.commit.message)).toEqual([
      'feat: first\n\nbody',
      'fix: second @mention',
    ]);
    expect(ahead.data.commits[0]?.author?.login).toBe('dev');
    expect(ahead.data.html_url).toBe(`${sim.url}/${REPO}/compare/${base}...app-a`);
    const behind = await rest.repos.compareCommitsWithBasehead({
      owner: 'acme',
      repo: 'manifests',
      basehead: `app-a...${base}`,
    });
    expect(behind.data).toMatchObject({ status: 'behind', ahead_by: 0, behind_by: 2 });
    const same = await rest.repos.compareCommitsWithBasehead({
      owner: 'acme',
      repo: 'manifests',
      basehead: `${base}...${base}`,
    });
    expect(same.data.status).toBe('identical');
    await sim.commit(REPO, 'main', { 'b.txt': 'b\n' }, 'main moves');
    const diverged = await rest.repos.compareCommitsWithBasehead({
      owner: 'acme',
      repo: 'manifests',
      basehead: 'main...app-a',
    });
    expect(diverged.data).toMatchObject({ status: 'diverged', ahead_by: 2, behind_by: 1 });
  });

  it('refuses requests that break GitHub OpenAPI description with 422 and logs them', async () => {
    const from = sim.requests.length;
    const bad = await status(
      rest.request('POST /repos/{owner}/{repo}/git/refs', {
        owner: 'acme',
        repo: 'manifests',
        ref: 'refs/heads/x',
      } as never),
    );
    expect(bad.status).toBe(422);
    expect(String((bad.data as { message: string }).message)).toContain(
      "must have required property 'sha'",
    );
    const wrongType = await status(
      rest.request('PATCH /repos/{owner}/{repo}/git/refs/{ref}', {
        owner: 'acme',
        repo: 'manifests',
        ref: 'heads/main',
        sha: 'x',
        force: 'yes',
      } as never),
    );
    expect(wrongType.status).toBe(422);
    expect(sim.requests.slice(from).map((r) => Boolean(r.invalid))).toEqual([true, true]);
    expect(await sim.branchHead(REPO, 'x')).toBeUndefined();
  });
});

describe('tokens, faults and the log', () => {
  it('answers 401 Bad credentials, 403 for a read-only token, 404 for a token without access', async () => {
    const bad = await status(
      new Octokit({ log: quiet, baseUrl: sim.url, auth: 'ghs_wrong' }).repos.get({
        owner: 'acme',
        repo: 'manifests',
      }),
    );
    expect(bad).toMatchObject({ status: 401, data: { message: 'Bad credentials' } });
    const reader = new Octokit({ log: quiet, baseUrl: sim.url, auth: sim.tokens.readOnly });
    expect(
      (await reader.repos.get({ owner: 'acme', repo: 'manifests' })).data.permissions?.push,
    ).toBe(false);
    const head = (await sim.branchHead(REPO, 'main'))!;
    const forbidden = await status(
      reader.git.createRef({ owner: 'acme', repo: 'manifests', ref: 'refs/heads/nope', sha: head }),
    );
    expect(forbidden).toMatchObject({
      status: 403,
      data: { message: 'Resource not accessible by integration' },
    });
    expect(forbidden.headers['x-accepted-github-permissions']).toBe('contents=write');
    const readerGql = graphql.defaults({
      baseUrl: sim.url,
      headers: { authorization: `bearer ${sim.tokens.readOnly}` },
    });
    await expectGraphQLError(
      readerGql(
        `mutation($input: CreateCommitOnBranchInput!) { createCommitOnBranch(input: $input) { commit { oid } } }`,
        {
          input: {
            branch: { repositoryNameWithOwner: REPO, branchName: 'main' },
            expectedHeadOid: head,
            message: { headline: 'x' },
          },
        },
      ),
      'FORBIDDEN',
    );
    const stranger = new Octokit({ log: quiet, baseUrl: sim.url, auth: sim.tokens.noAccess });
    expect((await status(stranger.repos.get({ owner: 'acme', repo: 'manifests' }))).status).toBe(
      404,
    );
    const strangerGql = graphql.defaults({
      baseUrl: sim.url,
      headers: { authorization: `token ${sim.tokens.noAccess}` },
    });
    const nf = await expectGraphQLError(
      strangerGql(`{ repository(owner: "acme", name: "manifests") { id } }`),
      'NOT_FOUND',
    );
    expect(nf.message).toContain(
      "Could not resolve to a Repository with the name 'acme/manifests'.",
    );
    expect(await sim.branchHead(REPO, 'main')).toBe(head);
  });

  it('answers a secondary rate limit as GitHub does, then 502s, then serves again', async () => {
    sim.rateLimitNext(1, 7);
    const limited = await status(rest.repos.get({ owner: 'acme', repo: 'manifests' }));
    expect(limited.status).toBe(403);
    expect(limited.headers['retry-after']).toBe('7');
    expect((limited.data as { message: string }).message).toMatch(/secondary rate limit/);
    sim.exhaustRateLimitNext(1, 30);
    const exhausted = await status(rest.repos.get({ owner: 'acme', repo: 'manifests' }));
    expect(exhausted.status).toBe(403);
    expect(exhausted.headers['x-ratelimit-remaining']).toBe('0');
    expect(Number(exhausted.headers['x-ratelimit-reset'])).toBeGreaterThan(Date.now() / 1000 + 20);
    sim.failNext(2, 502);
    expect((await status(rest.repos.get({ owner: 'acme', repo: 'manifests' }))).status).toBe(502);
    expect((await status(gql('{ viewer { login } }'))).status).toBe(502);
    expect((await rest.repos.get({ owner: 'acme', repo: 'manifests' })).status).toBe(200);
    expect(sim.requests.slice(-5).map((r) => [r.status, r.fault])).toEqual([
      [403, 'rate-limit'],
      [403, 'rate-limit'],
      [502, 'fail'],
      [502, 'fail'],
      [200, undefined],
    ]);
  });

  it('adds latency and counts round trips', async () => {
    const from = sim.requests.length;
    sim.setLatency(120);
    const started = performance.now();
    await rest.repos.get({ owner: 'acme', repo: 'manifests' });
    const elapsed = performance.now() - started;
    sim.setLatency(0);
    expect(elapsed).toBeGreaterThanOrEqual(115);
    await gql('query One { viewer { login } }');
    await gql(
      'mutation Two($id: ID!) { closePullRequest(input: { pullRequestId: $id }) { clientMutationId } }',
      {
        id: 'PR_kwDOx',
      },
    ).catch(() => undefined);
    expect(
      sim.requests.slice(from).map((r) => [r.kind, r.method, r.operationName, r.write]),
    ).toEqual([
      ['rest', 'GET', undefined, false],
      ['graphql', 'POST', 'One', false],
      ['graphql', 'POST', 'Two', true],
    ]);
  });

  it('serves a bare repository made elsewhere', async () => {
    const bare = join(work, 'elsewhere.git');
    await git(['init', '--quiet', '--bare', '--initial-branch=trunk', bare]);
    const seed = join(work, 'seed');
    await git(['clone', '--quiet', bare, seed]);
    await git(['-C', seed, 'checkout', '--quiet', '-b', 'trunk']);
    await git([
      '-C',
      seed,
      '-c',
      'user.name=t',
      '-c',
      'user.email=t@example.com',
      'commit',
      '--quiet',
      '--allow-empty',
      '-m',
      'seed',
    ]);
    await git(['-C', seed, 'push', '--quiet', 'origin', 'trunk']);
    sim.adoptRepo('acme/elsewhere', bare, { defaultBranch: 'trunk' });
    const repo = await rest.repos.get({ owner: 'acme', repo: 'elsewhere' });
    expect(repo.data.default_branch).toBe('trunk');
    const head = await rest.git.getRef({ owner: 'acme', repo: 'elsewhere', ref: 'heads/trunk' });
    expect(head.data.object.sha).toBe((await git(['-C', seed, 'rev-parse', 'HEAD'])).trim());

    // Objects borrowed after the simulator started reading (alternates, as a benchmark does).
    const { path } = await sim.createRepo('acme/borrower', { 'x.txt': 'x\n' });
    await rest.git.getRef({ owner: 'acme', repo: 'borrower', ref: 'heads/main' });
    await writeFile(join(path, 'objects/info/alternates'), `${join(bare, 'objects')}\n`);
    await git(['--git-dir', path, 'update-ref', 'refs/heads/main', head.data.object.sha]);
    const moved = await rest.git.getRef({ owner: 'acme', repo: 'borrower', ref: 'heads/main' });
    expect(moved.data.object.sha).toBe(head.data.object.sha);
  });

  it('serves GitHub Enterprise paths, and 404s GraphQL when it is switched off', async () => {
    const ghes = new Octokit({ log: quiet, baseUrl: sim.enterpriseUrl, auth: sim.tokens.write });
    const repo = await ghes.repos.get({ owner: 'acme', repo: 'manifests' });
    expect(repo.data.url).toBe(`${sim.enterpriseUrl}/repos/${REPO}`);
    const ghesGql = graphql.defaults({
      baseUrl: sim.enterpriseUrl,
      headers: { authorization: `token ${sim.tokens.write}` },
    });
    expect(await ghesGql<{ viewer: { login: string } }>('{ viewer { login } }')).toEqual({
      viewer: { login: 'github-actions[bot]' },
    });
    sim.setGraphqlEnabled(false);
    try {
      expect((await status(ghesGql('{ viewer { login } }'))).status).toBe(404);
    } finally {
      sim.setGraphqlEnabled(true);
    }
  });
});

/** Keys of a recorded GitHub answer that ours lacks, recursively (arrays: their first item). */
function missingKeys(recorded: unknown, ours: unknown, at = ''): string[] {
  if (Array.isArray(recorded)) {
    return Array.isArray(ours) && recorded.length && ours.length
      ? missingKeys(recorded[0], ours[0], `${at}[0]`)
      : [];
  }
  if (!recorded || typeof recorded !== 'object') return [];
  if (!ours || typeof ours !== 'object') return [at || '(root)'];
  const missing: string[] = [];
  for (const [key, value] of Object.entries(recorded)) {
    const path = at ? `${at}.${key}` : key;
    if (!(key in ours)) missing.push(path);
    else if (value && typeof value === 'object')
      missing.push(...missingKeys(value, (ours as Record<string, unknown>)[key], path));
  }
  return missing;
}

function recorded(scenario: string, method: string, pathEnd: string): unknown {
  const require = createRequire(import.meta.url);
  const file = require.resolve(
    `@octokit/fixtures/scenarios/api.github.com/${scenario}/normalized-fixture.json`,
  );
  const calls = JSON.parse(readFileSync(file, 'utf8')) as {
    method: string;
    path: string;
    response: unknown;
  }[];
  const call = calls.find((c) => c.method === method && c.path.endsWith(pathEnd));
  if (!call) throw new Error(`no recorded ${method} …${pathEnd} in ${scenario}`);
  return call.response;
}

describe("the shape of GitHub's recorded answers (@octokit/fixtures)", () => {
  it('has every field GitHub recorded for a repository, a ref, a label, an issue and a directory', async () => {
    const repo = await rest.repos.get({ owner: 'acme', repo: 'manifests' });
    const head = (await sim.branchHead(REPO, 'main'))!;
    const ref = await rest.git.createRef({
      owner: 'acme',
      repo: 'manifests',
      ref: 'refs/heads/shape',
      sha: head,
    });
    const moved = await rest.git.updateRef({
      owner: 'acme',
      repo: 'manifests',
      ref: 'heads/shape',
      sha: head,
      force: true,
    });
    const dir = await rest.repos.getContent({ owner: 'acme', repo: 'manifests', path: '' });
    await sim.commit(REPO, 'shape-pr', { 'shape.txt': 's\n' }, 'shape');
    const pr = await rest.pulls.create({
      owner: 'acme',
      repo: 'manifests',
      head: 'shape-pr',
      base: 'main',
      title: 'shape',
    });
    const labels = await rest.issues.addLabels({
      owner: 'acme',
      repo: 'manifests',
      issue_number: pr.data.number,
      labels: ['shape'],
    });
    const issue = await rest.issues.addAssignees({
      owner: 'acme',
      repo: 'manifests',
      issue_number: pr.data.number,
      assignees: ['dana'],
    });
    const checks: [string, unknown, unknown][] = [
      ['repository', recorded('get-repository', 'get', '/hello-world'), repo.data],
      ['created ref', recorded('git-refs', 'post', '/git/refs'), ref.data],
      ['updated ref', recorded('git-refs', 'patch', '/git/refs/heads/test'), moved.data],
      ['directory', recorded('get-content', 'get', '/contents/'), dir.data],
      ['labels', recorded('add-labels-to-issue', 'post', '/issues/1/labels'), labels.data],
      ['issue', recorded('add-labels-to-issue', 'post', '/add-labels-to-issue/issues'), issue.data],
    ];
    const missing = checks.flatMap(([name, rec, ours]) =>
      missingKeys(rec, ours).map((k) => `${name}: ${k}`),
    );
    expect(missing).toEqual([]);
  });
});
