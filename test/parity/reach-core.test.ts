// Every input reaches core with its value intact, on every surface: the Action's inputs through
// getInputs and the request the command hands core; the CLI's flags through its parser and its
// request; the orb's parameters through the orb's own script (run with bash, with a CLI that
// records its argv) and then the CLI. Not only that they parse: the field core reads holds the value.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { buildRequest as actionBuildRequest } from '../../packages/action/src/commands/build.js';
import { promoteRequest as actionPromoteRequest } from '../../packages/action/src/commands/promote.js';
import { releaseRequest as actionReleaseRequest } from '../../packages/action/src/commands/release.js';
import {
  type BuildInputs,
  getInputs,
  type PromoteInputs,
  type ReleaseInputs,
} from '../../packages/action/src/inputs.js';
import {
  CLI_COMMAND,
  COMMANDS,
  type CommandName,
  INPUTS,
  type InputName,
  type InputSpec,
  inputsOf,
  orbName,
} from '../../packages/action/src/spec.js';
import { parseCommandArgs } from '../../packages/cli/src/command.js';
import {
  buildPlaces,
  buildRequest as cliBuildRequest,
} from '../../packages/cli/src/commands/build-and-push-image.js';
import { releaseRequest as cliReleaseRequest } from '../../packages/cli/src/commands/create-release-pr.js';
import { promotionRequest as cliPromotionRequest } from '../../packages/cli/src/commands/promote.js';
import { commands } from '../../packages/cli/src/main.js';
import { formatImageReference, type ImageReference } from '../../packages/core/src/index.js';

const root = join(import.meta.dirname, '../..');
const SHA = '0123456789abcdef0123456789abcdef01234567';
const CWD = '/work/app';
const work = mkdtempSync(join(tmpdir(), 'gr-parity-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

type Value = string | boolean | string[];
interface Sample {
  value: Value;
  /** A command's own value, where the two take different shapes (one image to build). */
  per?: Partial<Record<CommandName, Value>>;
  /** What core's request field holds, per command (dotted path from the spec). */
  want: Partial<Record<CommandName, unknown>>;
  /** Baseline inputs this sample replaces (an untagged image for `tag`). */
  with?: Partial<Record<InputName, Value>>;
  /** Environment variables the input names (a build secret's variable). */
  env?: Record<string, string>;
}

const BODY_FILE = join(work, 'release-notes.md');
writeFileSync(BODY_FILE, '## Notes\n\nFrom a file.\n');

/** One distinctive value per input; an input of the spec with a core field and no sample fails. */
const SAMPLES: Partial<Record<InputName, Sample>> = {
  'dry-run': {
    value: true,
    want: { build_and_push_image: true, create_release_pr: true, promote: true },
  },
  image: {
    value: ['ghcr.io/o/web:1', 'ghcr.io/o/api:2'],
    // A mixed-case owner, as `${{ github.repository }}` gives it: lowercased on every surface.
    per: {
      build_and_push_image: 'ghcr.io/Acme-Corp/Web',
      promote: ['ghcr.io/o/web', 'ghcr.io/o/api'],
    },
    want: {
      build_and_push_image: 'ghcr.io/acme-corp/web',
      create_release_pr: ['ghcr.io/o/web:1', 'ghcr.io/o/api:2'],
      promote: ['ghcr.io/o/web', 'ghcr.io/o/api'],
    },
  },
  tag: {
    value: 'v1.2.3',
    with: { image: ['ghcr.io/o/web'] },
    want: { build_and_push_image: 'v1.2.3', create_release_pr: 'v1.2.3' },
  },
  commit: {
    value: 'fedcba9876543210fedcba9876543210fedcba98',
    want: {
      build_and_push_image: 'fedcba9876543210fedcba9876543210fedcba98',
      create_release_pr: 'fedcba9',
    },
  },
  'sha-length': {
    value: '10',
    want: { build_and_push_image: 10, create_release_pr: SHA.slice(0, 10) },
  },
  'extra-tags': {
    value: ['latest', 'ghcr.io/o/web:stable'],
    want: { build_and_push_image: ['latest', 'ghcr.io/o/web:stable'] },
  },
  context: { value: 'app', want: { build_and_push_image: resolve(CWD, 'app') } },
  file: {
    value: 'docker/Containerfile',
    want: { build_and_push_image: resolve(CWD, 'docker/Containerfile') },
  },
  target: { value: 'runtime', want: { build_and_push_image: 'runtime' } },
  'build-args': {
    value: ['LIST=a,b', 'MODE=prod'],
    want: { build_and_push_image: { LIST: 'a,b', MODE: 'prod' } },
  },
  'image-labels': {
    value: ['org.example.teams=web,api'],
    want: { build_and_push_image: { 'org.example.teams': 'web,api' } },
  },
  platforms: {
    value: ['linux/amd64', 'linux/arm64'],
    want: { build_and_push_image: ['linux/amd64', 'linux/arm64'] },
  },
  'cache-from': {
    value: ['type=registry,ref=ghcr.io/o/web:cache', 'type=gha'],
    want: { build_and_push_image: ['type=registry,ref=ghcr.io/o/web:cache', 'type=gha'] },
  },
  'cache-to': {
    value: ['type=registry,ref=ghcr.io/o/web:cache,mode=max'],
    want: { build_and_push_image: ['type=registry,ref=ghcr.io/o/web:cache,mode=max'] },
  },
  'skip-existing': { value: false, want: { build_and_push_image: false } },
  base: { value: 'production', want: { create_release_pr: 'production', promote: 'production' } },
  paths: {
    value: ['overlays/staging', 'apps/web/values.yaml'],
    want: { create_release_pr: ['overlays/staging', 'apps/web/values.yaml'] },
  },
  mode: { value: 'push', want: { create_release_pr: 'push', promote: 'push' } },
  branch: {
    value: 'deploy/{app}-{sha}',
    want: { create_release_pr: 'deploy/{app}-{sha}', promote: 'deploy/{app}-{sha}' },
  },
  title: {
    value: 'Deploy {image}',
    want: { create_release_pr: 'Deploy {image}', promote: 'Deploy {image}' },
  },
  'commit-message': {
    value: 'chore: {tag}',
    want: { create_release_pr: 'chore: {tag}', promote: 'chore: {tag}' },
  },
  labels: {
    value: ['release', 'web'],
    want: { create_release_pr: ['release', 'web'], promote: ['release', 'web'] },
  },
  reviewers: {
    value: ['alice', 'bob'],
    want: { create_release_pr: ['alice', 'bob'], promote: ['alice', 'bob'] },
  },
  'team-reviewers': { value: ['sre'], want: { create_release_pr: ['sre'], promote: ['sre'] } },
  assignees: { value: ['carol'], want: { create_release_pr: ['carol'], promote: ['carol'] } },
  draft: { value: true, want: { create_release_pr: true, promote: true } },
  'auto-merge': { value: true, want: { create_release_pr: 'squash', promote: 'squash' } },
  'merge-method': {
    value: 'rebase',
    with: { 'auto-merge': true },
    want: { create_release_pr: 'rebase', promote: 'rebase' },
  },
  'close-superseded': { value: true, want: { create_release_pr: true, promote: true } },
  'allow-downgrade': { value: true, want: { create_release_pr: true, promote: true } },
  'app-repo': {
    value: 'o/web-app',
    want: { create_release_pr: 'o/web-app', promote: 'o/web-app' },
  },
  key: {
    value: '.spec.template.spec.containers[name=web].image',
    want: { create_release_pr: '.spec.template.spec.containers[name=web].image' },
  },
  'add-missing': { value: true, want: { create_release_pr: true } },
  from: {
    value: ['overlays/qa', 'charts/web/values-qa.yaml'],
    want: { promote: ['overlays/qa', 'charts/web/values-qa.yaml'] },
  },
  to: { value: ['overlays/production'], want: { promote: ['overlays/production'] } },
  expect: { value: ['ghcr.io/o/web:1a2b3c4'], want: { promote: ['ghcr.io/o/web:1a2b3c4'] } },
  'pin-digest': { value: true, want: { promote: true } },
  // What users of docker/build-push-action and peter-evans/create-pull-request expect (issue 11).
  push: { value: false, want: { build_and_push_image: false } },
  secrets: {
    value: ['npm_token=tok,with=commas', 'other=x'],
    want: {
      build_and_push_image: [
        { id: 'npm_token', value: 'tok,with=commas' },
        { id: 'other', value: 'x' },
      ],
    },
  },
  'secret-envs': {
    value: ['npm_token=NPM_TOKEN'],
    env: { NPM_TOKEN: 'from-the-environment' },
    want: { build_and_push_image: [{ id: 'npm_token', value: 'from-the-environment' }] },
  },
  'no-cache': { value: true, want: { build_and_push_image: true } },
  pull: { value: true, want: { build_and_push_image: true } },
  body: {
    value: 'Deploys {app} at {sha}.\n\n- [ ] checked',
    want: { create_release_pr: 'Deploys {app} at {sha}.\n\n- [ ] checked' },
  },
  'body-path': { value: BODY_FILE, want: { create_release_pr: '## Notes\n\nFrom a file.\n' } },
  author: {
    value: 'Dev One <dev1@example.com>',
    want: { create_release_pr: { name: 'Dev One', email: 'dev1@example.com' } },
  },
  committer: {
    value: 'Release Bot <bot@example.com>',
    want: { create_release_pr: { name: 'Release Bot', email: 'bot@example.com' } },
  },
  milestone: { value: '7', want: { create_release_pr: 7 } },
  'delete-branch': {
    value: true,
    with: { 'close-superseded': true },
    want: { create_release_pr: true },
  },
};

const BASELINE: Record<CommandName, Partial<Record<InputName, Value>>> = {
  build_and_push_image: { image: ['ghcr.io/o/web'] },
  promote: { repo: 'o/manifests', from: ['overlays/staging'], to: ['overlays/prod'] },
  create_release_pr: {
    repo: 'o/manifests',
    paths: ['overlays/staging'],
    image: ['ghcr.io/o/web:1'],
  },
};

const spec = (name: InputName): InputSpec => INPUTS[name];

function coreField(name: InputName, command: CommandName): string | undefined {
  const core = spec(name).core;
  const field = typeof core === 'object' && !('absent' in core) ? core[command] : core;
  return typeof field === 'string' ? field : undefined;
}

/** A request field by dotted path; image references compared as the text users write. */
function read(request: object, path: string): unknown {
  let value: unknown = request;
  for (const part of path.split('.')) value = (value as Record<string, unknown>)?.[part];
  const asText = (v: unknown) =>
    v && typeof v === 'object' && 'repository' in v ? formatImageReference(v as ImageReference) : v;
  return Array.isArray(value) ? value.map(asText) : path.endsWith('.tag') ? value : asText(value);
}

function inputsFor(command: CommandName, name: InputName, sample: Sample) {
  return { ...BASELINE[command], ...sample.with, [name]: sample.per?.[command] ?? sample.value };
}

// --- the Action ---

function actionValue(name: InputName, value: Value): string {
  if (typeof value === 'boolean') return String(value);
  if (!Array.isArray(value)) return value;
  // A list written as YAML users do: lines for `lines` inputs, commas and lines mixed for lists.
  return spec(name).kind === 'lines' ? value.join('\n') : value.join(',\n');
}

function actionRequest(
  command: CommandName,
  given: Partial<Record<InputName, Value>>,
  extraEnv: Record<string, string> = {},
) {
  const env: Record<string, string> = {
    ...extraEnv,
    GITHUB_SHA: SHA,
    INPUT_COMMAND: command,
  };
  for (const [name, value] of Object.entries(given))
    env[`INPUT_${name.toUpperCase()}`] = actionValue(name as InputName, value!);
  const inputs = getInputs(env);
  if (command === 'promote') return actionPromoteRequest(inputs as PromoteInputs, env);
  return command === 'build_and_push_image'
    ? actionBuildRequest(inputs as BuildInputs, env, CWD, new Date(0))
    : actionReleaseRequest(inputs as ReleaseInputs, env);
}

// --- the CLI ---

function cliArgs(name: InputName, value: Value): string[] {
  const flags = spec(name).cli as string[];
  if (typeof value === 'boolean') return [`--${value ? flags[0] : flags[1]}`];
  return (Array.isArray(value) ? value : [value]).flatMap((v) => [`--${flags[0]}`, v]);
}

async function cliRequest(command: CommandName, argv: string[], env: Record<string, string>) {
  const cli = commands.find((c) => c.name === CLI_COMMAND[command])!;
  const args = parseCommandArgs(cli, argv);
  const io = { stdout: () => {}, stderr: () => {}, env, cwd: CWD };
  if (command === 'promote') return cliPromotionRequest(args, io);
  return command === 'build_and_push_image'
    ? cliBuildRequest(args, io, buildPlaces(args, io))
    : cliReleaseRequest(args, io, 'github');
}

function hasCliFlag(name: InputName, command: CommandName): boolean {
  return Array.isArray(spec(name).cli) && !spec(name).notIn?.[command]?.cli;
}

// --- the orb ---

const fakeCli = join(work, 'record-argv.cjs');
writeFileSync(
  fakeCli,
  `require('fs').writeFileSync(process.env.ARGV_FILE, JSON.stringify(process.argv.slice(2)));\nconsole.log('{}');\n`,
);
const utils = readFileSync(join(root, 'orb/src/scripts/utils.sh'), 'utf8');

function orbValue(name: InputName, value: Value): string {
  if (typeof value === 'boolean') return value ? '1' : '0'; // CircleCI's booleans in the environment
  if (!Array.isArray(value)) return value;
  return spec(name).kind === 'lines' ? value.join('\n') : value.join(',');
}

/** The orb's command script with these parameters: the argv it gives the CLI. */
function orbArgv(
  command: CommandName,
  given: Partial<Record<InputName, Value>>,
  extraEnv: Record<string, string> = {},
): string[] {
  const script = readFileSync(join(root, `orb/src/scripts/${CLI_COMMAND[command]}.sh`), 'utf8');
  const argvFile = join(work, `argv-${command}.json`);
  const env: Record<string, string> = {
    ...extraEnv,
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    GITOPS_RELEASE_UTILS: utils,
    GITOPS_RELEASE_CLI: fakeCli,
    ARGV_FILE: argvFile,
    BASH_ENV: join(work, 'bash-env'),
    CIRCLE_SHA1: SHA,
    CIRCLE_PROJECT_USERNAME: 'o',
    CIRCLE_PROJECT_REPONAME: 'web',
    GITHUB_TOKEN: 'not-a-real-token',
  };
  // CircleCI passes every parameter, with its default when not given (booleans as 1/0).
  const declared = YAML.parse(readFileSync(join(root, `orb/src/commands/${command}.yml`), 'utf8'))
    .parameters as Record<string, { default?: unknown }>;
  for (const [orb, p] of Object.entries(declared))
    if (p.default !== undefined)
      env[`PARAM_${orb.toUpperCase()}`] =
        typeof p.default === 'boolean' ? (p.default ? '1' : '0') : String(p.default);
  for (const [name, value] of Object.entries(given)) {
    const orb = orbName(name as InputName);
    if (typeof orb === 'string')
      env[`PARAM_${orb.toUpperCase()}`] = orbValue(name as InputName, value!);
  }
  const r = spawnSync('bash', ['-eo', 'pipefail', '-c', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
    encoding: 'utf8',
    cwd: work,
  });
  if (r.status !== 0) throw new Error(`orb script failed: ${r.stderr}`);
  const argv = JSON.parse(readFileSync(argvFile, 'utf8')) as string[];
  expect(argv[0]).toBe(CLI_COMMAND[command]);
  return argv.slice(1);
}

function hasOrbParameter(name: InputName, command: CommandName): boolean {
  return typeof orbName(name) === 'string' && !spec(name).notIn?.[command]?.orb;
}

describe.each(COMMANDS)('%s: each input reaches core', (command) => {
  const reaching = inputsOf(command).filter((n) => coreField(n, command) !== undefined);

  it('every input with a core field has a sample here', () => {
    expect(reaching.filter((n) => SAMPLES[n]?.want[command] === undefined)).toEqual([]);
  });

  const rows = reaching
    .filter((n) => SAMPLES[n]?.want[command] !== undefined)
    .map((n) => [n, coreField(n, command)!] as const);

  it.each(rows)('Action input %s → %s', async (name, field) => {
    const sample = SAMPLES[name]!;
    const request = await actionRequest(command, inputsFor(command, name, sample), sample.env);
    expect(read(request, field)).toEqual(sample.want[command]);
    // Without the input the field holds something else, so the assertion above could fail.
    const without = await actionRequest(
      command,
      { ...BASELINE[command], ...sample.with },
      sample.env,
    );
    expect(read(without, field)).not.toEqual(sample.want[command]);
  });

  it.each(rows.filter(([n]) => hasCliFlag(n, command)))(
    'CLI flag of %s → %s',
    async (name, field) => {
      const sample = SAMPLES[name]!;
      const argv = Object.entries(inputsFor(command, name, sample)).flatMap(([n, v]) =>
        cliArgs(n as InputName, v!),
      );
      const request = await cliRequest(command, argv, { ...sample.env, GITHUB_SHA: SHA });
      expect(read(request, field)).toEqual(sample.want[command]);
    },
  );

  it.each(rows.filter(([n]) => hasOrbParameter(n, command)))(
    'orb parameter of %s → CLI → %s',
    async (name, field) => {
      const sample = SAMPLES[name]!;
      const argv = orbArgv(command, inputsFor(command, name, sample), sample.env);
      const request = await cliRequest(command, argv, { ...sample.env, CIRCLE_SHA1: SHA });
      expect(read(request, field)).toEqual(sample.want[command]);
    },
  );
});
