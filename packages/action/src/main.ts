import { GitopsReleaseError } from '@gitops-release/core';
import {
  type BuildInputs,
  type Env,
  getInputs,
  inputVariable,
  type PromoteInputs,
  type ReleaseInputs,
  secretValues,
} from './inputs.js';
import { completeOutputs, FAILED, OUTPUTS, type Outputs } from './outputs.js';
import { type AnnotationPlace, actionsRuntime, type Runtime } from './runtime.js';
import { INPUT_NAMES, INPUTS, type InputSpec } from './spec.js';

/** What a command hands back to the adapter: outputs, the job summary, one line for the log. */
export interface CommandOutcome {
  outputs: Outputs;
  /** Markdown for the job summary. */
  summary: string;
  message: string;
}

export type CommandRunner<I> = (inputs: I, rt: Runtime) => Promise<CommandOutcome>;

/** Each command's code is loaded only when chosen, so a run pays the start-up of one command. */
export interface Loaders {
  build_and_push_image(): Promise<CommandRunner<BuildInputs>>;
  create_release_pr(): Promise<CommandRunner<ReleaseInputs>>;
  promote(): Promise<CommandRunner<PromoteInputs>>;
}

export const loaders: Loaders = {
  build_and_push_image: () => import('./commands/build.js').then((m) => m.buildCommand),
  create_release_pr: () => import('./commands/release.js').then((m) => m.releaseCommand),
  promote: () => import('./commands/promote.js').then((m) => m.promoteCommand),
};

/** The action: inputs → core → outputs and summary. Never throws; failure sets exit code 1. */
export async function run(
  rt: Runtime = actionsRuntime(process.env as Env, process.cwd()),
  commands: Loaders = loaders,
): Promise<void> {
  // Mask before anything can be printed, even before the inputs are validated.
  const secrets = maskSecrets(rt);
  const clean = (text: string) => redact(text, secrets);
  try {
    const inputs = getInputs(rt.env);
    for (const note of inputs.notes) rt[note.level](clean(note.message));
    const outcome = await runCommand(inputs, rt, commands);
    const outputs = completeOutputs(outcome.outputs);
    for (const name of OUTPUTS) rt.setOutput(name, clean(outputs[name]));
    rt.info(clean(outcome.message));
    // The work is done and its outputs set: a summary that cannot be written does not undo it.
    await rt.summary(clean(outcome.summary)).catch((err: unknown) => {
      rt.warning(clean(`the job summary could not be written: ${String(err)}`));
    });
  } catch (err) {
    for (const name of OUTPUTS) rt.setOutput(name, name === 'result' ? FAILED : '');
    await reportFailure(err, rt, clean);
  }
}

async function runCommand(
  inputs: ReturnType<typeof getInputs>,
  rt: Runtime,
  commands: Loaders,
): Promise<CommandOutcome> {
  if (inputs.command === 'build_and_push_image')
    return (await commands.build_and_push_image())(inputs, rt);
  if (inputs.command === 'promote') return (await commands.promote())(inputs, rt);
  return (await commands.create_release_pr())(inputs, rt);
}

/** Registers every secret input (and each line of a multi-line one, as the runner masks by line). */
function maskSecrets(rt: Runtime): string[] {
  const secrets = new Set<string>();
  for (const value of secretValues(rt.env)) {
    // A key file may come base64-encoded (one line in a CI secret); what it decodes to is secret too.
    const decoded = /^[A-Za-z0-9+/=\s]{40,}$/.test(value)
      ? Buffer.from(value, 'base64').toString('utf8')
      : '';
    for (const secret of decoded.includes('private_key') ? [value, decoded] : [value]) {
      secrets.add(secret);
      for (const line of secret.split('\n')) if (line.trim().length >= 6) secrets.add(line.trim());
    }
  }
  const ordered = [...secrets].sort((a, b) => b.length - a.length);
  for (const secret of ordered) rt.setSecret(secret);
  return ordered;
}

/** The runner masks its log, not the files we write (outputs, summary): so we redact those too. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret) out = out.split(secret).join('***');
  return out;
}

/**
 * The CLI flags core's and the hosts' messages may name, as the action's inputs: from the spec.
 * (`--label` is both commands'; core names it only for image labels.)
 */
const FLAG_TO_INPUT: Record<string, string> = Object.fromEntries(
  INPUT_NAMES.flatMap((name) => {
    const spec: InputSpec = INPUTS[name];
    return Array.isArray(spec.cli) ? spec.cli.map((flag) => [flag, name]) : [];
  }).filter(([flag, name]) => !(flag === 'label' && name === 'labels')),
);

/** Core speaks the CLI's flags; in a workflow the user sets inputs, so name those instead. */
export function inActionTerms(message: string): string {
  return message
    .replace(
      /the (?:environment )?variable named by --token-env(?: \(default [^)]*\))?/g,
      'input "github-token"',
    )
    .replace(/(?<![\w-])--([a-z][a-z-]*)(?: [A-Z_]+)?/g, (whole, flag: string) => {
      const input = FLAG_TO_INPUT[flag];
      return input ? `input "${input}"` : whole;
    });
}

/** One failure message; errors that know their file and line also become annotations there. */
async function reportFailure(
  err: unknown,
  rt: Runtime,
  clean: (text: string) => string,
): Promise<void> {
  const placed = annotations(err);
  const messages = placed.map((p) => clean(inActionTerms(p.message)));
  if (placed.length > 0) {
    // The annotations on the files are the message; a second, unplaced copy would only repeat it.
    for (const [i, { place }] of placed.entries()) rt.error(messages[i]!, place);
    rt.markFailed();
  } else if (err instanceof GitopsReleaseError) {
    messages.push(clean(inActionTerms(err.message)));
    rt.setFailed(messages[0]!);
  } else {
    // Not one of our named errors: a bug of ours, so keep the stack for the report, folded.
    if (err instanceof Error && err.stack) {
      const stack = err.stack;
      await rt.group('Stack trace', async () => rt.info(clean(stack)));
    }
    messages.push(clean(`unexpected error: ${err instanceof Error ? err.message : String(err)}`));
    rt.setFailed(messages[0]!);
  }
  await rt.summary(failureSummary(rt.env, messages)).catch(() => {});
}

/** The job summary of a failed step: which command, and the message as the log shows it. */
function failureSummary(env: Env, messages: string[]): string {
  const command = env[inputVariable('command')]?.trim();
  const what = command ? `\`${command.replace(/`/g, "'")}\`` : 'gitops-release';
  const body = messages.map((m) => `\`\`\`text\n${m.replace(/```/g, "'''")}\n\`\`\``).join('\n\n');
  return `### ${what} failed\n\n${body}\n`;
}

function annotations(err: unknown): { message: string; place: AnnotationPlace }[] {
  const list = err instanceof AggregateError ? err.errors : [err];
  const out: { message: string; place: AnnotationPlace }[] = [];
  for (const e of list) {
    if (!(e instanceof GitopsReleaseError) || !e.location?.file) continue;
    const place: AnnotationPlace = { title: 'gitops-release', file: e.location.file };
    if (e.location.line) place.startLine = e.location.line;
    if (e.location.column) place.startColumn = e.location.column;
    out.push({ message: e.message, place });
  }
  return out;
}
