// An offline GitLab CI runner for the component's end-to-end tests: it loads a .gitlab-ci.yml,
// resolves `include: component:` (and `local:`) to files of this repository, checks the inputs
// against each template's `spec: inputs:` (presence, type, options) as GitLab does when it
// compiles a pipeline, interpolates `$[[ inputs.NAME ]]`, merges the jobs, expands variables, and
// runs each job's before_script and script with bash (`set -eo pipefail`, as GitLab Runner's
// shell executor), in stage order. `image:` is not pulled: jobs run on this machine.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import YAML from 'yaml';

/** A configuration GitLab would refuse to compile, with GitLab's wording where it has one. */
export class GitLabCiConfigError extends Error {
  override name = 'GitLabCiConfigError';
}

type Map_ = Record<string, unknown>;

export interface InputSpec {
  type?: 'string' | 'number' | 'boolean' | 'array';
  default?: unknown;
  description?: string;
  options?: unknown[];
  regex?: string;
}

export interface Job {
  name: string;
  stage: string;
  variables: Record<string, string>;
  beforeScript: string[];
  script: string[];
  raw: Map_;
}

export interface Pipeline {
  stages: string[];
  variables: Record<string, string>;
  jobs: Job[];
}

export interface JobResult {
  name: string;
  exitCode: number;
  output: string;
  env: Record<string, string>;
}

const KEYWORDS = new Set([
  'stages',
  'variables',
  'include',
  'default',
  'workflow',
  'image',
  'services',
  'cache',
  'before_script',
  'after_script',
  'spec',
]);

/** The two documents of a template: the `spec:` header and the configuration. */
export function splitTemplate(
  text: string,
  file: string,
): { spec: Record<string, InputSpec>; body: string } {
  const docs = YAML.parseAllDocuments(text);
  if (docs.length === 1) return { spec: {}, body: text };
  const header = docs[0]!.toJS() as { spec?: { inputs?: Record<string, InputSpec> } } | null;
  if (!header?.spec)
    throw new GitLabCiConfigError(`${file}: the header section must be a spec: mapping`);
  const at = text.search(/^---\s*$/m);
  return { spec: header.spec.inputs ?? {}, body: text.slice(at).replace(/^---\s*\n/, '') };
}

/** Checks given inputs against the spec and returns every input's value (lib/gitlab/ci/config/header/input.rb). */
export function resolveInputs(spec: Record<string, InputSpec>, given: Map_, where: string): Map_ {
  const unknown = Object.keys(given).filter((k) => !(k in spec));
  if (unknown.length)
    throw new GitLabCiConfigError(`${where}: unknown input arguments: ${unknown.join(', ')}`);
  const values: Map_ = {};
  for (const [name, s] of Object.entries(spec)) {
    const type = s?.type ?? 'string';
    const value = name in given ? given[name] : s?.default;
    if (value === undefined)
      throw new GitLabCiConfigError(
        `${where}: \`${name}\` input: required value has not been provided`,
      );
    const ok =
      type === 'string'
        ? typeof value === 'string'
        : type === 'number'
          ? typeof value === 'number'
          : type === 'boolean'
            ? typeof value === 'boolean'
            : Array.isArray(value);
    if (!ok)
      throw new GitLabCiConfigError(`${where}: \`${name}\` input: provided value is not a ${type}`);
    if (s?.options && !s.options.includes(value)) {
      throw new GitLabCiConfigError(
        `${where}: \`${name}\` input: \`${String(value)}\` cannot be used because it is not in the list of allowed options`,
      );
    }
    if (
      s?.regex &&
      typeof value === 'string' &&
      !new RegExp(s.regex.replace(/^\/|\/$/g, '')).test(value)
    ) {
      throw new GitLabCiConfigError(
        `${where}: \`${name}\` input: provided value does not match required RegEx pattern`,
      );
    }
    values[name] = value;
  }
  return values;
}

/** `$[[ inputs.NAME ]]` in every string of the configuration; a whole-value one keeps its type. */
export function interpolate(node: unknown, inputs: Map_, where: string): unknown {
  const ref = /\$\[\[\s*inputs\.([A-Za-z0-9_-]+)\s*\]\]/g;
  if (typeof node === 'string') {
    const whole = node.match(/^\$\[\[\s*inputs\.([A-Za-z0-9_-]+)\s*\]\]$/);
    const look = (name: string) => {
      if (!(name in inputs))
        throw new GitLabCiConfigError(`${where}: unknown interpolation key: \`${name}\``);
      return inputs[name];
    };
    if (whole) return look(whole[1]!);
    return node.replace(ref, (_, name: string) => String(look(name)));
  }
  if (Array.isArray(node)) return node.map((n) => interpolate(n, inputs, where));
  if (node && typeof node === 'object') {
    return Object.fromEntries(
      Object.entries(node).map(([k, v]) => [
        interpolate(k, inputs, where) as string,
        interpolate(v, inputs, where),
      ]),
    );
  }
  return node;
}

/** `$VAR` and `${VAR}` from `env`, as GitLab Runner expands variables; unknown ones become empty. */
export function expand(value: string, env: Record<string, string>): string {
  return value.replace(
    /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g,
    (_, a, b) => env[a ?? b] ?? '',
  );
}

function strings(value: unknown, what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries((value ?? {}) as Map_)) {
    const plain = v && typeof v === 'object' ? (v as Map_).value : v;
    if (!['string', 'number', 'boolean'].includes(typeof plain))
      throw new GitLabCiConfigError(`${what}: variable ${k} is not a string`);
    out[k] = String(plain);
  }
  return out;
}

function lines(value: unknown): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).flat(Number.POSITIVE_INFINITY).map(String);
}

function deepMerge(into: Map_, from: Map_): Map_ {
  for (const [k, v] of Object.entries(from)) {
    const was = into[k];
    if (
      v &&
      typeof v === 'object' &&
      !Array.isArray(v) &&
      was &&
      typeof was === 'object' &&
      !Array.isArray(was)
    ) {
      deepMerge(was as Map_, v as Map_);
    } else {
      into[k] = v;
    }
  }
  return into;
}

export interface LoadOptions {
  /** The .gitlab-ci.yml path. */
  config: string;
  /** Component addresses (`HOST/GROUP/PROJECT`, after variables) → the directory holding templates/. */
  components: Record<string, string>;
  /** Variables known when the pipeline is compiled (CI_SERVER_FQDN …). */
  variables: Record<string, string>;
}

export function loadPipeline(options: LoadOptions): Pipeline {
  const root = YAML.parse(readFileSync(options.config, 'utf8')) as Map_;
  const merged: Map_ = {};
  for (const include of (Array.isArray(root.include)
    ? root.include
    : root.include
      ? [root.include]
      : []) as Map_[]) {
    let file: string;
    let where: string;
    if (typeof include.component === 'string') {
      const address = expand(include.component, options.variables);
      const m = address.match(/^(.+)\/([^/@]+)@([^@]+)$/);
      if (!m)
        throw new GitLabCiConfigError(`component address ${address} is not HOST/PATH/NAME@VERSION`);
      const dir = options.components[m[1]!];
      if (!dir)
        throw new GitLabCiConfigError(`component project ${m[1]} is not known to this runner`);
      file = join(dir, 'templates', `${m[2]}.yml`);
      where = `${m[2]}@${m[3]}`;
    } else if (typeof include.local === 'string') {
      file = resolve(options.config, '..', include.local);
      where = include.local;
    } else {
      throw new GitLabCiConfigError(
        `include ${JSON.stringify(include)}: only component: and local: are supported offline`,
      );
    }
    const { spec, body } = splitTemplate(readFileSync(file, 'utf8'), file);
    const inputs = resolveInputs(spec, (include.inputs ?? {}) as Map_, where);
    deepMerge(merged, interpolate(YAML.parse(body), inputs, where) as Map_);
  }
  // The including file's keys are merged into the included ones, hashes deeply (GitLab's include
  // merge: https://docs.gitlab.com/ci/yaml/includes/#merge-method-for-include).
  deepMerge(merged, Object.fromEntries(Object.entries(root).filter(([k]) => k !== 'include')));
  const stages = lines(merged.stages ?? ['build', 'test', 'deploy']);
  const variables = strings(merged.variables, 'variables');
  const jobs: Job[] = [];
  for (const [name, raw] of Object.entries(merged)) {
    if (KEYWORDS.has(name) || name.startsWith('.') || !raw || typeof raw !== 'object') continue;
    const job = raw as Map_;
    const stage = String(job.stage ?? 'test');
    if (!stages.includes(stage))
      throw new GitLabCiConfigError(
        `${name} job: chosen stage ${stage} does not exist; available stages are ${stages.join(', ')}`,
      );
    if (job.script === undefined)
      throw new GitLabCiConfigError(
        `jobs:${name} config should implement the script:, run:, or trigger: keyword`,
      );
    jobs.push({
      name,
      stage,
      variables: strings(job.variables, name),
      beforeScript: lines(job.before_script),
      script: lines(job.script),
      raw: job,
    });
  }
  jobs.sort((a, b) => stages.indexOf(a.stage) - stages.indexOf(b.stage));
  return { stages, variables, jobs };
}

export interface RunOptions {
  /** Predefined and project CI/CD variables for every job. */
  variables: Record<string, string>;
  /** The machine's environment the shell inherits (PATH, HOME, DOCKER_HOST …). */
  machineEnv?: Record<string, string>;
  /** The job's working directory (CI_PROJECT_DIR). */
  projectDir: string;
  timeoutMs?: number;
}

/** Runs one job: variables expanded in order (predefined, global, job), then the script in bash. */
export function runJob(pipeline: Pipeline, job: Job, options: RunOptions): Promise<JobResult> {
  const env: Record<string, string> = {
    ...(options.machineEnv ?? {}),
    ...options.variables,
    CI_JOB_NAME: job.name,
    CI_JOB_STAGE: job.stage,
    CI_PROJECT_DIR: options.projectDir,
  };
  for (const [k, v] of Object.entries({ ...pipeline.variables, ...job.variables }))
    env[k] = expand(v, env);
  mkdirSync(options.projectDir, { recursive: true });
  const script = ['set -eo pipefail', ...job.beforeScript, ...job.script].join('\n');
  return new Promise((done) => {
    const child = spawn('bash', ['-c', script], {
      cwd: options.projectDir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 300_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ name: job.name, exitCode: code ?? 1, output, env });
    });
  });
}
