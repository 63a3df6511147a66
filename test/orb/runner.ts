// An offline CircleCI runner for the orb's end-to-end tests: it loads a .circleci/config.yml and
// the orbs it uses (the packed orb/orb.yml, or an orb source directory packed in memory), expands
// jobs, commands, executors, `<< parameters.* >>`, `<< pipeline.* >>` and `when`/`unless` the way
// CircleCI compiles a config, checks every parameter's type, enum and presence, and runs each `run`
// step with bash (`-eo pipefail`, as CircleCI's default shell) in a CircleCI-like environment:
// CIRCLE_* variables, BASH_ENV sourced by every step, the job's working directory.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { packOrb } from '../../scripts/pack-orb.mjs';

const run = promisify(execFile);

/** A config or orb the runner refuses, as CircleCI's config compiler would. */
export class OrbConfigError extends Error {
  override name = 'OrbConfigError';
}

type Map_ = Record<string, unknown>;

export interface Pipeline {
  /** The application commit (CIRCLE_SHA1, pipeline.git.revision). */
  sha: string;
  branch: string;
  projectUsername: string;
  projectReponame: string;
  number?: number;
  /** What `checkout` clones (a local path or URL); CIRCLE_REPOSITORY_URL. */
  repositoryUrl?: string;
}

export interface RunnerOptions {
  /** The path of .circleci/config.yml, or its text. */
  config: string;
  /** Orb references (`ns/name@version`, or the alias) → packed orb file or orb source directory. */
  orbs: Record<string, string>;
  pipeline: Pipeline;
  /** Project environment variables (Project Settings → Environment Variables). */
  projectEnv?: Record<string, string>;
  contexts?: Record<string, Record<string, string>>;
  /** Where jobs get their home, working directory and BASH_ENV; one folder per job. */
  workDir: string;
  /** The machine's variables the steps inherit (PATH, DOCKER_HOST, ...). */
  machineEnv?: Record<string, string>;
  stepTimeoutMs?: number;
  /**
   * Whether a person approves a `type: approval` job (default: no one does, so the jobs that
   * require it stay blocked, as on CircleCI until someone clicks Approve).
   */
  approve?: (job: string) => boolean;
}

export interface StepResult {
  name: string;
  kind: 'run' | 'checkout' | 'setup_remote_docker';
  exitCode: number;
  /** stdout and stderr, interleaved as they came. */
  output: string;
  command?: string;
  environment?: Record<string, string>;
}

export interface JobResult {
  name: string;
  status: 'success' | 'failed' | 'blocked' | 'filtered';
  executor?: ExecutorInfo;
  steps: StepResult[];
}

export interface ExecutorInfo {
  kind: 'docker' | 'machine' | 'macos' | 'none';
  image?: string;
  resourceClass?: string;
}

/** A job or command with the orb (or the config itself) it comes from, for resolving names. */
interface Scope {
  /** The orb alias, or undefined for the config's own definitions. */
  alias?: string;
  source: Map_;
}

interface PlainStep {
  kind: StepResult['kind'];
  name: string;
  command?: string;
  environment?: Record<string, string>;
  workingDirectory?: string;
  when?: 'always' | 'on_success' | 'on_fail';
}

interface ExpandedJob {
  name: string;
  /** A `type: approval` job: it runs nothing and waits for a person. */
  approval?: boolean;
  executor: ExecutorInfo;
  environment: Record<string, string>;
  workingDirectory?: string;
  steps: PlainStep[];
  contexts: string[];
  requires: string[];
  filtered: boolean;
}

const RESERVED_JOB_KEYS = new Set([
  'name',
  'requires',
  'context',
  'filters',
  'matrix',
  'type',
  'pre-steps',
  'post-steps',
  'serial-group',
]);
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const EXPRESSION = /<<\s*([^<>]*?)\s*>>/g;
const WHOLE_EXPRESSION = /^<<\s*([^<>]*?)\s*>>$/;

function isMap(v: unknown): v is Map_ {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function loadYaml(pathOrText: string, what: string): Map_ {
  const text =
    !pathOrText.includes('\n') && existsSync(pathOrText)
      ? readFileSync(pathOrText, 'utf8')
      : pathOrText;
  const doc = YAML.parseDocument(text);
  if (doc.errors.length > 0) {
    throw new OrbConfigError(`${what}: not valid YAML: ${doc.errors[0]?.message}`);
  }
  const value = doc.toJS();
  if (!isMap(value)) throw new OrbConfigError(`${what}: must be a map`);
  return value;
}

/** The packed file, or a source directory packed in memory with its includes resolved. */
export function loadOrb(location: string): Map_ {
  if (existsSync(location) && statSync(location).isDirectory()) return packOrb(location);
  return loadYaml(location, location);
}

export class OfflineRunner {
  readonly config: Map_;
  private readonly orbs = new Map<string, Map_>();
  private buildNum = 0;

  constructor(private readonly options: RunnerOptions) {
    this.config = loadYaml(options.config, '.circleci/config.yml');
    if (String(this.config.version) !== '2.1') {
      throw new OrbConfigError('.circleci/config.yml: orbs need version: 2.1');
    }
    for (const [alias, ref] of Object.entries((this.config.orbs ?? {}) as Map_)) {
      if (typeof ref !== 'string')
        throw new OrbConfigError(`orbs.${alias}: inline orbs are not supported`);
      const location = options.orbs[ref] ?? options.orbs[alias];
      if (!location) {
        throw new OrbConfigError(
          `orbs.${alias}: ${ref} is not available offline (give it in options.orbs)`,
        );
      }
      this.orbs.set(alias, loadOrb(location));
    }
  }

  // --- expansion ---------------------------------------------------------------------------

  private pipelineValue(key: string): string {
    const p = this.options.pipeline;
    const values: Record<string, string> = {
      'pipeline.id': `00000000-0000-4000-8000-${String(p.number ?? 1).padStart(12, '0')}`,
      'pipeline.number': String(p.number ?? 1),
      'pipeline.git.revision': p.sha,
      'pipeline.git.branch': p.branch,
      'pipeline.project.git_url': `https://github.com/${p.projectUsername}/${p.projectReponame}`,
      'pipeline.project.type': 'github',
      'pipeline.trigger_source': 'webhook',
    };
    const v = values[key];
    if (v === undefined)
      throw new OrbConfigError(`<< ${key} >> is not a pipeline value the runner knows`);
    return v;
  }

  /** Replaces `<< parameters.x >>` and `<< pipeline.x >>` in every string of value. */
  private substitute(value: unknown, params: Map_, where: string): unknown {
    if (typeof value === 'string') {
      const whole = value.match(WHOLE_EXPRESSION);
      if (whole) return this.lookup(whole[1]!, params, where);
      return value.replace(EXPRESSION, (_, expr: string) => {
        const v = this.lookup(expr, params, where);
        if (isMap(v) || Array.isArray(v)) {
          throw new OrbConfigError(
            `${where}: << ${expr} >> is not a string and cannot sit inside one`,
          );
        }
        return String(v);
      });
    }
    if (Array.isArray(value)) return value.map((v) => this.substitute(v, params, where));
    if (isMap(value)) {
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, this.substitute(v, params, where)]),
      );
    }
    return value;
  }

  private lookup(expr: string, params: Map_, where: string): unknown {
    if (expr.startsWith('pipeline.')) return this.pipelineValue(expr);
    if (expr.startsWith('include(')) {
      throw new OrbConfigError(`${where}: <<${expr}>> is left in the orb: pack it first`);
    }
    const m = expr.match(/^parameters\.([A-Za-z0-9_-]+)$/);
    if (!m) throw new OrbConfigError(`${where}: unknown expression << ${expr} >>`);
    if (!(m[1]! in params)) {
      throw new OrbConfigError(`${where}: << parameters.${m[1]} >> is not a declared parameter`);
    }
    return params[m[1]!];
  }

  /** Checks the arguments against the declared parameters and fills in the defaults. */
  private bind(declared: unknown, args: Map_, where: string): Map_ {
    const decl = (isMap(declared) ? declared : {}) as Record<string, Map_>;
    const bound: Map_ = {};
    for (const name of Object.keys(args)) {
      if (!(name in decl)) throw new OrbConfigError(`${where}: unknown parameter '${name}'`);
    }
    for (const [name, p] of Object.entries(decl)) {
      const given = name in args;
      let value = given ? args[name] : p.default;
      if (value === undefined) {
        throw new OrbConfigError(
          `${where}: parameter '${name}' is required (${p.type}, no default)`,
        );
      }
      const type = p.type;
      const fault = (want: string) =>
        new OrbConfigError(
          `${where}: parameter '${name}' must be ${want}, not ${JSON.stringify(value)}`,
        );
      switch (type) {
        case 'string':
          if (typeof value === 'number') value = String(value);
          if (typeof value !== 'string') throw fault('a string');
          break;
        case 'boolean':
          if (typeof value === 'string' && /^(true|yes|on|false|no|off)$/i.test(value)) {
            value = /^(true|yes|on)$/i.test(value);
          }
          if (typeof value !== 'boolean') throw fault('a boolean');
          break;
        case 'integer':
          if (typeof value !== 'number' || !Number.isInteger(value)) throw fault('an integer');
          break;
        case 'enum':
          if (!(p.enum as unknown[] | undefined)?.includes(value)) {
            throw fault(`one of ${(p.enum as string[] | undefined)?.join(', ')}`);
          }
          break;
        case 'env_var_name':
          if (typeof value !== 'string' || !ENV_NAME.test(value)) {
            throw fault('the name of an environment variable ([A-Za-z_][A-Za-z0-9_]*)');
          }
          break;
        case 'steps':
          if (!Array.isArray(value)) throw fault('a list of steps');
          break;
        case 'executor':
          if (typeof value !== 'string' && !isMap(value)) throw fault('an executor');
          break;
        default:
          throw new OrbConfigError(
            `${where}: parameter '${name}' has an unknown type ${String(type)}`,
          );
      }
      bound[name] = value;
    }
    return bound;
  }

  /** `alias/name` → the orb's component, a bare name → the scope's own (config or orb). */
  private resolve(kind: 'jobs' | 'commands' | 'executors', ref: string, scope: Scope) {
    const slash = ref.indexOf('/');
    if (slash >= 0) {
      const alias = ref.slice(0, slash);
      const orb = this.orbs.get(alias);
      if (!orb) throw new OrbConfigError(`${ref}: no orb named ${alias} in orbs:`);
      const def = (orb[kind] as Map_ | undefined)?.[ref.slice(slash + 1)];
      return def === undefined ? undefined : { def, scope: { alias, source: orb } };
    }
    const def = (scope.source[kind] as Map_ | undefined)?.[ref];
    return def === undefined ? undefined : { def, scope };
  }

  private evaluate(condition: unknown, where: string): boolean {
    if (typeof condition === 'boolean') return condition;
    if (typeof condition === 'string')
      return condition !== '' && !/^(false|no|off|0)$/i.test(condition);
    if (typeof condition === 'number') return condition !== 0;
    if (condition === null || condition === undefined) return false;
    if (isMap(condition)) {
      if ('and' in condition)
        return (condition.and as unknown[]).every((c) => this.evaluate(c, where));
      if ('or' in condition)
        return (condition.or as unknown[]).some((c) => this.evaluate(c, where));
      if ('not' in condition) return !this.evaluate(condition.not, where);
      if ('equal' in condition) {
        const [first, ...rest] = condition.equal as unknown[];
        return rest.every((v) => JSON.stringify(v) === JSON.stringify(first));
      }
    }
    throw new OrbConfigError(
      `${where}: cannot evaluate the condition ${JSON.stringify(condition)}`,
    );
  }

  private envMap(value: unknown, where: string): Record<string, string> {
    if (value === undefined || value === null) return {};
    if (!isMap(value)) throw new OrbConfigError(`${where}: environment must be a map`);
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(value)) {
      // CircleCI hands booleans to the environment as 1 and 0.
      env[k] = typeof v === 'boolean' ? (v ? '1' : '0') : v === null ? '' : String(v);
    }
    return env;
  }

  private expandSteps(steps: unknown, scope: Scope, where: string, depth = 0): PlainStep[] {
    if (depth > 20) throw new OrbConfigError(`${where}: commands call each other in a loop`);
    if (!Array.isArray(steps)) throw new OrbConfigError(`${where}: steps must be a list`);
    const out: PlainStep[] = [];
    for (const [i, step] of steps.entries()) {
      const at = `${where}[${i}]`;
      const [name, body] =
        typeof step === 'string' ? [step, {}] : isMap(step) ? (Object.entries(step)[0] ?? []) : [];
      if (typeof name !== 'string') throw new OrbConfigError(`${at}: not a step`);
      if (name === 'run') {
        const r = typeof body === 'string' ? { command: body } : (body as Map_);
        if (typeof r.command !== 'string') throw new OrbConfigError(`${at}: run needs a command`);
        out.push({
          kind: 'run',
          name: typeof r.name === 'string' ? r.name : r.command.split('\n')[0]!,
          command: r.command,
          environment: this.envMap(r.environment, `${at}.environment`),
          workingDirectory: r.working_directory as string | undefined,
          when: r.when as PlainStep['when'],
        });
      } else if (name === 'steps') {
        // `- steps: << parameters.x >>`: a steps parameter's list, spliced in place.
        out.push(...this.expandSteps(body, scope, `${at}.steps`, depth));
      } else if (name === 'when' || name === 'unless') {
        const b = body as Map_;
        const holds = this.evaluate(b.condition, at);
        if (holds === (name === 'when'))
          out.push(...this.expandSteps(b.steps, scope, `${at}.steps`, depth));
      } else if (name === 'checkout') {
        out.push({ kind: 'checkout', name: 'Checkout code' });
      } else if (name === 'setup_remote_docker') {
        out.push({ kind: 'setup_remote_docker', name: 'Setup a remote Docker engine' });
      } else {
        const found = this.resolve('commands', name, scope);
        if (!found) throw new OrbConfigError(`${at}: no command or built-in step named ${name}`);
        const def = found.def as Map_;
        const cmdWhere = `command ${found.scope.alias ? `${found.scope.alias}/` : ''}${name.split('/').pop()}`;
        const params = this.bind(def.parameters, isMap(body) ? body : {}, cmdWhere);
        const steps = this.substitute(def.steps, params, cmdWhere);
        out.push(...this.expandSteps(steps, found.scope, `${cmdWhere}.steps`, depth + 1));
      }
    }
    return out;
  }

  private expandExecutor(
    value: unknown,
    scope: Scope,
    where: string,
  ): { info: ExecutorInfo; env: Record<string, string>; workingDirectory?: string } {
    const ref = typeof value === 'string' ? value : (value as Map_).name;
    if (typeof ref !== 'string') throw new OrbConfigError(`${where}: executor needs a name`);
    const found = this.resolve('executors', ref, scope);
    if (!found) throw new OrbConfigError(`${where}: no executor named ${ref}`);
    const def = found.def as Map_;
    const args = isMap(value)
      ? Object.fromEntries(Object.entries(value).filter(([k]) => k !== 'name'))
      : {};
    const params = this.bind(def.parameters, args, `executor ${ref}`);
    const body = this.substitute(
      { ...def, parameters: undefined },
      params,
      `executor ${ref}`,
    ) as Map_;
    return {
      info: describeExecutor(body),
      env: this.envMap(body.environment, `executor ${ref}.environment`),
      workingDirectory: body.working_directory as string | undefined,
    };
  }

  /** One workflow entry → the job it runs, fully expanded. */
  expandJob(entry: unknown, where: string): ExpandedJob {
    const [ref, raw] =
      typeof entry === 'string'
        ? [entry, {}]
        : isMap(entry)
          ? (Object.entries(entry)[0] ?? [])
          : [];
    if (typeof ref !== 'string') throw new OrbConfigError(`${where}: not a job`);
    const invocation = (isMap(raw) ? raw : {}) as Map_;
    if (invocation.type === 'approval') {
      // https://circleci.com/docs/workflows/#holding-a-workflow-for-a-manual-approval
      return {
        name: typeof invocation.name === 'string' ? invocation.name : ref,
        approval: true,
        executor: { kind: 'none' },
        environment: {},
        steps: [],
        contexts: [],
        requires: ((invocation.requires ?? []) as unknown[]).map(String),
        filtered: !this.branchAllowed(invocation.filters),
      };
    }
    const found = this.resolve('jobs', ref, { source: this.config });
    if (!found) throw new OrbConfigError(`${where}: no job named ${ref}`);
    const def = found.def as Map_;
    const name = typeof invocation.name === 'string' ? invocation.name : ref;
    const args = Object.fromEntries(
      Object.entries(invocation).filter(([k]) => !RESERVED_JOB_KEYS.has(k)),
    );
    // Workflow arguments may use pipeline values, never parameters.
    const resolvedArgs = this.substitute(args, {}, `job ${name}`) as Map_;
    const params = this.bind(def.parameters, resolvedArgs, `job ${name} (${ref})`);
    const body = this.substitute({ ...def, parameters: undefined }, params, `job ${name}`) as Map_;

    let executor: ExecutorInfo = { kind: 'none' };
    let env: Record<string, string> = {};
    let workingDirectory = body.working_directory as string | undefined;
    if (body.executor !== undefined) {
      const e = this.expandExecutor(body.executor, found.scope, `job ${name}`);
      executor = e.info;
      env = e.env;
      workingDirectory ??= e.workingDirectory;
    } else {
      executor = describeExecutor(body);
    }
    if (typeof body.resource_class === 'string') executor.resourceClass = body.resource_class;
    env = { ...env, ...this.envMap(body.environment, `job ${name}.environment`) };

    const pre = (invocation['pre-steps'] ?? []) as unknown[];
    const post = (invocation['post-steps'] ?? []) as unknown[];
    const steps = [
      ...this.expandSteps(
        this.substitute(pre, {}, `job ${name}`),
        { source: this.config },
        `job ${name}.pre-steps`,
      ),
      ...this.expandSteps(body.steps, found.scope, `job ${name}.steps`),
      ...this.expandSteps(
        this.substitute(post, {}, `job ${name}`),
        { source: this.config },
        `job ${name}.post-steps`,
      ),
    ];
    const context = invocation.context;
    return {
      name,
      executor,
      environment: env,
      workingDirectory,
      steps,
      contexts:
        context === undefined
          ? []
          : Array.isArray(context)
            ? context.map(String)
            : [String(context)],
      requires: ((invocation.requires ?? []) as unknown[]).map(String),
      filtered: !this.branchAllowed(invocation.filters),
    };
  }

  private branchAllowed(filters: unknown): boolean {
    if (!isMap(filters) || !isMap(filters.branches)) return true;
    const branch = this.options.pipeline.branch;
    const matches = (list: unknown) =>
      (Array.isArray(list) ? list : [list]).some((p) => {
        const s = String(p);
        return s.startsWith('/') && s.endsWith('/')
          ? new RegExp(`^${s.slice(1, -1)}$`).test(branch)
          : s === branch;
      });
    if (filters.branches.only !== undefined && !matches(filters.branches.only)) return false;
    if (filters.branches.ignore !== undefined && matches(filters.branches.ignore)) return false;
    return true;
  }

  // --- execution ---------------------------------------------------------------------------

  /** Runs one workflow's jobs in the order `requires` gives; a failed job blocks its dependents. */
  async runWorkflow(workflowName?: string): Promise<JobResult[]> {
    const workflows = (this.config.workflows ?? {}) as Map_;
    const wfName = workflowName ?? Object.keys(workflows).find((k) => k !== 'version');
    const wf = wfName ? (workflows[wfName] as Map_ | undefined) : undefined;
    if (!wf || !Array.isArray(wf.jobs))
      throw new OrbConfigError(`no workflow ${wfName ?? ''} with jobs`);
    // Expand every job first: a config error stops the pipeline before anything runs, as on CircleCI.
    const jobs = wf.jobs.map((entry, i) => this.expandJob(entry, `workflows.${wfName}.jobs[${i}]`));
    const results = new Map<string, JobResult>();
    const pending = [...jobs];
    while (pending.length > 0) {
      const index = pending.findIndex((j) => j.requires.every((r) => results.has(r)));
      if (index < 0) {
        throw new OrbConfigError(
          `workflow ${wfName}: requires names a job that is not in it, or a cycle`,
        );
      }
      const job = pending.splice(index, 1)[0]!;
      const blocked = job.requires.some((r) => results.get(r)?.status !== 'success');
      if (job.filtered || blocked) {
        results.set(job.name, {
          name: job.name,
          status: job.filtered ? 'filtered' : 'blocked',
          executor: job.executor,
          steps: [],
        });
        continue;
      }
      if (job.approval) {
        const approved = this.options.approve?.(job.name) ?? false;
        results.set(job.name, {
          name: job.name,
          status: approved ? 'success' : 'blocked',
          executor: job.executor,
          steps: [],
        });
        continue;
      }
      results.set(job.name, await this.runJob(job, wfName!));
    }
    return [...results.values()];
  }

  async runJob(job: ExpandedJob, workflow = 'workflow'): Promise<JobResult> {
    const num = ++this.buildNum;
    const p = this.options.pipeline;
    const jobDir = resolve(
      this.options.workDir,
      `${num}-${job.name.replace(/[^A-Za-z0-9_-]/g, '_')}`,
    );
    const home = join(jobDir, 'home');
    const project = resolvePath(job.workingDirectory ?? '~/project', home, home);
    mkdirSync(home, { recursive: true });
    const bashEnv = join(jobDir, 'bash_env');
    writeFileSync(bashEnv, '');
    let contextEnv: Record<string, string> = {};
    for (const c of job.contexts) {
      const vars = this.options.contexts?.[c];
      if (!vars) throw new OrbConfigError(`job ${job.name}: context ${c} does not exist`);
      contextEnv = { ...contextEnv, ...vars };
    }
    const base: Record<string, string> = {
      ...this.options.machineEnv,
      HOME: home,
      CI: 'true',
      CIRCLECI: 'true',
      CIRCLE_SHA1: p.sha,
      CIRCLE_BRANCH: p.branch,
      CIRCLE_PROJECT_USERNAME: p.projectUsername,
      CIRCLE_PROJECT_REPONAME: p.projectReponame,
      CIRCLE_REPOSITORY_URL:
        p.repositoryUrl ?? `git@github.com:${p.projectUsername}/${p.projectReponame}.git`,
      CIRCLE_BUILD_NUM: String(num),
      CIRCLE_BUILD_URL: `https://circleci.com/gh/${p.projectUsername}/${p.projectReponame}/${num}`,
      CIRCLE_JOB: job.name,
      CIRCLE_WORKFLOW_ID: `workflow-${workflow}-${p.number ?? 1}`,
      CIRCLE_WORKING_DIRECTORY: project,
      CIRCLE_PIPELINE_ID: this.pipelineValue('pipeline.id'),
      BASH_ENV: bashEnv,
      ...this.options.projectEnv,
      ...contextEnv,
      ...job.environment,
    };
    const result: JobResult = {
      name: job.name,
      status: 'success',
      executor: job.executor,
      steps: [],
    };
    for (const step of job.steps) {
      const when = step.when ?? 'on_success';
      if (
        (result.status === 'failed' && when === 'on_success') ||
        (result.status === 'success' && when === 'on_fail')
      ) {
        continue;
      }
      const r = await this.runStep(step, base, project, home);
      result.steps.push(r);
      if (r.exitCode !== 0) result.status = 'failed';
    }
    return result;
  }

  private async runStep(
    step: PlainStep,
    base: Record<string, string>,
    project: string,
    home: string,
  ): Promise<StepResult> {
    if (step.kind === 'checkout') {
      const url = this.options.pipeline.repositoryUrl;
      if (!url)
        return {
          name: step.name,
          kind: step.kind,
          exitCode: 1,
          output: 'checkout: no repositoryUrl given to the runner\n',
        };
      try {
        await run('git', ['clone', '--quiet', url, project]);
        await run('git', ['-C', project, 'checkout', '--quiet', this.options.pipeline.sha]);
        return {
          name: step.name,
          kind: step.kind,
          exitCode: 0,
          output: `Cloned ${url} at ${this.options.pipeline.sha}\n`,
        };
      } catch (err) {
        return {
          name: step.name,
          kind: step.kind,
          exitCode: 1,
          output: `${(err as Error).message}\n`,
        };
      }
    }
    if (step.kind === 'setup_remote_docker') {
      // The engine the test started stands in for the remote one; DOCKER_HOST points at it.
      return {
        name: step.name,
        kind: step.kind,
        exitCode: 0,
        output: `DOCKER_HOST=${base.DOCKER_HOST ?? ''}\n`,
      };
    }
    mkdirSync(project, { recursive: true });
    const cwd = resolvePath(step.workingDirectory ?? '.', project, home);
    const env = { ...base, ...step.environment };
    return new Promise((done) => {
      const child = spawn('bash', ['-eo', 'pipefail', '-c', step.command!], {
        cwd,
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
      const timer = setTimeout(() => {
        output += `\nToo long with no output (exceeded ${this.options.stepTimeoutMs ?? 600_000} ms)\n`;
        child.kill('SIGKILL');
      }, this.options.stepTimeoutMs ?? 600_000);
      child.on('error', (err) => {
        clearTimeout(timer);
        done({
          name: step.name,
          kind: 'run',
          exitCode: 127,
          output: `${output}${err.message}\n`,
          command: step.command,
          environment: step.environment,
        });
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        done({
          name: step.name,
          kind: 'run',
          exitCode: code ?? (signal ? 137 : 1),
          output,
          command: step.command,
          environment: step.environment,
        });
      });
    });
  }
}

function describeExecutor(body: Map_): ExecutorInfo {
  if (Array.isArray(body.docker))
    return { kind: 'docker', image: String((body.docker[0] as Map_)?.image) };
  if (body.machine !== undefined) {
    const m = body.machine;
    return { kind: 'machine', image: isMap(m) ? String(m.image) : String(m) };
  }
  if (body.macos !== undefined) return { kind: 'macos' };
  return { kind: 'none' };
}

/** `~/x` is under the job's home, a relative path under base. */
function resolvePath(path: string, base: string, home: string): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return join(home, path.slice(2));
  return resolve(base, path);
}

/** Every step's output of every job, for the "never printed" assertions. */
export function allOutput(results: JobResult[]): string {
  return results.flatMap((j) => j.steps.map((s) => s.output)).join('\n');
}
