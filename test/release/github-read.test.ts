// The read sees what REST sees: directories of any depth below --path, only *.yaml / *.yml texts
// fetched, a truncated REST tree handled, a binary file reported.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GitHubSimulator, startGitHubSimulator } from '../github-sim/index.js';
import { deployment } from '../support/manifest-repo.js';
import { runCli } from '../support/run-cli.js';

let sim: GitHubSimulator;
let repoCount = 0;
const DEEP = 'overlays/a/b/c/d/e/f/deploy.yaml';

async function manifests(extra: Record<string, string> = {}): Promise<string> {
  const name = `acme/read-${++repoCount}`;
  await sim.createRepo(name, {
    'overlays/top.yaml': deployment('top', ['gcr.io/p/top:0000000']),
    [DEEP]: deployment('web', ['gcr.io/p/web:0000000']),
    // 600 kB of text that is not YAML: never ours to fetch.
    'overlays/a/README.md': `${'not yaml '.repeat(66_000)}\n`,
    ...extra,
  });
  return name;
}

function cli(repo: string, args: string[]) {
  return runCli(
    ['create-release-pr', '--repo', repo, '--github-url', sim.url, '--path', 'overlays', ...args],
    { GITHUB_TOKEN: sim.tokens.write },
  );
}

beforeAll(async () => {
  sim = await startGitHubSimulator();
});
afterAll(async () => {
  await sim?.close();
});

describe('the read of a directory', () => {
  for (const api of ['graphql', 'rest']) {
    it(`${api}: finds YAML 7 directories down and fetches no text of other files`, async () => {
      const repo = await manifests();
      sim.clearRequests();
      const r = await cli(repo, ['--image', 'gcr.io/p/web:abc1234', '--api', api, '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ result: 'created', changedFiles: [DEEP] });
      expect(await sim.readFile(repo, 'release-abc1234', DEEP)).toContain('gcr.io/p/web:abc1234');
      const read = sim.requests.filter((q) => !q.write);
      const bytes = read.reduce((n, q) => n + (q.responseBytes ?? 0), 0);
      expect(bytes).toBeLessThan(100_000); // the 600 kB README stayed on GitHub
      if (api === 'graphql') {
        // one read, one for the YAML texts (and the trees deeper than the read expands)
        expect(read.map((q) => q.operationName)).toEqual([
          'Release',
          'ReleaseFiles',
          'ReleaseFiles',
        ]);
      }
    });
  }

  it('rest: a truncated recursive tree is detected and the path read on its own', async () => {
    // 12 files elsewhere: the whole tree (22 entries) is past the limit, overlays/ (9) is not.
    const repo = await manifests(
      Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`docs/n${i}.md`, `${i}\n`])),
    );
    sim.setTreeLimit(12);
    try {
      const r = await cli(repo, ['--image', 'gcr.io/p/web:abc1234', '--api', 'rest', '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).changedFiles).toEqual([DEEP]);
    } finally {
      sim.setTreeLimit(100_000);
    }
  });

  for (const api of ['graphql', 'rest']) {
    it(`${api}: a binary *.yaml is reported, naming the file`, async () => {
      const repo = await manifests({ 'overlays/b/blob.yaml': 'bin\u0000ary\n' });
      const r = await cli(repo, ['--image', 'gcr.io/p/web:abc1234', '--api', api]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('overlays/b/blob.yaml: a binary file');
    });
  }
});
