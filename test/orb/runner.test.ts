// The offline runner's own mechanics, on a small probe orb and on the real orb's install_cli:
// parameter expansion and checks, includes, environment, BASH_ENV, step failure.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { OrbPackError, resolveIncludes } from '../../scripts/pack-orb.mjs';
import {
  allOutput,
  type JobResult,
  OfflineRunner,
  OrbConfigError,
  type RunnerOptions,
} from './runner.js';

const root = join(import.meta.dirname, '../..');
const probeOrb = join(import.meta.dirname, 'fixtures/probe-orb');
const packedOrb = join(root, 'orb/orb.yml');
const work = mkdtempSync(join(tmpdir(), 'orb-runner-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const pipeline = {
  sha: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
  branch: 'main',
  projectUsername: 'acme',
  projectReponame: 'web',
};

function runner(config: string, extra: Partial<RunnerOptions> = {}) {
  return new OfflineRunner({
    config,
    orbs: { 'test/probe@1.0': probeOrb, 'gitops-release/gitops-release@1': packedOrb },
    pipeline,
    workDir: mkdtempSync(join(work, 'run-')),
    machineEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    ...extra,
  });
}

function job(results: JobResult[], name: string): JobResult {
  const found = results.find((r) => r.name === name);
  if (!found) throw new Error(`no job ${name} in ${results.map((r) => r.name).join(', ')}`);
  return found;
}

const probeConfig = (args: string, more = '') => `
version: 2.1
orbs:
  probe: test/probe@1.0
workflows:
  main:
    jobs:
      - probe/probe:
          name: first
${args}
${more}`;

describe('offline orb runner', () => {
  it('expands parameters, includes, booleans and pipeline values as CircleCI does', async () => {
    const results = await runner(probeConfig('          text: hello world\n          flag: true'), {
      projectEnv: { PROBE_SECRET: 'x' },
    }).runWorkflow();
    const first = job(results, 'first');
    expect(first.status).toBe('success');
    expect(first.executor).toEqual({ kind: 'docker', image: 'cimg/base:1.0' });
    const [probe, read] = first.steps;
    // In a string a boolean reads true; in the environment CircleCI turns it into 1.
    expect(probe?.name).toBe('Probe hello world flag=true');
    expect(probe?.output).toContain('text=hello world flag=1 color=green');
    expect(probe?.output).toContain('secret_env=PROBE_SECRET set=yes');
    expect(probe?.output).toMatch(
      /pwd=\S+\/home\/project sha=a1b2c3d4e5f6\S+ branch=main job=first/,
    );
    // The included script is the step's command, byte for byte.
    expect(probe?.command).toBe(readFileSync(join(probeOrb, 'scripts/probe.sh'), 'utf8'));
    // BASH_ENV written by one step is sourced by the next.
    expect(read?.output).toContain(`seen=green revision=${pipeline.sha}`);
    expect(first.steps.map((s) => s.name)).toEqual([
      'Probe hello world flag=true',
      'Read BASH_ENV',
      'After the failure',
      'Always',
    ]);
  });

  it('stops a job at the first failing step, still runs when: always, and blocks dependents', async () => {
    const results = await runner(
      probeConfig(
        '          text: x\n          fail: true',
        '      - probe/probe:\n          name: second\n          requires: [first]\n          text: y',
      ),
    ).runWorkflow();
    const first = job(results, 'first');
    expect(first.status).toBe('failed');
    const fail = first.steps.find((s) => s.name === 'Fail');
    expect(fail?.exitCode).toBe(3);
    expect(first.steps.map((s) => s.name)).not.toContain('After the failure');
    expect(first.steps.at(-1)?.output).toBe('always\n');
    expect(job(results, 'second').status).toBe('blocked');
  });

  it('refuses a missing required parameter, naming it and the job', async () => {
    expect(() =>
      runner(probeConfig('          flag: true')).expandJob(
        { 'probe/probe': { name: 'j', flag: true } },
        'w',
      ),
    ).toThrow(/job j \(probe\/probe\): parameter 'text' is required/);
    await expect(runner(probeConfig('          flag: true')).runWorkflow()).rejects.toThrow(
      OrbConfigError,
    );
  });

  it('refuses wrong types, enum values, env_var_name values and unknown parameters', () => {
    const r = runner(probeConfig('          text: x'));
    expect(() => r.expandJob({ 'probe/probe': { text: 'x', flag: 'maybe' } }, 'w')).toThrow(
      /parameter 'flag' must be a boolean, not "maybe"/,
    );
    expect(() => r.expandJob({ 'probe/probe': { text: 'x', nope: 1 } }, 'w')).toThrow(
      /unknown parameter 'nope'/,
    );
    expect(() => r.expandJob({ 'probe/probe': { text: ['a'] } }, 'w')).toThrow(
      /parameter 'text' must be a string/,
    );
    expect(() =>
      r.expandJob(
        { 'probe/probe': { text: 'x', executor: { name: 'probe/small', tag: false } } },
        'w',
      ),
    ).toThrow(/executor probe\/small: parameter 'tag' must be a string/);
    // Commands are checked too, with their own names in the message.
    const cmd = runner(`
version: 2.1
orbs:
  probe: test/probe@1.0
jobs:
  mine:
    docker: [{ image: cimg/base:current }]
    steps:
      - probe/probe:
          text: x
          color: blue
workflows:
  main:
    jobs: [mine]
`);
    expect(() => cmd.expandJob('mine', 'w')).toThrow(
      /command probe\/probe: parameter 'color' must be one of red, green, not "blue"/,
    );
    const envName = runner(`
version: 2.1
orbs:
  probe: test/probe@1.0
jobs:
  mine:
    docker: [{ image: cimg/base:current }]
    steps:
      - probe/probe:
          text: x
          secret_env: not a name
workflows:
  main:
    jobs: [mine]
`);
    expect(() => envName.expandJob('mine', 'w')).toThrow(
      /parameter 'secret_env' must be the name of an environment variable/,
    );
  });

  it('applies contexts, branch filters and the step environment over the project environment', async () => {
    const results = await runner(
      `
version: 2.1
jobs:
  show:
    docker: [{ image: cimg/base:current }]
    environment: { LEVEL: job }
    steps:
      - run:
          name: Show
          environment: { STEP_ONLY: "yes", FLAG: true }
          command: echo "$LEVEL $FROM_CONTEXT $FROM_PROJECT $STEP_ONLY $FLAG"
workflows:
  main:
    jobs:
      - show:
          context: team
      - show:
          name: release_only
          filters: { branches: { only: /release-.*/ } }
`,
      {
        contexts: { team: { FROM_CONTEXT: 'ctx', LEVEL: 'context' } },
        projectEnv: { FROM_PROJECT: 'proj' },
      },
    ).runWorkflow();
    expect(job(results, 'show').steps[0]?.output).toBe('job ctx proj yes 1\n');
    expect(job(results, 'release_only').status).toBe('filtered');
  });

  it('runs the real orb install_cli: the CLI unpacked from the orb answers --version', async () => {
    const results = await runner(`
version: 2.1
orbs:
  gitops-release: gitops-release/gitops-release@1
jobs:
  use_cli:
    executor: gitops-release/node
    steps:
      - gitops-release/install_cli
      - run:
          name: Call the CLI
          command: node "$GITOPS_RELEASE_CLI" --version
workflows:
  main:
    jobs: [use_cli]
`).runWorkflow();
    const useCli = job(results, 'use_cli');
    expect(useCli.executor).toEqual({ kind: 'docker', image: 'cimg/node:24.11' });
    expect(useCli.status, allOutput(results)).toBe('success');
    const version = JSON.parse(
      readFileSync(join(root, 'packages/cli/package.json'), 'utf8'),
    ).version;
    expect(useCli.steps[0]?.output).toContain(`gitops-release ${version} is at`);
    expect(useCli.steps[1]?.output).toBe(`${version}\n`);
  });

  it('fails the unpack step when a part of the carried CLI is damaged', async () => {
    const r = runner(`
version: 2.1
orbs:
  gitops-release: gitops-release/gitops-release@1
jobs:
  use_cli:
    executor: gitops-release/node
    steps: [gitops-release/install_cli]
workflows:
  main:
    jobs: [use_cli]
`);
    const expanded = r.expandJob('use_cli', 'w');
    const step = expanded.steps[0]!;
    const part = step.environment!.GITOPS_RELEASE_CLI_PART_0!;
    step.environment!.GITOPS_RELEASE_CLI_PART_0 = `${part.slice(0, 40)}${part[40] === 'A' ? 'B' : 'A'}${part.slice(41)}`;
    const result = await r.runJob(expanded);
    expect(result.status).toBe('failed');
    expect(result.steps[0]?.output).toMatch(
      /gitops-release: the CLI carried by the orb is damaged \((gunzip|sha256)/,
    );
  });

  it('packs an orb source directory with its includes, and refuses a missing include', () => {
    const r = runner(probeConfig('          text: x'));
    const expanded = r.expandJob({ 'probe/probe': { text: 'x' } }, 'w');
    expect(expanded.steps[0]?.command).toContain('echo "text=$PARAM_TEXT');
    expect(() =>
      runner(probeConfig('          text: x'), {
        orbs: { 'test/probe@1.0': join(import.meta.dirname, 'fixtures/broken-include-orb') },
      }),
    ).toThrow(OrbPackError);
  });

  it('compiles every usage example the orb publishes, with their parameters checked', () => {
    const orb = YAML.parse(readFileSync(packedOrb, 'utf8'));
    const names = Object.keys(orb.examples);
    expect(names.length).toBeGreaterThanOrEqual(3);
    for (const name of names) {
      const usage = orb.examples[name].usage;
      const r = runner(YAML.stringify(usage));
      for (const [wfName, wf] of Object.entries(
        usage.workflows as Record<string, { jobs: unknown[] }>,
      )) {
        wf.jobs.forEach((entry, i) => {
          const job = r.expandJob(entry, `${name}.${wfName}[${i}]`);
          // An approval job runs nothing: it waits for a person.
          if (!job.approval) expect(job.steps.length, `${name} ${job.name}`).toBeGreaterThan(0);
        });
      }
    }
  });

  it("expands the build job's when/and/not: remote Docker only when asked, with or without layer caching", () => {
    const config = (args: string) => `
version: 2.1
orbs:
  gitops-release: gitops-release/gitops-release@1
workflows:
  main:
    jobs:
      - gitops-release/build_and_push_image:
          image: ghcr.io/acme/web
          executor: gitops-release/node
${args}`;
    const steps = (args: string) =>
      runner(config(args))
        .expandJob(YAML.parse(config(args)).workflows.main.jobs[0], 'w')
        .steps.map((s) => s.kind);
    expect(steps('')).toEqual(['checkout', 'run', 'run']);
    expect(steps('          setup_remote_docker: true')).toEqual([
      'checkout',
      'setup_remote_docker',
      'run',
      'run',
    ]);
    expect(
      steps(
        '          setup_remote_docker: true\n          remote_docker_layer_caching: true\n          checkout: false',
      ),
    ).toEqual(['setup_remote_docker', 'run', 'run']);
  });

  it('refuses an include that is only part of a value, as orb pack does', () => {
    expect(() =>
      resolveIncludes({ command: 'bash -c <<include(scripts/x.sh)>>' }, probeOrb),
    ).toThrow(/must be the whole value/);
  });

  it('splices a steps parameter where the command says steps:', async () => {
    const results = await runner(`
version: 2.1
commands:
  wrap:
    description: Runs the given steps between two others.
    parameters:
      inner:
        type: steps
        description: The steps.
    steps:
      - run: { name: before, command: echo before }
      - steps: << parameters.inner >>
      - run: { name: after, command: echo after }
jobs:
  wrapped:
    docker: [{ image: cimg/base:current }]
    steps:
      - wrap:
          inner:
            - run: { name: middle, command: echo middle }
workflows:
  main:
    jobs: [wrapped]
`).runWorkflow();
    expect(results[0]?.steps.map((s) => s.output)).toEqual(['before\n', 'middle\n', 'after\n']);
  });
});
