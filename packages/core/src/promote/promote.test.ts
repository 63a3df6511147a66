import { describe, expect, it } from 'vitest';
import { PathError, PromotionRefusedError, PromotionSourceMovedError } from '../errors.js';
import { parseImageReference } from '../image/reference.js';
import type {
  CommitRequest,
  GitHost,
  PullRequestInfo,
  PullRequestRequest,
  ReadRequest,
  RepositorySnapshot,
} from '../release/host.js';
import { promote } from './promote.js';

// The flow's decisions on an in-memory repository (the hosts themselves are tested end to end in
// test/promote): what is read together, what is written, and the re-plan when staging moves.
class MemoryHost implements GitHost {
  kind = 'memory';
  repository = 'o/manifests';
  supportsPullRequests = true;
  heads = new Map<string, { sha: string; files: Record<string, string> }>();
  reads: string[][] = [];
  commits: CommitRequest[] = [];
  prs: PullRequestInfo[] = [];
  /** Runs before each read is answered: another writer may move main. */
  beforeRead?: (n: number) => void;
  private next = 1;

  constructor(files: Record<string, string>) {
    this.heads.set('main', { sha: this.sha(), files });
  }
  sha(): string {
    return (this.next++).toString(16).padStart(40, '0');
  }
  land(path: string, text: string) {
    const main = this.heads.get('main')!;
    this.heads.set('main', { sha: this.sha(), files: { ...main.files, [path]: text } });
  }
  async read(request: ReadRequest): Promise<RepositorySnapshot> {
    this.reads.push(request.paths);
    this.beforeRead?.(this.reads.length);
    const pick = (files: Record<string, string>) =>
      request.paths.flatMap((p) => {
        const found = Object.entries(files).filter(([f]) => f === p || f.startsWith(`${p}/`));
        if (found.length === 0) throw new PathError(`${p}: not found in o/manifests at main`);
        return found.map(([path, text]) => ({ path, text }));
      });
    const main = this.heads.get('main')!;
    const snap: RepositorySnapshot = {
      defaultBranch: 'main',
      base: { name: 'main', sha: main.sha },
      files: pick(main.files),
    };
    const branch = request.branch ? this.heads.get(request.branch) : undefined;
    if (branch) snap.branch = { name: request.branch!, sha: branch.sha, files: pick(branch.files) };
    return snap;
  }
  async commit(request: CommitRequest) {
    this.commits.push(request);
    const parent = [...this.heads.values()].find((h) => h.sha === request.parent)!;
    const files = { ...parent.files };
    for (const f of request.files) files[f.path] = f.text;
    const sha = this.sha();
    this.heads.set(request.branch, { sha, files });
    return { sha };
  }
  async upsertPullRequest(request: PullRequestRequest) {
    const pr = { number: this.prs.length + 1, url: 'https://example.test/pull/1', ...request };
    this.prs.push(pr);
    return pr;
  }
}

const values = (tag: string) => `image:\n  repository: gcr.io/p/api\n  tag: ${tag}\n`;

describe('promote', () => {
  it('reads both environments together and edits only the target', async () => {
    const host = new MemoryHost({
      'stg/values.yaml': values('v2'),
      'prd/values.yaml': values('v1'),
    });
    const r = await promote({ from: ['stg'], to: ['prd'] }, host);
    expect(r).toMatchObject({
      result: 'created',
      branch: 'promote-prd-v2',
      fromEnvironment: 'stg',
      toEnvironment: 'prd',
      promoted: [{ name: 'gcr.io/p/api', from: ['gcr.io/p/api:v1'], to: 'gcr.io/p/api:v2' }],
    });
    expect(host.reads).toEqual([
      ['stg', 'prd'],
      ['stg', 'prd'],
    ]);
    expect(host.commits.map((c) => c.files.map((f) => f.path))).toEqual([['prd/values.yaml']]);
    expect(host.prs[0]?.title).toBe('Promote api v2 from stg to prd');
  });

  it('plans again when staging moves between the reads; --expect then refuses', async () => {
    const host = new MemoryHost({
      'stg/values.yaml': values('v2'),
      'prd/values.yaml': values('v1'),
    });
    host.beforeRead = (n) => {
      if (n === 2) host.land('stg/values.yaml', values('v3'));
    };
    const free = await promote({ from: ['stg'], to: ['prd'] }, host);
    expect(free.promoted.map((p) => p.to)).toEqual(['gcr.io/p/api:v3']);
    expect(host.reads).toHaveLength(4);

    const again = new MemoryHost({
      'stg/values.yaml': values('v2'),
      'prd/values.yaml': values('v1'),
    });
    again.beforeRead = (n) => {
      if (n === 2) again.land('stg/values.yaml', values('v3'));
    };
    const err = await promote(
      { from: ['stg'], to: ['prd'], expect: [parseImageReference('gcr.io/p/api:v2')] },
      again,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PromotionRefusedError);
    expect((err as PromotionRefusedError).reason).toBe('expect-mismatch');
    expect(again.commits).toEqual([]);
  });

  it('gives up, writing nothing, when staging keeps moving', async () => {
    const host = new MemoryHost({
      'stg/values.yaml': values('v2'),
      'prd/values.yaml': values('v1'),
    });
    host.beforeRead = (n) => {
      if (n % 2 === 0) host.land('stg/values.yaml', values(`v${n + 10}`));
    };
    const err = await promote({ from: ['stg'], to: ['prd'] }, host, { maxRounds: 3 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PromotionSourceMovedError);
    expect(host.commits).toEqual([]);
  });

  it('names --to when the environment is not in the repository', async () => {
    const host = new MemoryHost({ 'stg/values.yaml': values('v2') });
    await expect(promote({ from: ['stg'], to: ['prod'] }, host)).rejects.toThrow(
      /^--to: prod: not found/,
    );
  });
});
