// A small offline Tekton: runs a PipelineRun of v1 Pipelines and Tasks on this machine. It resolves
// params (with defaults), `$(results.NAME.path)`, `$(workspaces.NAME.path|bound)` and
// `$(tasks.TASK.results.NAME)` as Tekton does, orders tasks by runAfter and result references,
// honours when: (a skipped task does not skip what only runs after it; it does skip tasks that read
// its results), and runs each step's script with bash, in order. Images are not pulled: every step
// runs on the machine. What Tekton mounts at /workspace (the emptyDir all steps of a TaskRun share)
// is a temporary directory here, and the literal prefix /workspace in scripts and env points at it.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

// biome-ignore lint/suspicious/noExplicitAny: Tekton resources are YAML, checked by the schema tests.
type Json = any;

export interface Resource {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; generateName?: string };
  spec: Json;
}

/** What the cluster holds besides the Tasks and Pipelines: Secrets and ConfigMaps, by name. */
export interface Cluster {
  tasks: Map<string, Resource>;
  pipelines: Map<string, Resource>;
  secrets: Map<string, Record<string, string>>;
  configMaps: Map<string, Record<string, string>>;
}

export interface TaskRunRecord {
  /** The pipeline task's name. */
  name: string;
  status: 'Succeeded' | 'Failed' | 'Skipped';
  /** Why it failed or was skipped, in Tekton's words where Tekton has some. */
  message?: string;
  results: Record<string, string>;
  /** Everything the steps printed, in order. */
  log: string;
}

export interface PipelineRunRecord {
  status: 'Succeeded' | 'Failed';
  message?: string;
  taskRuns: TaskRunRecord[];
  results: Record<string, string>;
}

export interface RunnerOptions {
  /** The environment every step starts from (PATH, HOME, buildah's storage ...). */
  env: Record<string, string | undefined>;
  onLine?: (line: string) => void;
}

/** Every document of these YAML files. */
export async function loadResources(files: string[]): Promise<Resource[]> {
  const out: Resource[] = [];
  for (const file of files) {
    for (const doc of parseAllDocuments(await readFile(file, 'utf8'))) {
      if ('errors' in doc && doc.errors.length) throw new Error(`${file}: ${doc.errors[0]}`);
      const value = doc.toJS() as Resource | null;
      if (value) out.push(value);
    }
  }
  return out;
}

export function clusterOf(resources: Resource[]): Cluster {
  const cluster: Cluster = {
    tasks: new Map(),
    pipelines: new Map(),
    secrets: new Map(),
    configMaps: new Map(),
  };
  for (const r of resources) {
    if (r.kind === 'Task') cluster.tasks.set(r.metadata.name!, r);
    if (r.kind === 'Pipeline') cluster.pipelines.set(r.metadata.name!, r);
  }
  return cluster;
}

class RunFailure extends Error {}

const VARIABLE =
  /\$\((params|results|workspaces|tasks|context)((?:\.[A-Za-z0-9_.-]+|\[['"][^'"]+['"]\])+)\)/g;

/** `.a.b` and `['a'].b` as a list of names. */
function pathOf(rest: string): string[] {
  return [...rest.matchAll(/\.([A-Za-z0-9_-]+)|\[['"]([^'"]+)['"]\]/g)].map((m) => m[1] ?? m[2]!);
}

/** Replaces every `$(…)` Tekton knows; a reference to something undeclared is an error, as in Tekton. */
function substitute(
  text: string,
  lookup: (ns: string, path: string[]) => string | undefined,
): string {
  return text.replace(VARIABLE, (whole, ns: string, rest: string) => {
    const value = lookup(ns, pathOf(rest));
    if (value === undefined) throw new RunFailure(`non-existent variable in "${whole}"`);
    return value;
  });
}

/** Applies `fn` to every string inside a value. */
function mapStrings(value: Json, fn: (s: string) => string): Json {
  if (typeof value === 'string') return fn(value);
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, fn));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, fn)]));
  return value;
}

/** The directory a workspace binding gives, made from the Secret or ConfigMap it names. */
async function bindWorkspace(binding: Json, cluster: Cluster, root: string): Promise<string> {
  const dir = await mkdtemp(join(root, `ws-${binding.name}-`));
  const source = binding.secret
    ? {
        kind: 'secret',
        name: binding.secret.secretName,
        data: cluster.secrets.get(binding.secret.secretName),
        items: binding.secret.items,
      }
    : binding.configMap
      ? {
          kind: 'configmap',
          name: binding.configMap.name,
          data: cluster.configMaps.get(binding.configMap.name),
          items: binding.configMap.items,
        }
      : undefined;
  if (!source) return dir; // emptyDir, volumeClaimTemplate, persistentVolumeClaim: an empty directory
  // The kubelet's words when a pod mounts a Secret or ConfigMap that does not exist.
  if (!source.data)
    throw new RunFailure(
      `MountVolume.SetUp failed for volume "ws-${binding.name}" : ${source.kind} "${source.name}" not found`,
    );
  const items: { key: string; path: string }[] =
    source.items ?? Object.keys(source.data).map((key) => ({ key, path: key }));
  for (const item of items) {
    if (!(item.key in source.data))
      throw new RunFailure(
        `MountVolume.SetUp failed for volume "ws-${binding.name}" : configmap references non-existent config key: ${item.key}`,
      );
    await writeFile(join(dir, item.path), source.data[item.key]!);
  }
  return dir;
}

function runScript(
  script: string,
  args: string[],
  env: Record<string, string | undefined>,
  cwd: string,
  onOutput: (text: string) => void,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script, 'step', ...args], {
      cwd,
      env: env as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (c: Buffer) => onOutput(c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => onOutput(c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
}

const RESULT_LIMIT = 4096; // bytes Tekton keeps of a TaskRun's results by default (termination message)

/** One TaskRun: params bound, workspaces mounted, steps in order; the results it wrote. */
async function runTask(
  name: string,
  spec: Json,
  params: Record<string, string>,
  workspaces: Map<string, string | undefined>,
  cluster: Cluster,
  root: string,
  options: RunnerOptions,
): Promise<TaskRunRecord> {
  const record: TaskRunRecord = { name, status: 'Succeeded', results: {}, log: '' };
  const say = (text: string) => {
    record.log += text;
    for (const line of text.split('\n')) if (line) options.onLine?.(`[${name}] ${line}`);
  };
  const scratch = await mkdtemp(join(root, `tr-${name}-`));
  const resultsDir = join(scratch, 'tekton-results');
  const workspaceDir = join(scratch, 'workspace');
  await mkdir(resultsDir);
  await mkdir(workspaceDir);
  try {
    const values: Record<string, string> = {};
    const missing: string[] = [];
    for (const p of spec.params ?? []) {
      // Tekton's own refusal of enum while its feature flag is off (the default; tektoncd/pipeline#7289).
      if (p.enum)
        throw new RunFailure(
          `feature flag \`enable-param-enum\` should be set to true to use Enum: params.${p.name}`,
        );
      const v = params[p.name] ?? p.default;
      if (v === undefined) missing.push(p.name);
      else values[p.name] = String(v);
    }
    if (missing.length) throw new RunFailure(`missing parameters: ${missing.join(', ')}`);
    for (const w of spec.workspaces ?? [])
      if (!workspaces.get(w.name) && !w.optional)
        throw new RunFailure(`declared workspace "${w.name}" is required but has not been bound`);
    const declaredResults = new Set<string>((spec.results ?? []).map((r: Json) => r.name));
    const lookup = (ns: string, path: string[]): string | undefined => {
      if (ns === 'params') return values[path[0]!];
      if (ns === 'results' && path[1] === 'path' && declaredResults.has(path[0]!))
        return join(resultsDir, path[0]!);
      if (ns === 'workspaces') {
        const declared = (spec.workspaces ?? []).some((w: Json) => w.name === path[0]);
        if (!declared) return undefined;
        const dir = workspaces.get(path[0]!);
        if (path[1] === 'bound') return dir ? 'true' : 'false';
        if (path[1] === 'path') return dir ?? '';
      }
      if (ns === 'context' && path.join('.') === 'taskRun.name') return `run-${name}`;
      if (ns === 'context' && path.join('.') === 'task.name') return name;
      return undefined;
    };
    // /workspace first (Tekton's path), then the variables (which give paths of this machine).
    const place = (s: string) =>
      substitute(s.replace(/\/workspace(?=\/|$|["'\s:])/g, workspaceDir), lookup);
    const template = spec.stepTemplate ?? {};
    for (const rawStep of spec.steps ?? []) {
      const step = mapStrings(rawStep, place);
      const env: Record<string, string | undefined> = { ...options.env };
      for (const e of [...(mapStrings(template.env ?? [], place) as Json[]), ...(step.env ?? [])]) {
        if (e.valueFrom?.secretKeyRef) {
          const ref = e.valueFrom.secretKeyRef;
          const secret = cluster.secrets.get(ref.name);
          // The kubelet's CreateContainerConfigError messages.
          if (!secret)
            throw new RunFailure(`CreateContainerConfigError: secret "${ref.name}" not found`);
          if (!(ref.key in secret))
            throw new RunFailure(
              `CreateContainerConfigError: couldn't find key ${ref.key} in Secret ${ref.name}`,
            );
          env[e.name] = secret[ref.key];
        } else env[e.name] = e.value ?? '';
      }
      say(`--- step ${step.name}\n`);
      const code = await runScript(
        step.script ?? '',
        step.args ?? [],
        env,
        step.workingDir ?? workspaceDir,
        say,
      );
      if (code !== 0) {
        record.status = 'Failed';
        record.message = `"step-${step.name}" exited with code ${code}`;
        break;
      }
    }
    let size = 0;
    for (const r of declaredResults) {
      const value = await readFile(join(resultsDir, r), 'utf8').catch(() => undefined);
      if (value === undefined) continue;
      size += Buffer.byteLength(value) + r.length;
      record.results[r] = value;
    }
    if (size > RESULT_LIMIT) {
      record.status = 'Failed';
      record.message = `results exceed ${RESULT_LIMIT} bytes`;
    }
  } catch (err) {
    if (!(err instanceof RunFailure)) throw err;
    record.status = 'Failed';
    record.message = err.message;
  }
  return record;
}

/** The pipeline tasks a task waits for: runAfter, and every task whose results it reads. */
function dependencies(task: Json): Set<string> {
  const deps = new Set<string>(task.runAfter ?? []);
  const text = JSON.stringify([task.params ?? [], task.when ?? [], task.workspaces ?? []]);
  for (const m of text.matchAll(/\$\(tasks\.([A-Za-z0-9_-]+)\.results\./g)) deps.add(m[1]!);
  return deps;
}

export async function runPipelineRun(
  pipelineRun: Resource,
  cluster: Cluster,
  options: RunnerOptions,
): Promise<PipelineRunRecord> {
  const root = await mkdtemp(join(tmpdir(), 'gr-tekton-'));
  const record: PipelineRunRecord = { status: 'Succeeded', taskRuns: [], results: {} };
  try {
    const ref = pipelineRun.spec.pipelineRef?.name;
    const pipeline = pipelineRun.spec.pipelineSpec
      ? { spec: pipelineRun.spec.pipelineSpec }
      : cluster.pipelines.get(ref);
    if (!pipeline) throw new RunFailure(`pipelines.tekton.dev "${ref}" not found`);
    const spec = pipeline.spec;

    const given = Object.fromEntries(
      (pipelineRun.spec.params ?? []).map((p: Json) => [p.name, String(p.value)]),
    );
    const params: Record<string, string> = {};
    const missing: string[] = [];
    for (const p of spec.params ?? []) {
      const v = given[p.name] ?? p.default;
      if (v === undefined) missing.push(p.name);
      else params[p.name] = String(v);
    }
    if (missing.length)
      throw new RunFailure(`PipelineRun missing parameters: ${missing.join(', ')}`);

    // PipelineRun bindings → directories, shared by every task that names them.
    const bindings = new Map<string, Json>(
      (pipelineRun.spec.workspaces ?? []).map((w: Json) => [w.name, w]),
    );
    for (const w of spec.workspaces ?? [])
      if (!bindings.has(w.name) && !w.optional)
        throw new RunFailure(
          `pipeline requires workspace with name "${w.name}" be provided by pipelinerun`,
        );
    const mounted = new Map<string, string>();

    const done = new Map<string, TaskRunRecord>();
    const pending: Json[] = [...(spec.tasks ?? [])];
    while (pending.length) {
      const next = pending.findIndex((t) => [...dependencies(t)].every((d) => done.has(d)));
      if (next < 0) throw new RunFailure('pipeline tasks wait for each other in a cycle');
      const task = pending.splice(next, 1)[0];
      const deps = [...dependencies(task)];
      if (deps.some((d) => done.get(d)!.status === 'Failed')) break;

      let skipReason: string | undefined;
      const pipelineLookup = (ns: string, path: string[]): string | undefined => {
        if (ns === 'params') return params[path[0]!];
        if (ns === 'tasks' && path[1] === 'results') {
          const from = done.get(path[0]!);
          if (!from) return undefined;
          if (from.status === 'Skipped') {
            skipReason = `Results were missing: task "${path[0]}" was skipped`;
            return '';
          }
          const value = from.results[path[2]!];
          if (value === undefined)
            throw new RunFailure(`Could not find result with name ${path[2]} for task ${path[0]}`);
          return value;
        }
        if (ns === 'context' && path.join('.') === 'pipelineRun.name') return 'run';
        return undefined;
      };
      const resolve = (s: string) => substitute(s, pipelineLookup);
      const taskParams: Record<string, string> = {};
      for (const p of task.params ?? []) taskParams[p.name] = resolve(String(p.value));
      const when = (task.when ?? []).map((w: Json) => ({
        input: resolve(String(w.input)),
        operator: w.operator,
        values: (w.values ?? []).map((v: string) => resolve(String(v))),
      }));
      if (!skipReason)
        for (const w of when) {
          const hit = w.values.includes(w.input);
          if ((w.operator === 'in') !== hit) {
            skipReason = `When Expressions evaluated to false: ${w.input} ${w.operator} ${JSON.stringify(w.values)}`;
            break;
          }
        }
      if (skipReason) {
        done.set(task.name, {
          name: task.name,
          status: 'Skipped',
          message: skipReason,
          results: {},
          log: '',
        });
        record.taskRuns.push(done.get(task.name)!);
        continue;
      }

      let taskSpec: Json = task.taskSpec;
      if (!taskSpec) {
        const found = cluster.tasks.get(task.taskRef?.name);
        if (!found) throw new RunFailure(`tasks.tekton.dev "${task.taskRef?.name}" not found`);
        taskSpec = found.spec;
      } else {
        // Embedded specs see the Pipeline's params too (Tekton's propagated parameters).
        const declared = new Set((taskSpec.params ?? []).map((p: Json) => p.name));
        for (const [k, v] of Object.entries(params)) if (!declared.has(k)) taskParams[k] ??= v;
        taskSpec = {
          ...taskSpec,
          params: [
            ...(taskSpec.params ?? []),
            ...Object.keys(params)
              .filter((k) => !declared.has(k))
              .map((k) => ({ name: k })),
          ],
        };
      }
      const workspaces = new Map<string, string | undefined>();
      let failure: string | undefined;
      for (const w of task.workspaces ?? []) {
        const binding = bindings.get(w.workspace);
        if (!binding) continue; // an optional pipeline workspace left unbound
        try {
          if (!mounted.has(w.workspace))
            mounted.set(w.workspace, await bindWorkspace(binding, cluster, root));
        } catch (err) {
          if (!(err instanceof RunFailure)) throw err;
          failure = err.message;
          break;
        }
        workspaces.set(
          w.name,
          w.subPath ? join(mounted.get(w.workspace)!, w.subPath) : mounted.get(w.workspace),
        );
        if (w.subPath) await mkdir(workspaces.get(w.name)!, { recursive: true });
      }
      const run = failure
        ? { name: task.name, status: 'Failed' as const, message: failure, results: {}, log: '' }
        : await runTask(task.name, taskSpec, taskParams, workspaces, cluster, root, options);
      done.set(task.name, run);
      record.taskRuns.push(run);
      if (run.status === 'Failed') break;
    }

    const failed = record.taskRuns.find((t) => t.status === 'Failed');
    if (failed) {
      record.status = 'Failed';
      record.message = `Task ${failed.name} failed: ${failed.message}`;
      return record;
    }
    for (const r of spec.results ?? []) {
      try {
        let skipped = false;
        const value = substitute(String(r.value), (ns, path) => {
          if (ns !== 'tasks') return undefined;
          const from = done.get(path[0]!);
          if (from?.status === 'Skipped') skipped = true;
          return from?.results[path[2]!] ?? (skipped ? '' : undefined);
        });
        if (!skipped) record.results[r.name] = value;
      } catch {
        // Tekton leaves a pipeline result out when what it refers to is missing.
      }
    }
  } catch (err) {
    if (!(err instanceof RunFailure)) throw err;
    record.status = 'Failed';
    record.message = err.message;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  return record;
}
