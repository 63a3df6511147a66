import { lowercaseImageName, UsageError } from '@gitops-release/core';
import {
  APIS,
  BUILDERS,
  COMMANDS,
  type CommandName,
  forText,
  HOSTS,
  INPUT_NAMES,
  INPUTS,
  type InputName,
  type InputSpec,
  inputsOf,
  MERGE_METHODS,
  MODES,
} from './spec.js';

// The action's inputs, read from the environment the way the runner passes them: input `foo-bar`
// arrives as INPUT_FOO-BAR (uppercased, spaces → `_`, hyphens kept). Reading an injected env
// instead of process.env keeps this testable without module mocks.

export {
  APIS,
  BUILDERS,
  COMMANDS,
  type CommandName,
  HOSTS,
  INPUT_NAMES,
  INPUTS,
  type InputName,
  MERGE_METHODS,
  MODES,
} from './spec.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** The variable the runner sets for an input. */
export function inputVariable(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;
}

/** An input's raw value, trimmed; `undefined` when unset or empty (the runner passes '' for unset). */
export function rawInput(env: Env, name: InputName): string | undefined {
  const value = env[inputVariable(name)]?.trim();
  return value ? value : undefined;
}

function fail(name: string, message: string): never {
  throw new UsageError(`input "${name}": ${message}`, { input: name });
}

export function stringInput(env: Env, name: InputName): string | undefined {
  return rawInput(env, name);
}

export function requiredInput(env: Env, name: InputName, why: string): string {
  const value = rawInput(env, name);
  if (value === undefined) fail(name, `is required ${why}`);
  return value;
}

// The YAML 1.2 core schema's booleans, as the runner's own getBooleanInput accepts them.
const TRUE = new Set(['true', 'True', 'TRUE']);
const FALSE = new Set(['false', 'False', 'FALSE']);

export function booleanInput(env: Env, name: InputName, fallback: boolean): boolean {
  const value = rawInput(env, name);
  if (value === undefined) return fallback;
  if (TRUE.has(value)) return true;
  if (FALSE.has(value)) return false;
  return fail(name, `must be true or false, got "${value}"`);
}

export function enumInput<T extends string>(
  env: Env,
  name: InputName,
  values: readonly T[],
  fallback: T,
): T {
  const value = rawInput(env, name);
  if (value === undefined) return fallback;
  if ((values as readonly string[]).includes(value)) return value as T;
  return fail(name, `must be one of ${values.join(', ')}; got "${value}"`);
}

export function integerInput(
  env: Env,
  name: InputName,
  fallback: number,
  min: number,
  max: number,
): number {
  const value = rawInput(env, name);
  if (value === undefined) return fallback;
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > max)
    fail(name, `must be a whole number from ${min} to ${max}; got "${value}"`);
  return n;
}

/**
 * A list written one per line or comma-separated (YAML block `|` or flow style); blanks and `- `
 * bullets dropped. An input of kind `lines` splits on newlines only: its items hold commas.
 */
export function listInput(env: Env, name: InputName): string[] {
  const value = rawInput(env, name);
  if (value === undefined) return [];
  const spec: InputSpec = INPUTS[name];
  return value
    .split(spec.kind === 'lines' ? /\n/ : /[\n,]/)
    .map((item) => item.trim().replace(/^- +/, ''))
    .filter((item) => item !== '');
}

/** `KEY=VALUE` pairs (build args), each checked to have a key. */
function keyValueList(env: Env, name: InputName): Record<string, string> {
  const out: Record<string, string> = {};
  const value = rawInput(env, name);
  if (value === undefined) return out;
  // Build args may hold commas in their values, so only newlines separate them.
  for (const line of value.split('\n')) {
    const item = line.trim();
    if (!item) continue;
    const eq = item.indexOf('=');
    if (eq <= 0) fail(name, `each line must be KEY=VALUE; got "${item}"`);
    out[item.slice(0, eq).trim()] = item.slice(eq + 1);
  }
  return out;
}

/** The application commit: the `commit` input, else the runner's GITHUB_SHA. */
function commitInput(env: Env): string | undefined {
  const given = rawInput(env, 'commit');
  if (given !== undefined && !/^([0-9a-f]{40}|[0-9a-f]{64})$/i.test(given))
    fail('commit', `must be a full commit SHA (40 or 64 hex digits); got "${given}"`);
  return (given ?? env.GITHUB_SHA?.trim()) || undefined;
}

function shortSha(env: Env, length: number): string | undefined {
  const sha = commitInput(env);
  return sha ? sha.slice(0, length).toLowerCase() : undefined;
}

/** The tag for the build, and the default tag for release images given without one. */
function resolveTag(env: Env, shaLength: number): string | undefined {
  return rawInput(env, 'tag') ?? shortSha(env, shaLength);
}

/** Something to tell the user about their inputs, though the step goes on. */
export interface InputNote {
  level: 'warning' | 'notice';
  message: string;
}

export interface CommonInputs {
  dryRun: boolean;
  githubToken: string | undefined;
  /** Full commit SHA of the application repository: `commit`, else GITHUB_SHA. */
  sha: string | undefined;
  shaLength: number;
  /** Warnings (an input the command does not read) and notices (an image name lowercased). */
  notes: InputNote[];
}

export interface BuildInputs extends CommonInputs {
  command: 'build_and_push_image';
  image: string;
  /** The tag given; undefined means the short commit SHA (core's tag rule). */
  tag: string | undefined;
  extraTags: string[];
  context: string;
  file: string | undefined;
  target: string | undefined;
  builder: (typeof BUILDERS)[number];
  buildArgs: Record<string, string>;
  labels: Record<string, string>;
  platforms: string[];
  cacheFrom: string[];
  cacheTo: string[];
  username: string | undefined;
  password: string | undefined;
  gcpKey: string | undefined;
  /** Undefined: core decides (on for commit-SHA tags). */
  skipExisting: boolean | undefined;
  /** False: build only (pull-request CI). */
  push: boolean;
  /** Build secrets from `secrets` (ID=VALUE) and `secret-envs` (ID=VARIABLE). */
  secrets: { id: string; value: string }[];
  noCache: boolean;
  pull: boolean;
}

export interface ReleaseInputs extends CommonInputs {
  command: 'create_release_pr';
  repo: string;
  /** Images with their tag, `tag` (or the short SHA) filled in where one was given without. */
  images: string[];
  paths: string[];
  base: string | undefined;
  host: (typeof HOSTS)[number];
  githubUrl: string | undefined;
  api: (typeof APIS)[number];
  mode: (typeof MODES)[number];
  branch: string | undefined;
  title: string | undefined;
  commitMessage: string | undefined;
  /** Text above the generated table, as given (`body`); `body-path` is read by the command. */
  body: string | undefined;
  bodyPath: string | undefined;
  /** `Name <email>`, checked by the command (with GIT_AUTHOR_* and the actor as defaults). */
  author: string | undefined;
  committer: string | undefined;
  labels: string[];
  reviewers: string[];
  teamReviewers: string[];
  assignees: string[];
  draft: boolean;
  autoMerge: boolean;
  mergeMethod: (typeof MERGE_METHODS)[number] | undefined;
  closeSuperseded: boolean;
  deleteBranch: boolean;
  milestone: number | undefined;
  allowDowngrade: boolean;
  appRepo: string | undefined;
  key: string | undefined;
  addMissing: boolean;
  gitToken: string | undefined;
  sshKey: string | undefined;
}

/** What create_release_pr and promote both read: where the repository is, how to write to it. */
export type RepositoryInputs = Omit<
  ReleaseInputs,
  'command' | 'images' | 'paths' | 'key' | 'addMissing'
> & { command: 'create_release_pr' | 'promote' };

export interface PromoteInputs extends RepositoryInputs {
  command: 'promote';
  from: string[];
  to: string[];
  /** Image names to promote; none: every image both environments deploy. */
  images: string[];
  expect: string[];
  pinDigest: boolean;
  /** The registry login for pin-digest, as build_and_push_image takes it. */
  username: string | undefined;
  password: string | undefined;
  gcpKey: string | undefined;
}

export type Inputs = BuildInputs | ReleaseInputs | PromoteInputs;

/** The values of every secret input that is set, for masking before anything else runs. */
export function secretValues(env: Env): string[] {
  const values = INPUT_NAMES.filter((n) => (INPUTS[n] as InputSpec).secret)
    .map((n) => rawInput(env, n))
    .filter((v): v is string => v !== undefined);
  // A build secret's value alone, and the value of a variable `secret-envs` names, are secrets too.
  for (const [key, value] of [...secretPairs(env, 'secrets'), ...secretPairs(env, 'secret-envs')])
    values.push(key === 'secrets' ? value : (env[value] ?? ''));
  return values.filter((v) => v !== '');
}

/** `ID=VALUE` lines of a secrets input, unchecked (for masking, which must never fail). */
function secretPairs(env: Env, name: 'secrets' | 'secret-envs'): [string, string][] {
  return (rawInput(env, name) ?? '')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.includes('='))
    .map((line) => [name, line.slice(line.indexOf('=') + 1)]);
}

/**
 * `secrets` (`ID=VALUE`, as docker/build-push-action) and `secret-envs` (`ID=VARIABLE`): one a
 * line, since a value may hold commas. A bad line is named by its id only, never its value.
 */
function buildSecrets(env: Env): { id: string; value: string }[] {
  const out: { id: string; value: string }[] = [];
  for (const name of ['secrets', 'secret-envs'] as const) {
    for (const [i, line] of (rawInput(env, name) ?? '').split('\n').entries()) {
      const item = line.trim();
      if (!item) continue;
      const eq = item.indexOf('=');
      if (eq <= 0)
        fail(name, `line ${i + 1} must be ID=${name === 'secrets' ? 'VALUE' : 'VARIABLE'}`);
      const id = item.slice(0, eq).trim();
      const given = item.slice(eq + 1);
      const value = name === 'secrets' ? given : env[given.trim()];
      if (!value)
        fail(
          name,
          name === 'secrets'
            ? `secret "${id}" is empty`
            : `secret "${id}": the environment variable ${given.trim()} is empty or not set`,
        );
      out.push({ id, value });
    }
  }
  return out;
}

/**
 * The variable a sub-directory action's entry sets to fix its command (build-and-push-image/,
 * create-release-pr/ have no `command` input).
 */
export const FIXED_COMMAND_VARIABLE = 'GITOPS_RELEASE_COMMAND';

/** Reads and validates the inputs of the command chosen by `command`; throws a UsageError naming the input. */
export function getInputs(env: Env): Inputs {
  const fixed = env[FIXED_COMMAND_VARIABLE];
  const command = fixed ?? rawInput(env, 'command');
  if (command === undefined) fail('command', `is required: set it to ${COMMANDS.join(' or ')}`);
  const chosen: CommandName = fixed
    ? (COMMANDS.find((c) => c === fixed) ?? fail('command', `unknown command "${fixed}"`))
    : enumInput(env, 'command', COMMANDS, COMMANDS[0]);
  const shaLength = integerInput(env, 'sha-length', 7, 4, 40);
  const common: CommonInputs = {
    dryRun: booleanInput(env, 'dry-run', false),
    githubToken: rawInput(env, 'github-token'),
    sha: commitInput(env),
    shaLength,
    notes: strayInputs(env, chosen),
  };
  if (chosen === 'build_and_push_image') return buildInputs(env, common);
  if (chosen === 'promote') return promoteInputs(env, common);
  return releaseInputs(env, common, shaLength);
}

/**
 * Names users of other actions write, and what they are called here: the runner passes an
 * undeclared `with:` key as INPUT_* too, so it can be named instead of dropped.
 */
const KNOWN_ELSEWHERE: Record<string, Partial<Record<CommandName, string>>> = {
  // docker/build-push-action and docker/metadata-action
  tags: {
    build_and_push_image:
      '"extra-tags" (the image is tagged with the commit already; a full reference of the same image is accepted there)',
  },
  labels: { build_and_push_image: '"image-labels" ("labels" are the release pull request\'s)' },
  dockerfile: { build_and_push_image: '"file"' },
  platform: { build_and_push_image: '"platforms"' },
  // this action's names before 1.0
  path: { create_release_pr: '"paths"' },
  'app-repository': { create_release_pr: '"app-repo"' },
  // peter-evans/create-pull-request
  token: { create_release_pr: '"github-token"', build_and_push_image: '"github-token"' },
};

/**
 * Inputs given that the chosen command does not read: another command's (with a value other
 * than action.yml's default, which the runner passes for every input), or a name this action
 * spells differently. Each is a warning naming it, never silently dropped.
 */
function strayInputs(env: Env, command: CommandName): InputNote[] {
  const notes: InputNote[] = [];
  const own = new Set<string>(['command', ...inputsOf(command)]);
  for (const name of INPUT_NAMES) {
    if (own.has(name)) continue;
    const value = rawInput(env, name);
    const spec: InputSpec = INPUTS[name];
    if (value === undefined || value === spec.default) continue;
    const hint =
      command === 'build_and_push_image' && name === 'labels'
        ? `; image labels are "image-labels"`
        : '';
    notes.push({
      level: 'warning',
      message: `input "${name}" is for ${forText(spec)
        .replace(/`/g, '')
        .replace(/, ([^,]*)$/, ' and $1')}, not ${command}: it is ignored${hint}`,
    });
  }
  for (const [name, where] of Object.entries(KNOWN_ELSEWHERE)) {
    if (own.has(name) || INPUT_NAMES.includes(name as InputName)) continue;
    const instead = where[command];
    if (instead && env[inputVariable(name)]?.trim())
      notes.push({
        level: 'warning',
        message: `input "${name}" is not an input of gitops-release ${command}: it is ignored; use ${instead}`,
      });
  }
  return notes;
}

/** The image with its name lowercased (core's rule), and a notice naming the input when it changed. */
function lowercased(image: string, input: string, notes: InputNote[]): string {
  const lowered = lowercaseImageName(image);
  if (lowered !== image)
    notes.push({
      level: 'notice',
      message: `input "${input}": "${image}" has upper-case letters, which registries refuse in an image name: using "${lowered}"`,
    });
  return lowered;
}

function buildInputs(env: Env, common: CommonInputs): BuildInputs {
  const images = listInput(env, 'image');
  if (images.length === 0)
    fail('image', 'is required for build_and_push_image: the image name, e.g. ghcr.io/OWNER/APP');
  if (images.length > 1)
    fail('image', 'takes one image name for build_and_push_image; put extra tags in "extra-tags"');
  const image = lowercased(images[0]!, 'image', common.notes);
  // Core applies the tag rule (short SHA by default) and knows a commit tag from an explicit one.
  const tag = rawInput(env, 'tag');
  if (tag === undefined && common.sha === undefined && !/:[^/]+$/.test(image))
    fail('tag', 'is required when GITHUB_SHA is not set (it defaults to the short commit SHA)');
  const password = rawInput(env, 'password');
  const username = rawInput(env, 'username');
  const gcpKey = rawInput(env, 'gcp-key');
  if (gcpKey !== undefined && password !== undefined)
    fail('gcp-key', 'and "password" are two ways to log in: set only one');
  return {
    ...common,
    command: 'build_and_push_image',
    image,
    tag,
    extraTags: listInput(env, 'extra-tags'),
    context: rawInput(env, 'context') ?? '.',
    file: rawInput(env, 'file'),
    target: rawInput(env, 'target'),
    builder: enumInput(env, 'builder', BUILDERS, 'auto'),
    buildArgs: keyValueList(env, 'build-args'),
    labels: keyValueList(env, 'image-labels'),
    platforms: listInput(env, 'platforms'),
    cacheFrom: listInput(env, 'cache-from'),
    cacheTo: listInput(env, 'cache-to'),
    username,
    password,
    gcpKey,
    skipExisting: rawInput(env, 'skip-existing')
      ? booleanInput(env, 'skip-existing', true)
      : undefined,
    push: booleanInput(env, 'push', true),
    secrets: buildSecrets(env),
    noCache: booleanInput(env, 'no-cache', false),
    pull: booleanInput(env, 'pull', false),
  };
}

/** The repository and pull request inputs, as create_release_pr and promote read them. */
function repositoryInputs(
  env: Env,
  common: CommonInputs,
  command: RepositoryInputs['command'],
): RepositoryInputs {
  const repo = requiredInput(
    env,
    'repo',
    `for ${command}: the manifest repository, OWNER/NAME or a git URL`,
  );
  const autoMerge = booleanInput(env, 'auto-merge', false);
  const mergeMethod = rawInput(env, 'merge-method')
    ? enumInput(env, 'merge-method', MERGE_METHODS, 'squash')
    : undefined;
  if (mergeMethod && !autoMerge) fail('merge-method', 'only goes with "auto-merge: true"');
  const host = enumInput(env, 'host', HOSTS, looksLikeGitUrl(repo) ? 'git' : 'github');
  return {
    ...common,
    command,
    repo,
    base: rawInput(env, 'base'),
    host,
    githubUrl: rawInput(env, 'github-url') ?? (env.GITHUB_API_URL?.trim() || undefined),
    api: enumInput(env, 'api', APIS, 'auto'),
    mode: enumInput(env, 'mode', MODES, 'pull-request'),
    branch: rawInput(env, 'branch'),
    title: rawInput(env, 'title'),
    commitMessage: rawInput(env, 'commit-message'),
    body: bodyInput(env),
    bodyPath: rawInput(env, 'body-path'),
    author: rawInput(env, 'author'),
    committer: rawInput(env, 'committer'),
    labels: listInput(env, 'labels'),
    reviewers: listInput(env, 'reviewers'),
    teamReviewers: listInput(env, 'team-reviewers'),
    assignees: listInput(env, 'assignees'),
    draft: booleanInput(env, 'draft', false),
    autoMerge,
    mergeMethod,
    closeSuperseded: booleanInput(env, 'close-superseded', false),
    deleteBranch: booleanInput(env, 'delete-branch', false),
    milestone: rawInput(env, 'milestone')
      ? integerInput(env, 'milestone', 0, 1, Number.MAX_SAFE_INTEGER)
      : undefined,
    allowDowngrade: booleanInput(env, 'allow-downgrade', false),
    appRepo: rawInput(env, 'app-repo') ?? (env.GITHUB_REPOSITORY?.trim() || undefined),
    gitToken: rawInput(env, 'git-token'),
    sshKey: rawInput(env, 'ssh-key'),
  };
}

function releaseInputs(env: Env, common: CommonInputs, shaLength: number): ReleaseInputs {
  const repository = repositoryInputs(env, common, 'create_release_pr');
  const paths = listInput(env, 'paths');
  if (paths.length === 0)
    fail('paths', 'is required for create_release_pr: the files or directories to edit');
  const given = listInput(env, 'image');
  if (given.length === 0)
    fail('image', 'is required for create_release_pr: the image(s) to release, e.g. ghcr.io/o/app');
  const tag = resolveTag(env, shaLength);
  const images = given.map((value) => {
    const image = lowercased(value, 'image', common.notes);
    if (hasTagOrDigest(image)) return image;
    if (tag === undefined)
      fail('image', `"${image}" has no tag, and neither "tag" nor GITHUB_SHA gives one`);
    return `${image}:${tag}`;
  });
  return {
    ...repository,
    command: 'create_release_pr',
    images,
    paths,
    key: rawInput(env, 'key'),
    addMissing: booleanInput(env, 'add-missing', false),
  };
}

function promoteInputs(env: Env, common: CommonInputs): PromoteInputs {
  const repository = repositoryInputs(env, common, 'promote');
  const from = listInput(env, 'from');
  if (from.length === 0)
    fail(
      'from',
      'is required for promote: the environment that ran the version, e.g. overlays/staging',
    );
  const to = listInput(env, 'to');
  if (to.length === 0)
    fail(
      'to',
      'is required for promote: the environment to promote into, e.g. overlays/production',
    );
  const images = listInput(env, 'image').map((value) => {
    const image = lowercased(value, 'image', common.notes);
    if (hasTagOrDigest(image))
      fail(
        'image',
        `"${image}": for promote give image names only; the version is the one "from" deploys (check it with "expect")`,
      );
    return image;
  });
  const password = rawInput(env, 'password');
  const gcpKey = rawInput(env, 'gcp-key');
  if (gcpKey !== undefined && password !== undefined)
    fail('gcp-key', 'and "password" are two ways to log in: set only one');
  return {
    ...repository,
    command: 'promote',
    from,
    to,
    images,
    expect: listInput(env, 'expect').map((value) => lowercased(value, 'expect', common.notes)),
    pinDigest: booleanInput(env, 'pin-digest', false),
    username: rawInput(env, 'username'),
    password,
    gcpKey,
  };
}

/** `body` with its line breaks and indentation kept (rawInput trims), or undefined. */
function bodyInput(env: Env): string | undefined {
  const given = env[inputVariable('body')];
  if (!given?.trim()) return undefined;
  if (rawInput(env, 'body-path') !== undefined)
    fail('body-path', 'and "body" are two ways to give the body: set only one');
  return given.replace(/\s+$/, '');
}

/** `{sha}` of the release templates: the short application commit, as the CLI gives core. */
export function shortCommit(inputs: CommonInputs): string | undefined {
  return inputs.sha ? inputs.sha.slice(0, inputs.shaLength).toLowerCase() : undefined;
}

/** True when the last path segment carries `:tag` or the reference carries `@digest`. */
function hasTagOrDigest(image: string): boolean {
  if (image.includes('@')) return true;
  const last = image.slice(image.lastIndexOf('/') + 1);
  return last.includes(':');
}

export function looksLikeGitUrl(repo: string): boolean {
  return /^(https?:\/\/|ssh:\/\/|git@|file:\/\/|\/|\.)/.test(repo);
}
