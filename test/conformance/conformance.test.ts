// One behaviour, every host: the release flow of packages/core run against each GitHost the
// product ships — GitHub (simulator), GitLab (simulator), plain git over `git http-backend`.
// A new host passes this file before it is called done.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createReleasePr,
  type GitHost,
  HostPermissionError,
  parseImageReference,
  type ReleaseRequest,
} from '../../packages/core/src/index.js';
import { deployment, kustomization } from '../support/manifest-repo.js';
import { hostsUnderTest, type RepoHandle } from './hosts.js';

const IMAGE = 'registry.example.test/acme/web';
const K = 'overlays/staging/kustomization.yaml';
const PROD = 'overlays/prod/deploy.yaml';

function files(): Record<string, string> {
  return {
    [K]: kustomization(['deploy.yaml'], [{ name: IMAGE, newTag: 'fedcba9' }]),
    'overlays/staging/deploy.yaml': deployment('web', [IMAGE]),
    [PROD]: deployment(
      'all',
      Array.from({ length: 20 }, (_, i) => `registry.example.test/acme/svc${i}:0000000`),
    ),
  };
}

const fast = {
  sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, Math.min(ms, 40))),
  maxAttempts: 40,
};

function release(
  host: GitHost,
  overrides: Omit<Partial<ReleaseRequest>, 'images'> & { images: string[] },
) {
  const { images, ...rest } = overrides;
  return createReleasePr(
    { paths: [K], ...rest, images: images.map((i) => parseImageReference(i)) },
    host,
    fast,
  );
}

/** A host whose first commit (or pull request update) waits for `act` to run first. */
function interfere(host: GitHost, at: 'commit', act: () => Promise<unknown>): GitHost {
  let done = false;
  const wrapped = Object.create(host) as GitHost;
  wrapped[at] = async (request: Parameters<GitHost['commit']>[0]) => {
    if (!done) {
      done = true;
      await act();
    }
    return host.commit(request);
  };
  return wrapped;
}

describe.each(hostsUnderTest)('host conformance: $name', (hut) => {
  beforeAll(() => hut.start());
  afterAll(() => hut.stop());

  let repo: RepoHandle;
  const fresh = async () => {
    repo = await hut.createRepo(files());
    return repo;
  };

  it('first release: one commit on a release branch, the base untouched, the request opened', async () => {
    await fresh();
    const r = await release(repo.host(), { images: [`${IMAGE}:abc1234`] });
    expect(r.result).toBe(hut.supportsPullRequests ? 'created' : 'pushed');
    expect(r.branch).toBe('release-abc1234');
    expect(await repo.readFile('release-abc1234', K)).toContain('newTag: abc1234');
    expect(await repo.readFile('main', K)).toContain('newTag: fedcba9');
    const open = repo.openRequests();
    expect(open).toHaveLength(hut.supportsPullRequests ? 1 : 0);
    if (hut.supportsPullRequests)
      expect(open[0]).toMatchObject({ head: 'release-abc1234', base: 'main' });
  });

  it('re-run: the same branch head, the same request, nothing new written', async () => {
    await fresh();
    const first = await release(repo.host(), { images: [`${IMAGE}:abc1234`] });
    const again = await release(repo.host(), { images: [`${IMAGE}:abc1234`] });
    expect(again.commitSha).toBe(first.commitSha);
    // A plain git re-run finds the release branch already at the commit: nothing to push.
    expect(again.result).toBe(hut.supportsPullRequests ? 'updated' : 'unchanged');
    if (hut.supportsPullRequests) {
      expect(again.pullRequest?.number).toBe(first.pullRequest?.number);
      expect(repo.openRequests()).toHaveLength(1);
    }
  });

  it('unchanged: the base already deploys the image, nothing is written', async () => {
    await fresh();
    repo.resetCounts();
    const r = await release(repo.host(), { images: [`${IMAGE}:fedcba9`] });
    expect(r.result).toBe('unchanged');
    expect(repo.writeAttempts()).toBe(0);
    expect(await repo.branches()).toEqual(['main']);
  });

  it('two images into one file: both changed in one commit', async () => {
    await fresh();
    const r = await release(repo.host(), {
      paths: [PROD],
      images: [
        'registry.example.test/acme/svc1:1111111',
        'registry.example.test/acme/svc2:2222222',
      ],
      sha: '1111111',
    });
    const file = await repo.readFile(r.branch!, PROD);
    expect(file).toContain('svc1:1111111 # keep this comment');
    expect(file).toContain('svc2:2222222 # keep this comment');
    expect(r.changes).toHaveLength(2);
  });

  it('20 concurrent releases of 20 images into one file: every one lands', async () => {
    await fresh();
    const tag = (i: number) => (i + 1).toString(16).padStart(7, 'b');
    const runs = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        release(repo.host(), {
          paths: [PROD],
          mode: 'push',
          images: [`registry.example.test/acme/svc${i}:${tag(i)}`],
        }),
      ),
    );
    for (const r of runs) expect(r.result).toBe('pushed');
    const file = await repo.readFile('main', PROD);
    for (let i = 0; i < 20; i++) expect(file).toContain(`svc${i}:${tag(i)} # keep this comment`);
    expect(runs.some((r) => r.attempts > 1)).toBe(true);
  }, 400_000);

  it('older after newer: an ancestor of the deployed commit is skipped, unless a rollback is asked for', async () => {
    const app = await hut.createAppRepo(2);
    const [older, newer] = app.shas.map((s) => s.slice(0, 7)) as [string, string];
    await fresh();
    const up = await release(repo.host(), {
      images: [`${IMAGE}:${newer}`],
      mode: 'push',
      appRepository: app.repository,
    });
    expect(up.result).toBe('pushed');
    repo.resetCounts();
    const down = await release(repo.host(), {
      images: [`${IMAGE}:${older}`],
      appRepository: app.repository,
    });
    expect(down.result).toBe('skipped-older');
    expect(repo.writeAttempts()).toBe(0);
    const rollback = await release(repo.host(), {
      images: [`${IMAGE}:${older}`],
      appRepository: app.repository,
      allowDowngrade: true,
    });
    expect(rollback.result).toBe(hut.supportsPullRequests ? 'created' : 'pushed');
  });

  it('base moved mid-flight: another writer changes the same file between read and write; both changes land', async () => {
    await fresh();
    const other = async () => {
      const text = (await repo.readFile('main', PROD))!;
      await repo.commitAs('main', { [PROD]: text.replace('svc7:0000000', 'svc7:7777777') });
    };
    const host = interfere(repo.host(), 'commit', other);
    const r = await release(host, {
      paths: [PROD],
      mode: 'push',
      images: ['registry.example.test/acme/svc3:3333333'],
    });
    expect(r.result).toBe('pushed');
    expect(r.attempts).toBe(2);
    const file = await repo.readFile('main', PROD);
    expect(file).toContain('svc7:7777777');
    expect(file).toContain('svc3:3333333');
  });

  it('release merged mid-flight: the new image ends on an open request (or live branch), not in a merged one', async () => {
    await fresh();
    const first = await release(repo.host(), {
      images: [`${IMAGE}:abc1234`],
      branchTemplate: 'release-web',
    });
    expect(first.branch).toBe('release-web');
    // A person merges the release between the next run's read and its write.
    const host = interfere(repo.host(), 'commit', () => repo.mergeRelease('release-web'));
    const r = await release(host, { images: [`${IMAGE}:def5678`], branchTemplate: 'release-web' });
    expect(await repo.readFile('main', K)).toContain('newTag: abc1234');
    expect(await repo.readFile('release-web', K)).toContain('newTag: def5678');
    if (hut.supportsPullRequests) {
      const open = repo.openRequests();
      expect(open.map((o) => o.head)).toEqual(['release-web']);
      expect(r.pullRequest?.number).toBe(open[0]?.number);
      expect(r.pullRequest?.number).not.toBe(first.pullRequest?.number);
    } else {
      expect(r.result).toBe('pushed');
    }
  });

  it('permission refusal: one attempt, a clear error naming the permission', async () => {
    await fresh();
    repo.resetCounts();
    const err = await release(repo.host('readOnly'), { images: [`${IMAGE}:abc1234`] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(HostPermissionError);
    expect((err as Error).message).toMatch(/403/);
    expect(repo.writeAttempts()).toBe(1);
    expect(await repo.branches()).toEqual(['main']);
  });

  it('dry run: the plan and the body, nothing written', async () => {
    await fresh();
    repo.resetCounts();
    const r = await release(repo.host(), { images: [`${IMAGE}:abc1234`], dryRun: true });
    expect(r.dryRun).toBe(true);
    expect(r.edits).toHaveLength(1);
    expect(r.edits[0]?.after).toContain('newTag: abc1234');
    expect(repo.writeAttempts()).toBe(0);
    expect(await repo.branches()).toEqual(['main']);
    expect(repo.openRequests()).toHaveLength(0);
  });
});
