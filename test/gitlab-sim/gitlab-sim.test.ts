// The GitLab simulator held to GitLab's documented behaviour, spoken to as a client would.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GitLabSimulator, startGitLabSimulator } from './index.js';

let sim: GitLabSimulator;
let n = 0;

async function call(method: string, path: string, body?: unknown, token = sim.tokens.write) {
  const res = await fetch(`${sim.url}/api/v4${path}`, {
    method,
    headers: { 'PRIVATE-TOKEN': token, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function project() {
  const path = `acme/sim-${++n}`;
  const { head } = await sim.createProject(path, {
    'a.yaml': 'a: 1\n',
    'b.yaml': 'b: 1\n',
    'dir/c.yaml': 'c: 1\n',
  });
  sim.unprotectBranch(path, 'main');
  return { path, id: encodeURIComponent(path), head };
}

const update = (file: string, content: string, last?: string) => ({
  action: 'update',
  file_path: file,
  content,
  ...(last ? { last_commit_id: last } : {}),
});

beforeAll(async () => {
  sim = await startGitLabSimulator();
});
afterAll(async () => {
  await sim?.close();
});

describe('GitLab simulator: the Commits API', () => {
  it("checks last_commit_id as GitLab does: the file's last commit passes, a stale one is refused, an unknown one passes", async () => {
    const p = await project();
    const first = await call('POST', `/projects/${p.id}/repository/commits`, {
      branch: 'main',
      commit_message: 'b changes',
      actions: [update('b.yaml', 'b: 2\n')],
    });
    expect(first.status).toBe(201);
    const bSha = first.body.id as string;
    expect(first.body.parent_ids).toEqual([p.head]);
    // a.yaml's own last commit is still the first one: the id passes although main moved.
    const ok = await call('POST', `/projects/${p.id}/repository/commits`, {
      branch: 'main',
      commit_message: 'a changes',
      actions: [update('a.yaml', 'a: 2\n', p.head)],
    });
    expect(ok.status).toBe(201);
    // b.yaml changed after p.head: the write is refused with GitLab's words, HTTP 400.
    const stale = await call('POST', `/projects/${p.id}/repository/commits`, {
      branch: 'main',
      commit_message: 'stale',
      actions: [update('b.yaml', 'b: 3\n', p.head)],
    });
    expect(stale).toEqual({
      status: 400,
      body: { message: 'The file has changed since you started editing it: b.yaml' },
    });
    // The branch head passes too (its last commit for the path is b's), as GitLab ≥ 15 compares.
    const byHead = await call('POST', `/projects/${p.id}/repository/commits`, {
      branch: 'main',
      commit_message: 'by head',
      actions: [update('b.yaml', 'b: 4\n', ok.body.id as string)],
    });
    expect(byHead.status).toBe(201);
    // An id GitLab cannot resolve is "no information": the write goes through.
    const unknown = await call('POST', `/projects/${p.id}/repository/commits`, {
      branch: 'main',
      commit_message: 'unknown',
      actions: [update('b.yaml', 'b: 5\n', '0123456789012345678901234567890123456789')],
    });
    expect(unknown.status).toBe(201);
    expect(await sim.readFile(p.path, 'main', 'b.yaml')).toBe('b: 5\n');
    expect(bSha).toMatch(/^[0-9a-f]{40}$/);
  });

  it('refuses start_sha onto an existing branch unless forced; force rebuilds it from start_sha', async () => {
    const p = await project();
    const make = (force?: boolean) =>
      call('POST', `/projects/${p.id}/repository/commits`, {
        branch: 'release-1',
        start_sha: p.head,
        commit_message: 'release',
        actions: [update('a.yaml', 'a: 9\n')],
        ...(force ? { force: true } : {}),
      });
    expect((await make()).status).toBe(201);
    expect(await make()).toEqual({
      status: 400,
      body: {
        message:
          "A branch called 'release-1' already exists. Switch to that branch in order to make changes",
      },
    });
    const forced = await make(true);
    expect(forced.status).toBe(201);
    expect(forced.body.parent_ids).toEqual([p.head]);
    const missing = await call('POST', `/projects/${p.id}/repository/commits`, {
      branch: 'gone',
      commit_message: 'x',
      actions: [update('a.yaml', 'x\n')],
    });
    expect(missing).toEqual({
      status: 400,
      body: { message: 'You can only create or edit files when you are on a branch' },
    });
    const noFile = await call('POST', `/projects/${p.id}/repository/commits`, {
      branch: 'main',
      commit_message: 'x',
      actions: [update('nope.yaml', 'x\n')],
    });
    expect(noFile).toEqual({
      status: 400,
      body: { message: "A file with this name doesn't exist" },
    });
  });

  it("answers refusals with GitLab's status and body", async () => {
    const p = await project();
    const body = { branch: 'main', commit_message: 'x', actions: [update('a.yaml', 'x\n')] };
    expect(
      await call('POST', `/projects/${p.id}/repository/commits`, body, sim.tokens.readOnly),
    ).toEqual({
      status: 403,
      body: {
        error: 'insufficient_scope',
        error_description:
          'The request requires higher privileges than provided by the access token.',
        scope: 'api',
      },
    });
    expect(
      await call('POST', `/projects/${p.id}/repository/commits`, body, sim.tokens.reporter),
    ).toEqual({
      status: 403,
      body: { message: '403 Forbidden - You are not allowed to push into this branch' },
    });
    expect(await call('GET', `/projects/${p.id}`, undefined, 'glpat-unknown')).toEqual({
      status: 401,
      body: { message: '401 Unauthorized' },
    });
    expect(await call('GET', '/projects/acme%2Fnothing-here')).toEqual({
      status: 404,
      body: { message: '404 Project Not Found' },
    });
    // A job token is not a personal token; sent as JOB-TOKEN outside GitLab's allow-list it is ignored.
    const job = await fetch(`${sim.url}/api/v4/projects/${p.id}`, {
      headers: { 'JOB-TOKEN': sim.tokens.job },
    });
    expect(job.status).toBe(404);
    sim.protectBranch(p.path, 'main', 'maintainer');
    expect((await call('POST', `/projects/${p.id}/repository/commits`, body)).status).toBe(403);
  });
});

describe('GitLab simulator: merge requests', () => {
  it('refuses a second open merge request for a branch (409) and guards a merge with sha (409)', async () => {
    const p = await project();
    await sim.commit(p.path, 'topic', { 'a.yaml': 'a: 2\n' });
    const mr = { source_branch: 'topic', target_branch: 'main', title: 'Topic' };
    const made = await call('POST', `/projects/${p.id}/merge_requests`, mr);
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({
      iid: 1,
      state: 'opened',
      draft: false,
      merge_when_pipeline_succeeds: false,
    });
    expect(await call('POST', `/projects/${p.id}/merge_requests`, mr)).toEqual({
      status: 409,
      body: { message: ['Another open merge request already exists for this source branch: !1'] },
    });
    const wrong = await call(
      'PUT',
      `/projects/${p.id}/merge_requests/1/merge`,
      { sha: p.head },
      sim.tokens.maintainer,
    );
    expect(wrong).toEqual({
      status: 409,
      body: { message: `SHA does not match HEAD of source branch: ${made.body.sha}` },
    });
    // auto_merge without a pipeline: not allowed (405), as lib/api/merge_requests.rb decides.
    expect(
      (
        await call(
          'PUT',
          `/projects/${p.id}/merge_requests/1/merge`,
          { auto_merge: true },
          sim.tokens.maintainer,
        )
      ).status,
    ).toBe(405);
    sim.setPipeline(p.path, 'running');
    const auto = await call(
      'PUT',
      `/projects/${p.id}/merge_requests/1/merge`,
      { auto_merge: true, sha: made.body.sha },
      sim.tokens.maintainer,
    );
    expect(auto.body).toMatchObject({ merge_when_pipeline_succeeds: true, state: 'opened' });
    // A new commit on the source branch cancels auto-merge.
    await sim.commit(p.path, 'topic', { 'a.yaml': 'a: 3\n' });
    expect(sim.mergeRequests(p.path)[0]?.autoMerge).toBeNull();
  });
});

describe('GitLab simulator: GraphQL', () => {
  it('serves tree lastCommit for a file path and blobs(paths) at a ref; rejects fields GitLab lacks', async () => {
    const p = await project();
    const b = await sim.commit(p.path, 'main', { 'b.yaml': 'b: 2\n' });
    const q = async (query: string, variables: Record<string, unknown>) =>
      (await fetch(`${sim.url}/api/graphql`, {
        method: 'POST',
        headers: { 'PRIVATE-TOKEN': sim.tokens.readOnly, 'content-type': 'application/json' },
        body: JSON.stringify({ query, variables }),
        // biome-ignore lint/suspicious/noExplicitAny: the answer's shape is whatever the query asks
      }).then((r) => r.json())) as { data?: any; errors?: { message: string }[] };
    const r = await q(
      'query($p: ID!) { project(fullPath: $p) { repository { rootRef head: tree { lastCommit { sha } } a: tree(path: "a.yaml") { lastCommit { sha } } d: tree(path: "dir", recursive: true) { blobs { nodes { path } } } blobs(paths: ["a.yaml", "dir", "nope"]) { nodes { path rawTextBlob } } } } }',
      { p: p.path },
    );
    expect(r.errors).toBeUndefined();
    expect(r.data.project.repository).toEqual({
      rootRef: 'main',
      head: { lastCommit: { sha: b } },
      a: { lastCommit: { sha: p.head } },
      d: { blobs: { nodes: [{ path: 'dir/c.yaml' }] } },
      blobs: { nodes: [{ path: 'a.yaml', rawTextBlob: 'a: 1\n' }] },
    });
    const bad = await q(
      'query($p: ID!) { project(fullPath: $p) { repository { defaultBranchRef { name } } } }',
      { p: p.path },
    );
    expect(bad.errors?.[0]?.message).toMatch(/Cannot query field "defaultBranchRef"/);
    const hidden = await q('query { project(fullPath: "acme/none") { id } }', {});
    expect(hidden.data.project).toBeNull();
  });
});

describe('GitLab simulator: git over HTTP with push options', () => {
  it('opens the merge request seed 002 asks for with -o merge_request.create', async () => {
    const p = await project();
    const work = mkdtempSync(join(tmpdir(), 'gitlab-push-'));
    const url = sim.gitUrl(p.path).replace('http://', `http://oauth2:${sim.tokens.write}@`);
    // Asynchronously: the simulator answers in this process.
    const git = (...args: string[]) =>
      run('git', args, {
        cwd: work,
        env: {
          ...process.env,
          GIT_TERMINAL_PROMPT: '0',
          GIT_AUTHOR_NAME: 'ci',
          GIT_AUTHOR_EMAIL: 'ci@x',
          GIT_COMMITTER_NAME: 'ci',
          GIT_COMMITTER_EMAIL: 'ci@x',
        },
      });
    await git('clone', '-q', url, '.');
    await git('checkout', '-q', '-b', 'release-abc1234');
    writeFileSync(join(work, 'a.yaml'), 'a: 2\n');
    await git('commit', '-qam', 'Release abc1234');
    await git(
      'push',
      '-q',
      '-o',
      'merge_request.create',
      '-o',
      'merge_request.target=main',
      '-o',
      'merge_request.title=Release web abc1234',
      '-o',
      'merge_request.label=release',
      '-o',
      'merge_request.remove_source_branch',
      'origin',
      'release-abc1234',
    );
    expect(sim.mergeRequests(p.path)).toMatchObject([
      {
        source: 'release-abc1234',
        target: 'main',
        title: 'Release web abc1234',
        labels: ['release'],
        removeSourceBranch: true,
        state: 'opened',
      },
    ]);
    // A deploy token or job token that may only read cannot push.
    const reader = sim
      .gitUrl(p.path)
      .replace('http://', `http://gitlab-ci-token:${sim.tokens.job}@`);
    await expect(git('push', '-q', reader, 'HEAD:refs/heads/other')).rejects.toThrow(
      /403|not allowed/,
    );
  });
});
