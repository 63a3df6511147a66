// The GitLab CI/CD component and the seed 002 example: their YAML against GitLab's own CI schema,
// the inputs checked as GitLab compiles them, and both example pipelines run end to end by the
// offline runner — the build job into a real registry with a real Docker engine, the release job
// against the GitLab simulator.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { BUSYBOX_DOCKERFILE, makeContext } from '../build/context.js';
import { type GitLabSimulator, startGitLabSimulator } from '../gitlab-sim/index.js';
import { type DockerEngine, startDockerEngine } from '../support/docker-engine.js';
import { startRegistry, TEST_PASSWORD, TEST_USER, type TestRegistry } from '../support/registry.js';
import { GitLabCiConfigError, loadPipeline, runJob, splitTemplate } from './runner.js';
import { gitlabCiSchema } from './schema.js';

const exec = promisify(execFile);
const root = join(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'gitlab-ci-'));
const templates = readdirSync(join(root, 'templates')).filter((f) => f.endsWith('.yml'));
const examples = ['.gitlab-ci.yml', 'script-lines.gitlab-ci.yml'].map((f) =>
  join(root, 'examples/gitlab', f),
);
const COMPONENTS = { 'gitlab.test/gitops-release/gitops-release': root };
const MANIFESTS = 'my-group/hello-python-manifests';
const APP = 'my-group/hello-python';

describe('the GitLab CI/CD component, offline', () => {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  const validate = ajv.compile(gitlabCiSchema());
  const check = (doc: unknown, what: string) => {
    const ok = validate(doc);
    expect(ok, `${what}: ${ajv.errorsText(validate.errors)}`).toBe(true);
  };

  it("lays out GitLab's catalog (templates/*.yml) and passes GitLab's CI schema, header and jobs", () => {
    expect(templates.sort()).toEqual([
      'build_and_push_image.yml',
      'create_release_pr.yml',
      'promote.yml',
    ]);
    for (const file of templates) {
      const text = readFileSync(join(root, 'templates', file), 'utf8');
      const [header, body] = YAML.parseAllDocuments(text).map((d) => d.toJS());
      check(header, `${file} header`);
      check(body, `${file} jobs`);
      for (const [name, input] of Object.entries(splitTemplate(text, file).spec)) {
        expect(input.description, `${file}: input ${name} has no description`).toBeTruthy();
      }
    }
    for (const file of examples) check(YAML.parse(readFileSync(file, 'utf8')), file);
    // The schema does refuse what GitLab refuses.
    expect(validate({ spec: { inputs: { x: { type: 'text' } } } })).toBe(false);
  });

  it('compiles the promote component: its inputs reach the job', () => {
    const file = join(work, 'promote.yml');
    writeFileSync(
      file,
      YAML.stringify({
        include: [
          {
            component: '$CI_SERVER_FQDN/gitops-release/gitops-release/promote@1',
            inputs: { repo: 'g/m', from: 'overlays/staging', to: 'overlays/prod' },
          },
        ],
        stages: ['promote'],
      }),
    );
    const p = loadPipeline({
      config: file,
      components: COMPONENTS,
      variables: { CI_SERVER_FQDN: 'gitlab.test' },
    });
    expect(p.jobs[0]).toMatchObject({
      name: 'promote',
      variables: {
        GR_REPO: 'g/m',
        GR_FROM: 'overlays/staging',
        GR_TO: 'overlays/prod',
        GR_HOST: 'gitlab',
      },
    });
  });

  it('refuses inputs as GitLab does: a required one missing, one not in options, an unknown one', () => {
    const config = (inputs: Record<string, unknown>) => {
      const file = join(work, `c-${Math.random()}.yml`);
      writeFileSync(
        file,
        YAML.stringify({
          include: [
            {
              component: '$CI_SERVER_FQDN/gitops-release/gitops-release/create_release_pr@1',
              inputs,
            },
          ],
        }),
      );
      return () =>
        loadPipeline({
          config: file,
          components: COMPONENTS,
          variables: { CI_SERVER_FQDN: 'gitlab.test' },
        });
    };
    expect(config({ paths: 'k.yaml' })).toThrow(
      /`repo` input: required value has not been provided/,
    );
    expect(config({ repo: 'a/b', paths: 'k', host: 'bitbucket' })).toThrow(
      /not in the list of allowed options/,
    );
    expect(config({ repo: 'a/b', paths: 'k', draft: 'yes' })).toThrow(
      /`draft` input: provided value is not a boolean/,
    );
    expect(config({ repo: 'a/b', paths: 'k', nope: 1 })).toThrow(GitLabCiConfigError);
    const ok = config({ repo: 'a/b', paths: 'k', stage: 'deploy' })();
    expect(ok.jobs.map((j) => j.name)).toEqual(['create_release_pr']);
    expect(ok.jobs[0]?.variables).toMatchObject({
      GR_REPO: 'a/b',
      GR_HOST: 'gitlab',
      GR_APP_REPO: '$CI_PROJECT_PATH',
      GR_DRAFT: 'false',
    });
  });
});

describe('seed 002 through the offline runner: registry, then the merge request', () => {
  let engine: DockerEngine;
  let registry: TestRegistry;
  let sim: GitLabSimulator;
  let app: string;
  let sha: string;
  const deployment = (image: string) =>
    `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: hello-python\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: ${image} # updated by the release\n`;

  beforeAll(async () => {
    [engine, registry, sim] = await Promise.all([
      startDockerEngine(),
      startRegistry('htpasswd'),
      startGitLabSimulator(),
    ]);
    app = await makeContext(BUSYBOX_DOCKERFILE, { 'app.txt': 'hello-python\n' });
    const git = (...a: string[]) =>
      exec('git', ['-C', app, '-c', 'user.name=dev', '-c', 'user.email=dev@x', ...a]);
    await git('init', '-q', '--initial-branch=main');
    await git('add', '.');
    await git('commit', '-q', '-m', 'app');
    sha = (await git('rev-parse', 'HEAD')).stdout.trim();
  });
  afterAll(async () => {
    await Promise.all([engine?.stop(), registry?.stop(), sim?.close()]);
    rmSync(work, { recursive: true, force: true });
  });

  async function runExample(file: string, manifests: string) {
    // Only the endpoints and the CLI change: this checkout's bundle instead of npm.
    const cli = `node ${join(root, 'dist/cli.cjs')}`;
    const config = YAML.parse(readFileSync(file, 'utf8'));
    for (const include of config.include ?? []) {
      include.inputs = { ...include.inputs, cli };
      if (include.inputs.repo) include.inputs.repo = manifests;
    }
    if (config.variables?.GITOPS_RELEASE) config.variables.GITOPS_RELEASE = cli;
    for (const job of Object.values(config) as { script?: string[] }[]) {
      if (job && typeof job === 'object' && Array.isArray(job.script))
        job.script = job.script.map((l) => l.replace(MANIFESTS, manifests));
    }
    const path = join(work, `${Math.random()}.gitlab-ci.yml`);
    writeFileSync(path, YAML.stringify(config));
    const variables = {
      CI: 'true',
      GITLAB_CI: 'true',
      CI_SERVER_URL: sim.url,
      CI_SERVER_FQDN: 'gitlab.test',
      CI_API_V4_URL: `${sim.url}/api/v4`,
      CI_PROJECT_PATH: APP,
      CI_COMMIT_SHA: sha,
      CI_COMMIT_SHORT_SHA: sha.slice(0, 8),
      CI_COMMIT_BRANCH: 'main',
      CI_DEFAULT_BRANCH: 'main',
      CI_PIPELINE_URL: `${sim.url}/${APP}/-/pipelines/1`,
      CI_REGISTRY: registry.host,
      CI_REGISTRY_IMAGE: `${registry.host}/${APP}`,
      CI_REGISTRY_USER: TEST_USER,
      CI_REGISTRY_PASSWORD: TEST_PASSWORD,
      GITLAB_TOKEN: sim.tokens.write,
    };
    const pipeline = loadPipeline({ config: path, components: COMPONENTS, variables });
    const results = [];
    for (const job of pipeline.jobs) {
      const machineEnv = { PATH: process.env.PATH ?? '', HOME: work, DOCKER_HOST: engine.host };
      const r = await runJob(pipeline, job, { variables, machineEnv, projectDir: app });
      results.push(r);
      if (r.exitCode !== 0) break;
    }
    return results;
  }

  it.each(examples)(
    '%s: builds into the registry and opens the merge request in the manifest project',
    async (file) => {
      const manifests = `${MANIFESTS}-${file.includes('script-lines') ? 'plain' : 'component'}`;
      await sim.createProject(manifests, {
        'overlays/dev/deployment.yml': deployment(`${registry.host}/${APP}:0a1b2c3`),
      });
      const results = await runExample(file, manifests);
      expect(results.map((r) => [r.name, r.exitCode])).toEqual([
        ['build_and_push_image', 0],
        ['create_release_pr', 0],
      ]);
      const tag = sha.slice(0, 7);
      const pushed = await registry.manifest(APP, tag);
      expect(pushed.digest).toMatch(/^sha256:/);
      const [mr] = sim.mergeRequests(manifests);
      expect(mr).toMatchObject({
        source: `release-${tag}`,
        target: 'main',
        state: 'opened',
        labels: ['release'],
      });
      expect(await sim.readFile(manifests, `release-${tag}`, 'overlays/dev/deployment.yml')).toBe(
        deployment(`${registry.host}/${APP}:${tag}`),
      );
      // The registry password and the token never reach the log.
      for (const r of results) {
        expect(r.output).not.toContain(TEST_PASSWORD);
        expect(r.output).not.toContain(sim.tokens.write);
      }
    },
    300_000,
  );
});
