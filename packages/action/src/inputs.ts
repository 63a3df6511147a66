import { UsageError } from '@gitops-release/core';

// The action's inputs, read from the environment the way the runner passes them: input `foo-bar`
// arrives as INPUT_FOO-BAR (uppercased, spaces → `_`, hyphens kept). Reading an injected env
// instead of process.env keeps this testable without module mocks.

export const COMMANDS = ['build_and_push_image', 'create_release_pr'] as const;
export type CommandName = (typeof COMMANDS)[number];

export const BUILDERS = ['auto', 'docker', 'buildah', 'podman'] as const;
export const HOSTS = ['github', 'git'] as const;
export const MODES = ['pull-request', 'push'] as const;
export const MERGE_METHODS = ['squash', 'merge', 'rebase'] as const;
export const APIS = ['auto', 'graphql', 'rest'] as const;

type Kind = 'string' | 'boolean' | 'list' | 'enum' | 'integer';

interface InputSpec {
  kind: Kind;
  /** Which command reads it; `all` for both. */
  for: CommandName | 'all';
  /** Never printed; registered with the runner's masking as soon as it is read. */
  secret?: boolean;
  values?: readonly string[];
}

/** Every input action.yml declares, and how the code reads it. A unit test holds the two equal. */
export const INPUTS = {
  command: { kind: 'enum', for: 'all', values: COMMANDS },
  'dry-run': { kind: 'boolean', for: 'all' },
  'github-token': { kind: 'string', for: 'all', secret: true },
  tag: { kind: 'string', for: 'all' },
  commit: { kind: 'string', for: 'all' },
  'sha-length': { kind: 'integer', for: 'all' },
  image: { kind: 'list', for: 'all' },
  // build_and_push_image
  tags: { kind: 'list', for: 'build_and_push_image' },
  context: { kind: 'string', for: 'build_and_push_image' },
  file: { kind: 'string', for: 'build_and_push_image' },
  target: { kind: 'string', for: 'build_and_push_image' },
  builder: { kind: 'enum', for: 'build_and_push_image', values: BUILDERS },
  'build-args': { kind: 'list', for: 'build_and_push_image' },
  'image-labels': { kind: 'list', for: 'build_and_push_image' },
  platforms: { kind: 'list', for: 'build_and_push_image' },
  'cache-from': { kind: 'list', for: 'build_and_push_image' },
  'cache-to': { kind: 'list', for: 'build_and_push_image' },
  username: { kind: 'string', for: 'build_and_push_image' },
  password: { kind: 'string', for: 'build_and_push_image', secret: true },
  'gcp-key': { kind: 'string', for: 'build_and_push_image', secret: true },
  'skip-existing': { kind: 'boolean', for: 'build_and_push_image' },
  push: { kind: 'boolean', for: 'build_and_push_image' },
  secrets: { kind: 'list', for: 'build_and_push_image', secret: true },
  'secret-envs': { kind: 'list', for: 'build_and_push_image' },
  'no-cache': { kind: 'boolean', for: 'build_and_push_image' },
  pull: { kind: 'boolean', for: 'build_and_push_image' },
  // create_release_pr
  repo: { kind: 'string', for: 'create_release_pr' },
  base: { kind: 'string', for: 'create_release_pr' },
  path: { kind: 'list', for: 'create_release_pr' },
  host: { kind: 'enum', for: 'create_release_pr', values: HOSTS },
  'github-url': { kind: 'string', for: 'create_release_pr' },
  api: { kind: 'enum', for: 'create_release_pr', values: APIS },
  mode: { kind: 'enum', for: 'create_release_pr', values: MODES },
  branch: { kind: 'string', for: 'create_release_pr' },
  title: { kind: 'string', for: 'create_release_pr' },
  'commit-message': { kind: 'string', for: 'create_release_pr' },
  body: { kind: 'string', for: 'create_release_pr' },
  'body-path': { kind: 'string', for: 'create_release_pr' },
  author: { kind: 'string', for: 'create_release_pr' },
  committer: { kind: 'string', for: 'create_release_pr' },
  labels: { kind: 'list', for: 'create_release_pr' },
  reviewers: { kind: 'list', for: 'create_release_pr' },
  'team-reviewers': { kind: 'list', for: 'create_release_pr' },
  assignees: { kind: 'list', for: 'create_release_pr' },
  draft: { kind: 'boolean', for: 'create_release_pr' },
  'auto-merge': { kind: 'boolean', for: 'create_release_pr' },
  'merge-method': { kind: 'enum', for: 'create_release_pr', values: MERGE_METHODS },
  'close-superseded': { kind: 'boolean', for: 'create_release_pr' },
  'delete-branch': { kind: 'boolean', for: 'create_release_pr' },
  milestone: { kind: 'integer', for: 'create_release_pr' },
  'allow-downgrade': { kind: 'boolean', for: 'create_release_pr' },
  'app-repository': { kind: 'string', for: 'create_release_pr' },
  key: { kind: 'string', for: 'create_release_pr' },
  'add-missing': { kind: 'boolean', for: 'create_release_pr' },
  'git-token': { kind: 'string', for: 'create_release_pr', secret: true },
  'ssh-key': { kind: 'string', for: 'create_release_pr', secret: true },
} as const satisfies Record<string, InputSpec>;

export type InputName = keyof typeof INPUTS;
export const INPUT_NAMES = Object.keys(INPUTS) as InputName[];

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

/** A list written one per line or comma-separated (YAML block `|` or flow style); blanks and `- ` bullets dropped. */
export function listInput(env: Env, name: InputName): string[] {
  const value = rawInput(env, name);
  if (value === undefined) return [];
  return value
    .split(/[\n,]/)
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

export interface CommonInputs {
  dryRun: boolean;
  githubToken: string | undefined;
  /** Full commit SHA of the application repository: `commit`, else GITHUB_SHA. */
  sha: string | undefined;
  shaLength: number;
}

export interface BuildInputs extends CommonInputs {
  command: 'build_and_push_image';
  image: string;
  /** The tag given; undefined means the short commit SHA (core's tag rule). */
  tag: string | undefined;
  tags: string[];
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
  appRepository: string | undefined;
  key: string | undefined;
  addMissing: boolean;
  gitToken: string | undefined;
  sshKey: string | undefined;
}

export type Inputs = BuildInputs | ReleaseInputs;

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

/** Reads and validates the inputs of the command chosen by `command`; throws a UsageError naming the input. */
export function getInputs(env: Env): Inputs {
  const command = rawInput(env, 'command');
  if (command === undefined) fail('command', `is required: set it to ${COMMANDS.join(' or ')}`);
  const chosen = enumInput(env, 'command', COMMANDS, COMMANDS[0]);
  const shaLength = integerInput(env, 'sha-length', 7, 4, 40);
  const common: CommonInputs = {
    dryRun: booleanInput(env, 'dry-run', false),
    githubToken: rawInput(env, 'github-token'),
    sha: commitInput(env),
    shaLength,
  };
  return chosen === 'build_and_push_image'
    ? buildInputs(env, common)
    : releaseInputs(env, common, shaLength);
}

function buildInputs(env: Env, common: CommonInputs): BuildInputs {
  const images = listInput(env, 'image');
  if (images.length === 0)
    fail('image', 'is required for build_and_push_image: the image name, e.g. ghcr.io/OWNER/APP');
  if (images.length > 1)
    fail('image', 'takes one image name for build_and_push_image; put extra tags in "tags"');
  // Core applies the tag rule (short SHA by default) and knows a commit tag from an explicit one.
  const tag = rawInput(env, 'tag');
  if (tag === undefined && common.sha === undefined && !/:[^/]+$/.test(images[0]!))
    fail('tag', 'is required when GITHUB_SHA is not set (it defaults to the short commit SHA)');
  const password = rawInput(env, 'password');
  const username = rawInput(env, 'username');
  const gcpKey = rawInput(env, 'gcp-key');
  if (gcpKey !== undefined && password !== undefined)
    fail('gcp-key', 'and "password" are two ways to log in: set only one');
  return {
    ...common,
    command: 'build_and_push_image',
    image: images[0]!,
    tag,
    tags: listInput(env, 'tags'),
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

function releaseInputs(env: Env, common: CommonInputs, shaLength: number): ReleaseInputs {
  const repo = requiredInput(
    env,
    'repo',
    'for create_release_pr: the manifest repository, OWNER/NAME or a git URL',
  );
  const paths = listInput(env, 'path');
  if (paths.length === 0)
    fail('path', 'is required for create_release_pr: the files or directories to edit');
  const given = listInput(env, 'image');
  if (given.length === 0)
    fail('image', 'is required for create_release_pr: the image(s) to release, e.g. ghcr.io/o/app');
  const tag = resolveTag(env, shaLength);
  const images = given.map((image) => {
    if (hasTagOrDigest(image)) return image;
    if (tag === undefined)
      fail('image', `"${image}" has no tag, and neither "tag" nor GITHUB_SHA gives one`);
    return `${image}:${tag}`;
  });
  const autoMerge = booleanInput(env, 'auto-merge', false);
  const mergeMethod = rawInput(env, 'merge-method')
    ? enumInput(env, 'merge-method', MERGE_METHODS, 'squash')
    : undefined;
  if (mergeMethod && !autoMerge) fail('merge-method', 'only goes with "auto-merge: true"');
  const host = enumInput(env, 'host', HOSTS, looksLikeGitUrl(repo) ? 'git' : 'github');
  return {
    ...common,
    command: 'create_release_pr',
    repo,
    images,
    paths,
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
    appRepository: rawInput(env, 'app-repository') ?? (env.GITHUB_REPOSITORY?.trim() || undefined),
    key: rawInput(env, 'key'),
    addMissing: booleanInput(env, 'add-missing', false),
    gitToken: rawInput(env, 'git-token'),
    sshKey: rawInput(env, 'ssh-key'),
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

/** True when the last path segment carries `:tag` or the reference carries `@digest`. */
function hasTagOrDigest(image: string): boolean {
  if (image.includes('@')) return true;
  const last = image.slice(image.lastIndexOf('/') + 1);
  return last.includes(':');
}

function looksLikeGitUrl(repo: string): boolean {
  return /^(https?:\/\/|ssh:\/\/|git@|file:\/\/|\/|\.)/.test(repo);
}
