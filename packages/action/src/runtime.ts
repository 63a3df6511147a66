import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { EOL } from 'node:os';
import type { Env } from './inputs.js';

/** An annotation's place in a file; 1-based, as the runner wants them. */
export interface AnnotationPlace {
  title?: string;
  file?: string;
  startLine?: number;
  startColumn?: number;
}

/**
 * What the action does to the runner: masking, outputs, log, annotations, summary, failure.
 * `actionsRuntime()` is the real one; unit tests pass a recording one.
 */
export interface Runtime {
  env: Env;
  cwd: string;
  setSecret(value: string): void;
  setOutput(name: string, value: string): void;
  info(message: string): void;
  warning(message: string): void;
  /** A notice annotation: something the action changed for the user, not a problem. */
  notice(message: string): void;
  /** An error annotation, on a file and line when `place` has them. */
  error(message: string, place?: AnnotationPlace): void;
  group<T>(name: string, fn: () => Promise<T>): Promise<T>;
  /** Appends Markdown to the job summary. */
  summary(markdown: string): Promise<void>;
  /** Fails the step (exit code 1) with one error message. */
  setFailed(message: string): void;
  /** Fails the step (exit code 1) without printing anything more: the annotations said it. */
  markFailed(): void;
}

// The runner's protocol, as GitHub documents it ("Workflow commands for GitHub Actions") and as
// @actions/core writes it: `::command key=value,…::message` lines on stdout, and the GITHUB_OUTPUT
// and GITHUB_STEP_SUMMARY files. Written here rather than imported from @actions/core because
// that package loads undici, tunnel and the TLS stack at start-up for OIDC tokens this action
// never requests: measured, that tripled the action's start-up (see the README's GitHub Actions section).
// runtime.test.ts holds this encoding byte-equal to @actions/core's.

/** A command's message: %, CR and LF escaped. */
export function escapeData(value: string): string {
  return value.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** A command's property value: also `:` and `,`, which separate properties. */
export function escapeProperty(value: string): string {
  return escapeData(value).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** One workflow command line, properties with an empty value left out. */
export function workflowCommand(
  command: string,
  properties: Record<string, string | number | undefined>,
  message: string,
): string {
  const props = Object.entries(properties)
    .filter(([, v]) => v !== undefined && v !== '' && v !== 0)
    .map(([k, v]) => `${k}=${escapeProperty(String(v))}`)
    .join(',');
  return `::${command}${props ? ` ${props}` : ''}::${escapeData(message)}`;
}

/** A `name<<DELIMITER` block for GITHUB_OUTPUT / GITHUB_ENV, safe for multi-line values. */
export function fileCommandEntry(name: string, value: string): string {
  const delimiter = `ghadelimiter_${randomUUID()}`;
  // A value holding the delimiter could smuggle in other outputs; a fresh UUID never collides.
  if (name.includes(delimiter) || value.includes(delimiter))
    throw new Error(`output ${name} contains the delimiter ${delimiter}`);
  return `${name}<<${delimiter}${EOL}${value}${EOL}${delimiter}`;
}

export function actionsRuntime(
  env: Env,
  cwd: string,
  write: (text: string) => void = (text) => process.stdout.write(text),
): Runtime {
  const line = (text: string) => write(`${text}${EOL}`);
  const annotate = (
    kind: 'error' | 'warning' | 'notice',
    message: string,
    place: AnnotationPlace = {},
  ) =>
    line(
      workflowCommand(
        kind,
        {
          title: place.title,
          file: place.file,
          line: place.startLine,
          col: place.startColumn,
        },
        message,
      ),
    );
  return {
    env,
    cwd,
    setSecret: (value) => line(workflowCommand('add-mask', {}, value)),
    setOutput: (name, value) => {
      const file = env.GITHUB_OUTPUT;
      if (file) appendFileSync(file, `${fileCommandEntry(name, value)}${EOL}`, 'utf8');
      // Outside a runner that has the file (old runners, act): the deprecated command.
      else line(`${EOL}${workflowCommand('set-output', { name }, value)}`);
    },
    info: line,
    warning: (message) => annotate('warning', message),
    notice: (message) => annotate('notice', message),
    error: (message, place) => annotate('error', message, place),
    group: async (name, fn) => {
      line(workflowCommand('group', {}, name));
      try {
        return await fn();
      } finally {
        line(workflowCommand('endgroup', {}, ''));
      }
    },
    summary: async (markdown) => {
      const file = env.GITHUB_STEP_SUMMARY;
      if (!file) return; // not on a runner that keeps summaries (act, a shell)
      appendFileSync(file, `${markdown}${EOL}`, 'utf8');
    },
    setFailed: (message) => {
      process.exitCode = 1;
      annotate('error', message);
    },
    markFailed: () => {
      process.exitCode = 1;
    },
  };
}
