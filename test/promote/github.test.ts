// promote on the GitHub simulator: the seed 001 flow (staging in push mode, production by pull
// request), each guard, re-runs, a digest pinned from a real registry, and races with a staging
// release. Through the CLI in-process, on real bare repositories behind the simulator.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type GitHubSimulator, startGitHubSimulator } from '../github-sim/index.js';
import { startRegistry, TEST_PASSWORD, TEST_USER, type TestRegistry } from '../support/registry.js';
import { runCli } from '../support/run-cli.js';
import {
  PRODUCTION,
  productionValues,
  pushTinyImage,
  renderedImages,
  STAGING,
  seedRepository,
  stagingValues,
  valuesImage,
} from './fixtures.js';

let sim: GitHubSimulator;
let count = 0;
let app: { older: string; newer: string; newest: string };

const RUN_ENV = {
  GITHUB_SERVER_URL: 'https://github.com',
  GITHUB_REPOSITORY: 'acme/app',
  GITHUB_RUN_ID: '4242',
};

async function manifests(files: Record<string, string> = seedRepository()): Promise<string> {
  const name = `acme/manifests-${++count}`;
  await sim.createRepo(name, files);
  return name;
}

function cli(command: string, repo: string, args: string[], env: Record<string, string> = {}) {
  return runCli([command, '--repo', repo, '--github-url', sim.url, ...args], {
    GITHUB_TOKEN: sim.tokens.write,
    ...RUN_ENV,
    ...env,
  });
}

const promote = (repo: string, args: string[] = [], env?: Record<string, string>) =>
  cli('promote', repo, ['--from', STAGING, '--to', PRODUCTION, '--json', ...args], env);

/** The staging job of the seed flow: every merge to main releases straight into staging. */
async function releaseToStaging(repo: string, sha: string) {
  const r = await cli('create-release-pr', repo, [
    '--path',
    STAGING,
    '--image',
    `gcr.io/p/web:${sha}`,
    '--image',
    `gcr.io/p/api:${sha}`,
    '--mode',
    'push',
    '--json',
  ]);
  expect(r.code, r.stderr).toBe(0);
  expect(JSON.parse(r.stdout).result).toBe('pushed');
}

const writes = () => sim.requests.filter((q) => q.write);

beforeAll(async () => {
  sim = await startGitHubSimulator();
  await sim.createRepo('acme/app', { 'README.md': 'app\n' });
  const c = async (n: string) =>
    (await sim.commit('acme/app', 'main', { 'a.txt': n }, `Change ${n} for @octocat`)).slice(0, 7);
  app = { older: await c('1'), newer: await c('2'), newest: await c('3') };
});
afterAll(async () => {
  await sim?.close();
});
beforeEach(() => sim.clearRequests());

describe('promote on GitHub: the seed 001 flow', () => {
  it('opens one pull request that makes production deploy exactly what staging ran', async () => {
    const repo = await manifests(seedRepository(undefined, { web: app.older, api: app.older }));
    await releaseToStaging(repo, app.newer);
    sim.clearRequests();
    const r = await promote(repo, ['--app-repo', 'acme/app']);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({
      result: 'created',
      branch: `promote-production-${app.newer}`,
      fromEnvironment: 'staging',
      toEnvironment: 'production',
      changedFiles: [`${PRODUCTION}/kustomization.yaml`, `${PRODUCTION}/values.yaml`],
      promoted: [
        {
          name: 'gcr.io/p/web',
          from: [`gcr.io/p/web:${app.older}`],
          to: `gcr.io/p/web:${app.newer}`,
        },
        {
          name: 'gcr.io/p/api',
          from: [`gcr.io/p/api:${app.older}`],
          to: `gcr.io/p/api:${app.newer}`,
        },
      ],
    });
    // Read both environments (their directories' YAML texts in a second query), read again with
    // the branch (the texts known by object id by then), compare the app commits, write.
    expect(sim.requests.map((q) => q.fields?.join('+') ?? `${q.method} ${q.path}`)).toEqual([
      'repository',
      'repository',
      'repository',
      `GET /repos/acme/app/compare/${app.older}...${app.newer}`,
      'createRef+createCommitOnBranch+createPullRequest',
    ]);
    const [pr] = sim.pullRequests(repo);
    expect(pr?.title).toBe(`Promote app ${app.newer} from staging to production`);
    expect(pr?.body).toContain('Promotes **staging** → **production**');
    expect(pr?.body).toContain(`| \`gcr.io/p/web\` | \`:${app.older}\` | \`:${app.newer}\` |`);
    expect(pr?.body).toContain(
      'Asked by the pipeline run https://github.com/acme/app/actions/runs/4242',
    );
    // The application commits between the two versions, escaped; not the older ones.
    expect(pr?.body).toContain('Change 2 for @\u200boctocat');
    expect(pr?.body).not.toContain('Change 1');

    // Only production's image values changed, byte for byte elsewhere.
    const values = await sim.readFile(repo, result.branch, `${PRODUCTION}/values.yaml`);
    expect(values).toBe(productionValues(`gcr.io/p/api:${app.newer}`));
    expect(await sim.readFile(repo, result.branch, `${STAGING}/values.yaml`)).toBe(
      await sim.readFile(repo, 'main', `${STAGING}/values.yaml`),
    );

    await sim.mergePullRequest(repo, pr!.number);
    const staging = renderedImages(sim.repoPath(repo), 'main', STAGING);
    expect(renderedImages(sim.repoPath(repo), 'main', PRODUCTION)).toEqual(staging);
    expect(staging).toEqual([`gcr.io/p/web:${app.newer}`]);
    expect(valuesImage((await sim.readFile(repo, 'main', `${PRODUCTION}/values.yaml`))!)).toBe(
      valuesImage((await sim.readFile(repo, 'main', `${STAGING}/values.yaml`))!),
    );

    // Promoted already: exit 0, nothing written.
    sim.clearRequests();
    const again = await promote(repo);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).result).toBe('unchanged');
    expect(writes()).toEqual([]);
  });

  it('updates the same pull request on a re-run, and closes an older promotion with --close-superseded', async () => {
    const repo = await manifests();
    await releaseToStaging(repo, app.older);
    const first = JSON.parse((await promote(repo)).stdout);
    const rerun = await promote(repo);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(JSON.parse(rerun.stdout)).toMatchObject({
      result: 'updated',
      pullRequest: { number: first.pullRequest.number },
      commitSha: first.commitSha,
    });
    expect(sim.pullRequests(repo)).toHaveLength(1);

    await releaseToStaging(repo, app.newer);
    const next = JSON.parse((await promote(repo, ['--close-superseded'])).stdout);
    expect(next).toMatchObject({
      result: 'created',
      closedPullRequests: [first.pullRequest.number],
    });
    const old = sim.pullRequests(repo).find((p) => p.number === first.pullRequest.number);
    expect(old?.state).toBe('closed');
    expect(old?.comments[0]?.body).toContain(`Superseded by #${next.pullRequest.number}`);
  });

  it('prints the diff and the pull request in a dry run, and writes the same through REST', async () => {
    const repo = await manifests();
    sim.clearRequests();
    const dry = await cli('promote', repo, ['--from', STAGING, '--to', PRODUCTION, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('+    newTag: abc1234 # production');
    expect(dry.stdout).toContain('Promotes **staging** → **production**');
    expect(writes()).toEqual([]);

    const rest = await promote(repo, ['--api', 'rest']);
    expect(rest.code, rest.stderr).toBe(0);
    expect(JSON.parse(rest.stdout).result).toBe('created');
    expect(sim.requests.some((q) => q.kind === 'graphql' && q.write)).toBe(false);
    expect(renderedImages(sim.repoPath(repo), 'promote-production-abc1234', PRODUCTION)).toEqual([
      'gcr.io/p/web:abc1234',
    ]);
  });

  it('commits straight onto main in push mode, with templates that know {from} and {to}', async () => {
    const repo = await manifests();
    const r = await promote(repo, [
      '--mode',
      'push',
      '--commit-message',
      'Promote {sha}: {from} to {to}',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ result: 'pushed', branch: 'main' });
    const [head] = await sim.commits(repo, 'main', 1);
    expect(head?.message).toBe('Promote abc1234: staging to production');
    expect(head?.verified).toBe(true);
    expect(renderedImages(sim.repoPath(repo), 'main', PRODUCTION)).toEqual([
      'gcr.io/p/web:abc1234',
    ]);
  });
});

describe('promote on GitHub: guards', () => {
  it('--expect refuses a version staging no longer deploys, and writes nothing', async () => {
    const repo = await manifests();
    await releaseToStaging(repo, app.newer);
    sim.clearRequests();
    const r = await promote(repo, ['--expect', `gcr.io/p/web:${app.older}`]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ result: 'refused', reason: 'expect-mismatch' });
    expect(r.stderr).toContain(
      `now deploys gcr.io/p/web:${app.newer}, not the version the pipeline tested`,
    );
    expect(writes()).toEqual([]);
    const ok = await promote(repo, ['--expect', `gcr.io/p/web:${app.newer}`]);
    expect(JSON.parse(ok.stdout).result).toBe('created');
  });

  it('refuses an image staging does not deploy, a templated version, and one deployed twice differently', async () => {
    const repo = await manifests();
    const missing = await promote(repo, ['--image', 'gcr.io/p/worker']);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout).reason).toBe('not-deployed');
    expect(missing.stderr).toContain('--from does not deploy gcr.io/p/worker');

    const templated = await manifests({
      ...seedRepository(),
      [`${STAGING}/values.yaml`]: stagingValues('"{{ .Values.global.tag }}"'),
    });
    const t = await promote(templated);
    expect(t.code).toBe(1);
    expect(JSON.parse(t.stdout).reason).toBe('uneditable');
    expect(t.stderr).toContain(`${STAGING}/values.yaml:5`);

    const twice = await manifests({
      ...seedRepository(),
      [`${STAGING}/canary-values.yaml`]: stagingValues('v3'),
    });
    const a = await promote(twice);
    expect(a.code).toBe(1);
    expect(JSON.parse(a.stdout).reason).toBe('ambiguous');
    expect(sim.pullRequests(templated).concat(sim.pullRequests(twice))).toEqual([]);
  });

  it('refuses to replace a newer commit in production, unless --allow-downgrade', async () => {
    const repo = await manifests(
      seedRepository({ web: app.older, api: app.older }, { web: app.newest, api: app.newest }),
    );
    const r = await promote(repo, ['--app-repo', 'acme/app']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).reason).toBe('downgrade');
    expect(r.stderr).toContain('--allow-downgrade');
    expect(sim.pullRequests(repo)).toEqual([]);
    const back = await promote(repo, ['--app-repo', 'acme/app', '--allow-downgrade']);
    expect(JSON.parse(back.stdout).result).toBe('created');
  });

  it('names the unknown environment, refuses --from equal to --to, and writes nothing', async () => {
    const repo = await manifests();
    const r = await cli('promote', repo, ['--from', STAGING, '--to', 'environments/prod']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--to: environments/prod: not found');
    const same = await cli('promote', repo, ['--from', STAGING, '--to', `./${STAGING}/`]);
    expect(same.code).toBe(2);
    expect(same.stderr).toContain('same path');
    expect(writes()).toEqual([]);
  });
});

describe('promote on GitHub: pinned digests from a real registry', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry('htpasswd');
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('writes the digest the registry serves for the tag, with the build job’s login', async () => {
    const login = { username: TEST_USER, password: TEST_PASSWORD };
    const web = `${registry.host}/p/web`;
    const api = `${registry.host}/p/api`;
    const webDigest = await pushTinyImage(registry.host, 'p/web', 'abc1234', login);
    const apiDigest = await pushTinyImage(registry.host, 'p/api', 'abc1234', login);
    const files = seedRepository();
    for (const [path, text] of Object.entries(files))
      files[path as keyof typeof files] = text.replaceAll('gcr.io/p/', `${registry.host}/p/`);
    files[`${STAGING}/values.yaml`] = files[`${STAGING}/values.yaml`].replace(
      'tag: v2',
      'tag: abc1234',
    );
    const repo = await manifests(files);
    const env = { REGISTRY_PASSWORD: TEST_PASSWORD };
    const r = await promote(
      repo,
      ['--pin-digest', '--username', TEST_USER, '--password-env', 'REGISTRY_PASSWORD'],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(TEST_PASSWORD);
    const result = JSON.parse(r.stdout);
    expect(result.promoted.map((p: { to: string }) => p.to)).toEqual([
      `${web}:abc1234@${webDigest}`,
      `${api}:abc1234@${apiDigest}`,
    ]);
    expect(webDigest).toBe((await registry.manifest('p/web', 'abc1234')).digest);
    const kustomization = await sim.readFile(
      repo,
      result.branch,
      `${PRODUCTION}/kustomization.yaml`,
    );
    expect(kustomization).toContain(`newTag: abc1234 # production\n    digest: ${webDigest}\n`);
    expect(renderedImages(sim.repoPath(repo), result.branch, PRODUCTION)).toEqual([
      `${web}:abc1234@${webDigest}`,
    ]);

    // A tag the registry does not know: refused, nothing written.
    const unknown = await manifests(
      Object.fromEntries(
        Object.entries(files).map(([p, t]) => [p, t.replace('newTag: abc1234', 'newTag: fff9999')]),
      ),
    );
    sim.clearRequests();
    const u = await promote(
      unknown,
      ['--pin-digest', '--username', TEST_USER, '--password-env', 'REGISTRY_PASSWORD'],
      env,
    );
    expect(u.code).toBe(1);
    expect(JSON.parse(u.stdout).reason).toBe('tag-unknown');
    expect(u.stderr).toContain(`no tag "fff9999" of ${web}`);
    expect(writes()).toEqual([]);
  });
});

describe('promote on GitHub: racing a staging release', () => {
  /** Lands a staging release of `sha` (both images, one commit) before the `nth` read is answered. */
  function stagingReleaseBefore(repo: string, nth: number, sha: string, field = 'repository') {
    let seen = 0;
    return sim.onRequest(async (q) => {
      if (q.fields.includes(field) && ++seen === nth) {
        await sim.commit(
          repo,
          'main',
          {
            [`${STAGING}/kustomization.yaml`]: seedRepository({ web: sha, api: sha })[
              `${STAGING}/kustomization.yaml`
            ],
            [`${STAGING}/values.yaml`]: stagingValues(sha),
          },
          `Release ${sha} to staging`,
        );
      }
    });
  }

  it('refuses with --expect when staging moves after the read; without it promotes the version read, never a mix', async () => {
    const repo = await manifests(seedRepository({ web: app.older, api: app.older }));
    let off = stagingReleaseBefore(repo, 2, app.newer);
    const r = await promote(repo, ['--expect', `gcr.io/p/web:${app.older}`]);
    off();
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).reason).toBe('expect-mismatch');
    expect(r.stderr).toContain('staging moved while promoting');
    expect(sim.pullRequests(repo)).toEqual([]);

    off = stagingReleaseBefore(repo, 2, app.newest);
    const free = await promote(repo);
    off();
    expect(free.code, free.stderr).toBe(0);
    const result = JSON.parse(free.stdout);
    // Planned again from the read that saw the new release: both images at it, none left behind.
    expect(result.promoted.map((p: { to: string }) => p.to)).toEqual([
      `gcr.io/p/web:${app.newest}`,
      `gcr.io/p/api:${app.newest}`,
    ]);
    expect(renderedImages(sim.repoPath(repo), result.branch, PRODUCTION)).toEqual([
      `gcr.io/p/web:${app.newest}`,
    ]);
    expect(
      valuesImage((await sim.readFile(repo, result.branch, `${PRODUCTION}/values.yaml`))!),
    ).toBe(`gcr.io/p/api:${app.newest}`);
  });

  it('in push mode, a staging release landing just before the write makes --expect refuse, and production stays', async () => {
    const repo = await manifests(seedRepository({ web: app.older, api: app.older }));
    const before = await sim.readFile(repo, 'main', `${PRODUCTION}/values.yaml`);
    const off = stagingReleaseBefore(repo, 1, app.newer, 'createCommitOnBranch');
    const r = await promote(repo, ['--mode', 'push', '--expect', `gcr.io/p/api:${app.older}`]);
    off();
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).reason).toBe('expect-mismatch');
    expect(await sim.readFile(repo, 'main', `${PRODUCTION}/values.yaml`)).toBe(before);
    expect(await sim.readFile(repo, 'main', `${STAGING}/values.yaml`)).toBe(
      stagingValues(app.newer),
    );
  });
});
