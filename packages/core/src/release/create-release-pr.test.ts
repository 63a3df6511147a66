import { describe, expect, it } from 'vitest';
import { ReleaseConflictError, ReleaseRetriesExhaustedError } from '../errors.js';
import { parseImageReference } from '../image/reference.js';
import { createReleasePr } from './create-release-pr.js';
import type {
  CommitComparison,
  CommitRequest,
  GitHost,
  PullRequestExtras,
  PullRequestInfo,
  PullRequestRequest,
  ReadRequest,
  RepositorySnapshot,
} from './host.js';

// An in-memory repository implementing the port, to drive the flow's decisions. The hosts
// themselves are tested end to end against the GitHub simulator and git http-backend.
class MemoryHost implements GitHost {
  kind = 'memory';
  repository = 'o/manifests';
  supportsPullRequests = true;
  branches = new Map<string, { sha: string; parents: string[]; files: Record<string, string> }>();
  prs: (PullRequestInfo & { open: boolean; comments: string[] })[] = [];
  writes: string[] = [];
  /** Called before each commit; may move branches to simulate another writer. */
  beforeCommit?: (request: CommitRequest) => void;
  comparisons = new Map<string, CommitComparison>();
  private next = 1;

  constructor(files: Record<string, string>) {
    this.branches.set('main', { sha: this.sha(), parents: [], files });
  }
  sha(): string {
    return (this.next++).toString(16).padStart(40, '0');
  }
  async read(request: ReadRequest): Promise<RepositorySnapshot> {
    const base = request.base ?? 'main';
    const head = this.branches.get(base)!;
    const pick = (files: Record<string, string>) =>
      Object.entries(files)
        .filter(([p]) => request.paths.some((q) => p === q || p.startsWith(`${q}/`)))
        .map(([path, text]) => ({ path, text }));
    const snap: RepositorySnapshot = {
      defaultBranch: 'main',
      base: { name: base, sha: head.sha },
      files: pick(head.files),
    };
    const b = request.branch ? this.branches.get(request.branch) : undefined;
    if (b)
      snap.branch = { name: request.branch!, sha: b.sha, files: pick(b.files), parents: b.parents };
    const pr = this.prs.find((p) => p.open && p.head === request.branch);
    if (pr) snap.pullRequest = { ...pr };
    if (request.openPullRequests)
      snap.openPullRequests = this.prs.filter((p) => p.open).map((p) => ({ ...p }));
    return snap;
  }
  async commit(request: CommitRequest) {
    this.beforeCommit?.(request);
    const current = this.branches.get(request.branch);
    if ((current?.sha ?? null) !== request.observed) {
      throw new ReleaseConflictError(request.branch, 'moved');
    }
    const parent = [...this.branches.values()].find((b) => b.sha === request.parent)!;
    const files = { ...parent.files };
    for (const f of request.files) files[f.path] = f.text;
    const sha = this.sha();
    this.branches.set(request.branch, { sha, parents: [request.parent], files });
    this.writes.push(`commit ${request.branch}`);
    return { sha };
  }
  async upsertPullRequest(request: PullRequestRequest) {
    this.writes.push(request.existing ? 'update-pr' : 'create-pr');
    if (request.existing) {
      const pr = this.prs.find((p) => p.number === request.existing!.number)!;
      Object.assign(pr, { title: request.title, body: request.body });
      return pr;
    }
    const number = this.prs.length + 1;
    const pr = {
      number,
      url: `https://example.test/pull/${number}`,
      head: request.head,
      base: request.base,
      title: request.title,
      body: request.body,
      open: true,
      comments: [] as string[],
    };
    this.prs.push(pr);
    return pr;
  }
  async closePullRequest(pr: PullRequestInfo, comment: string) {
    const found = this.prs.find((p) => p.number === pr.number)!;
    found.open = false;
    found.comments.push(comment);
    this.writes.push(`close ${pr.number}`);
  }
  async compareCommits(request: { base: string; head: string }) {
    return this.comparisons.get(`${request.base}...${request.head}`);
  }
}

const deployment = (image: string) =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: ${image}\n`;

const noWait = { sleep: async () => {}, random: () => 0.5 };

describe('createReleasePr', () => {
  it('opens a pull request from release-{sha} with one commit, then a re-run updates it', async () => {
    const host = new MemoryHost({ 'env/staging/deploy.yaml': deployment('gcr.io/p/web:1111111') });
    const request = {
      images: [parseImageReference('gcr.io/p/web:abc1234')],
      paths: ['env/staging'],
    };
    const first = await createReleasePr(request, host, noWait);
    expect(first).toMatchObject({ result: 'created', branch: 'release-abc1234', base: 'main' });
    expect(first.pullRequest?.number).toBe(1);
    expect(host.branches.get('release-abc1234')?.files['env/staging/deploy.yaml']).toContain(
      'image: gcr.io/p/web:abc1234',
    );
    expect(host.prs[0]?.title).toBe('Release web abc1234');
    expect(host.prs[0]?.body).toContain('`gcr.io/p/web:1111111` | `gcr.io/p/web:abc1234`');
    const again = await createReleasePr(request, host, noWait);
    expect(again).toMatchObject({ result: 'updated', pullRequest: { number: 1 } });
    expect(host.prs).toHaveLength(1);
    expect(host.writes).toEqual(['commit release-abc1234', 'create-pr', 'update-pr']);
  });

  it('writes nothing when the base already deploys the image', async () => {
    const host = new MemoryHost({ 'd.yaml': deployment('gcr.io/p/web:abc1234') });
    const r = await createReleasePr(
      { images: [parseImageReference('gcr.io/p/web:abc1234')], paths: ['d.yaml'] },
      host,
      noWait,
    );
    expect(r.result).toBe('unchanged');
    expect(host.writes).toEqual([]);
  });

  it('re-reads and re-applies when the base moves, keeping the other writer’s change', async () => {
    const host = new MemoryHost({
      'a.yaml': deployment('gcr.io/p/web:1111111'),
      'b.yaml': deployment('gcr.io/p/api:1111111'),
    });
    let moved = false;
    host.beforeCommit = () => {
      if (moved) return;
      moved = true;
      const main = host.branches.get('main')!;
      host.branches.set('main', {
        sha: host.sha(),
        parents: [main.sha],
        files: { ...main.files, 'b.yaml': deployment('gcr.io/p/api:2222222') },
      });
    };
    const delays: number[] = [];
    const r = await createReleasePr(
      {
        images: [parseImageReference('gcr.io/p/web:abc1234')],
        paths: ['a.yaml', 'b.yaml'],
        mode: 'push',
      },
      host,
      { sleep: async (ms) => void delays.push(ms), random: () => 0.5 },
    );
    expect(r).toMatchObject({ result: 'pushed', attempts: 2 });
    expect(delays).toEqual([50]);
    const files = host.branches.get('main')!.files;
    expect(files['a.yaml']).toContain('web:abc1234');
    expect(files['b.yaml']).toContain('api:2222222');
  });

  it('spreads retries over windows as long as an attempt took, doubling each time', async () => {
    const host = new MemoryHost({ 'a.yaml': deployment('gcr.io/p/web:1111111') });
    let refusals = 2;
    host.beforeCommit = (req) => {
      if (refusals-- <= 0) return;
      const b = host.branches.get(req.branch)!;
      host.branches.set(req.branch, { ...b, sha: host.sha() });
    };
    // Each attempt reads the clock twice (start, refusal), 750 ms apart, as on a loaded machine.
    let clock = 0;
    const delays: number[] = [];
    const r = await createReleasePr(
      { images: [parseImageReference('gcr.io/p/web:abc1234')], paths: ['a.yaml'], mode: 'push' },
      host,
      {
        sleep: async (ms) => void delays.push(ms),
        random: () => 0.5,
        now: () => (clock += 750),
      },
    );
    expect(r).toMatchObject({ result: 'pushed', attempts: 3 });
    expect(delays).toEqual([375, 750]);
  });

  it('gives up after the bounded number of attempts', async () => {
    const host = new MemoryHost({ 'a.yaml': deployment('gcr.io/p/web:1111111') });
    host.beforeCommit = (req) => {
      const b = host.branches.get(req.branch)!;
      host.branches.set(req.branch, { ...b, sha: host.sha() });
    };
    await expect(
      createReleasePr(
        { images: [parseImageReference('gcr.io/p/web:abc1234')], paths: ['a.yaml'], mode: 'push' },
        host,
        { ...noWait, maxAttempts: 3 },
      ),
    ).rejects.toBeInstanceOf(ReleaseRetriesExhaustedError);
  });

  it('skips an older commit unless a downgrade is allowed', async () => {
    const host = new MemoryHost({ 'a.yaml': deployment('gcr.io/p/web:bbbbbbb') });
    host.comparisons.set('bbbbbbb...aaaaaaa', { status: 'behind', commits: [] });
    const request = {
      images: [parseImageReference('gcr.io/p/web:aaaaaaa')],
      paths: ['a.yaml'],
      appRepository: 'o/web',
    };
    const skipped = await createReleasePr(request, host, noWait);
    expect(skipped.result).toBe('skipped-older');
    expect(skipped.message).toContain('--allow-downgrade');
    expect(host.writes).toEqual([]);
    const rollback = await createReleasePr({ ...request, allowDowngrade: true }, host, noWait);
    expect(rollback.result).toBe('created');
  });

  it('lists the app commits escaped and closes superseded release pull requests', async () => {
    const host = new MemoryHost({ 'a.yaml': deployment('gcr.io/p/web:1111111') });
    host.comparisons.set('1111111...2222222', {
      status: 'ahead',
      commits: [{ sha: '2222222aaaa', message: 'Hi @team <b>x</b>' }],
      url: 'https://example.test/o/web/compare/1111111...2222222',
    });
    const base = { paths: ['a.yaml'], appRepository: 'o/web', closeSuperseded: true };
    await createReleasePr(
      { ...base, images: [parseImageReference('gcr.io/p/web:2222222')] },
      host,
      noWait,
    );
    expect(host.prs[0]?.body).toContain('Hi @\u200bteam &lt;b&gt;x&lt;/b&gt;');
    expect(host.prs[0]?.body).toContain(
      'Compare: https://example.test/o/web/compare/1111111...2222222',
    );
    const second = await createReleasePr(
      { ...base, images: [parseImageReference('gcr.io/p/web:3333333')] },
      host,
      noWait,
    );
    expect(second.closedPullRequests).toEqual([1]);
    expect(host.prs[0]?.open).toBe(false);
    expect(host.prs[0]?.comments[0]).toContain('Superseded by #2');
  });

  it('adds to a live release branch so pipelines sharing it all land', async () => {
    const host = new MemoryHost({
      'a.yaml': deployment('gcr.io/p/web:1111111'),
      'b.yaml': deployment('gcr.io/p/api:1111111'),
    });
    const paths = ['a.yaml', 'b.yaml'];
    await createReleasePr(
      { images: [parseImageReference('gcr.io/p/web:abc1234')], paths },
      host,
      noWait,
    );
    const second = await createReleasePr(
      { images: [parseImageReference('gcr.io/p/api:abc1234')], paths },
      host,
      noWait,
    );
    expect(second.result).toBe('updated');
    const files = host.branches.get('release-abc1234')!.files;
    expect(files['a.yaml']).toContain('web:abc1234');
    expect(files['b.yaml']).toContain('api:abc1234');
    expect(host.prs[0]?.body).toContain('`gcr.io/p/web:abc1234`');
    expect(host.prs[0]?.body).toContain('`gcr.io/p/api:abc1234`');
  });

  it('rebuilds a leftover release branch (no open pull request, not on the base) from the base', async () => {
    const host = new MemoryHost({ 'a.yaml': deployment('gcr.io/p/web:1111111') });
    const main = host.branches.get('main')!;
    const stale = { ...main.files, 'a.yaml': deployment('gcr.io/p/web:0000000') };
    host.branches.set('release-abc1234', {
      sha: host.sha(),
      parents: ['f'.repeat(40)],
      files: stale,
    });
    const r = await createReleasePr(
      { images: [parseImageReference('gcr.io/p/web:abc1234')], paths: ['a.yaml'] },
      host,
      noWait,
    );
    expect(r.result).toBe('created');
    const branch = host.branches.get('release-abc1234')!;
    expect(branch.parents).toEqual([main.sha]);
    expect(host.prs[0]?.body).toContain('`gcr.io/p/web:1111111` | `gcr.io/p/web:abc1234`');
  });

  it('plans without writing in a dry run', async () => {
    const host = new MemoryHost({ 'a.yaml': deployment('gcr.io/p/web:1111111') });
    const r = await createReleasePr(
      { images: [parseImageReference('gcr.io/p/web:abc1234')], paths: ['a.yaml'], dryRun: true },
      host,
      noWait,
    );
    expect(r).toMatchObject({ result: 'created', dryRun: true, title: 'Release web abc1234' });
    expect(r.edits[0]?.after).toContain('web:abc1234');
    expect(host.writes).toEqual([]);
  });

  it('never adds to a pull request merged between the read and the write: a new one is opened', async () => {
    const host = new MemoryHost({ 'a.yaml': deployment('gcr.io/p/web:1111111') });
    const request = {
      images: [parseImageReference('gcr.io/p/web:abc1234')],
      paths: ['a.yaml'],
      branchTemplate: 'release-train',
    };
    await createReleasePr(request, host, noWait);
    // Someone merges #1 right after our read; the host's answer to the update says so.
    const upsert = host.upsertPullRequest.bind(host);
    host.upsertPullRequest = async (r) => {
      const pr = await upsert(r);
      return r.existing ? { ...pr, state: 'merged' as const } : pr;
    };
    host.prs[0]!.open = true;
    const second = await createReleasePr(
      { ...request, images: [parseImageReference('gcr.io/p/web:def5678')] },
      host,
      {
        ...noWait,
        // the merge closes #1 and moves main past the branch, as GitHub's merge commit does
        sleep: async () => {
          host.prs[0]!.open = false;
          const main = host.branches.get('main')!;
          host.branches.set('main', { ...main, sha: host.sha(), parents: [main.sha] });
        },
      },
    );
    expect(second).toMatchObject({
      result: 'created',
      pullRequest: { number: 2 },
      replacedPullRequest: { number: 1, state: 'merged' },
    });
    expect(second.message).toContain('#1 was merged meanwhile');
  });

  it('applies extras after the pull request exists: reviewers only when created, refusals as warnings', async () => {
    const host = new MemoryHost({ 'a.yaml': deployment('gcr.io/p/web:1111111') });
    const asked: PullRequestExtras[] = [];
    const withExtras = Object.assign(host, {
      async applyExtras(_pr: PullRequestInfo, extras: PullRequestExtras) {
        asked.push(extras);
        return {
          warnings: extras.autoMerge
            ? [{ kind: 'auto-merge' as const, message: 'auto-merge is off' }]
            : [],
        };
      },
    });
    const request = {
      images: [parseImageReference('gcr.io/p/web:abc1234')],
      paths: ['a.yaml'],
      labels: ['release'],
      reviewers: ['alice'],
      assignees: ['bob'],
      autoMerge: 'squash' as const,
    };
    const logged: string[] = [];
    const first = await createReleasePr(request, withExtras, {
      ...noWait,
      log: (l) => logged.push(l),
    });
    expect(first.result).toBe('created');
    expect(first.warnings).toEqual([{ kind: 'auto-merge', message: 'auto-merge is off' }]);
    expect(logged).toContain('warning: auto-merge is off');
    const again = await createReleasePr(request, withExtras, noWait);
    expect(again.result).toBe('updated');
    expect(asked).toEqual([
      { labels: ['release'], reviewers: ['alice'], assignees: ['bob'], autoMerge: 'squash' },
      { labels: ['release'], autoMerge: 'squash' },
    ]);
  });
});
