import * as core from '@actions/core';
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
 * `actionsRuntime()` is the real one on @actions/core; unit tests pass a recording one.
 */
export interface Runtime {
  env: Env;
  cwd: string;
  setSecret(value: string): void;
  setOutput(name: string, value: string): void;
  info(message: string): void;
  warning(message: string): void;
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

export function actionsRuntime(env: Env, cwd: string): Runtime {
  return {
    env,
    cwd,
    setSecret: (value) => core.setSecret(value),
    setOutput: (name, value) => core.setOutput(name, value),
    info: (message) => core.info(message),
    warning: (message) => core.warning(message),
    error: (message, place) => core.error(message, place ?? {}),
    group: (name, fn) => core.group(name, fn),
    summary: async (markdown) => {
      if (!env.GITHUB_STEP_SUMMARY) return; // not on a runner that keeps summaries (act, a shell)
      await core.summary.addRaw(markdown, true).write();
    },
    setFailed: (message) => core.setFailed(message),
    markFailed: () => {
      process.exitCode = core.ExitCode.Failure;
    },
  };
}
