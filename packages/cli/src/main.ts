import { GitopsReleaseError, UsageError } from '@gitops-release/core';
import { type Command, type Io, parseCommandArgs } from './command.js';
import { buildAndPushImageCommand } from './commands/build-and-push-image.js';
import { createReleasePrCommand } from './commands/create-release-pr.js';
import { findImagesCommand } from './commands/find-images.js';
import { promoteCommand } from './commands/promote.js';
import { setImageCommand } from './commands/set-image.js';
import { escapeControl } from './terminal.js';

declare const GITOPS_RELEASE_VERSION: string | undefined;
const VERSION = typeof GITOPS_RELEASE_VERSION === 'string' ? GITOPS_RELEASE_VERSION : 'dev';

export const commands: readonly Command[] = [
  setImageCommand,
  findImagesCommand,
  buildAndPushImageCommand,
  createReleasePrCommand,
  promoteCommand,
];

function overview(): string {
  const width = Math.max(0, ...commands.map((c) => c.name.length));
  return [
    'gitops-release: build the image, then release it into the GitOps manifest repository.',
    '',
    'Usage: gitops-release <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "Run 'gitops-release <command> --help' for a command's options; add --debug to any command",
    'to see the stack trace of an unexpected error.',
    '',
  ].join('\n');
}

/** Runs the CLI and returns its exit code: 0 ok, 1 failed, 2 wrong usage. Never calls process.exit. */
export async function run(argv: string[], rawIo: Io): Promise<number> {
  // `--debug` anywhere: an unexpected error shows its stack trace (never otherwise).
  const debug = argv.includes('--debug');
  const io: Io = {
    ...rawIo,
    stdout: (text) => rawIo.stdout(escapeControl(text)),
    stderr: (text) => rawIo.stderr(escapeControl(text)),
  };
  const [name, ...rest] = argv.filter((a) => a !== '--debug');
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(overview());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    io.stdout(`${VERSION}\n`);
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    io.stderr(`error: unknown command "${name}"\n\n${overview()}`);
    return 2;
  }
  try {
    const args = parseCommandArgs(command, rest);
    if (args.values.help) {
      io.stdout(command.help.endsWith('\n') ? command.help : `${command.help}\n`);
      return 0;
    }
    return await command.run(args, io);
  } catch (err) {
    return reportError(err, io, command, debug);
  }
}

function reportError(err: unknown, io: Io, command: Command, debug: boolean): number {
  if (err instanceof UsageError) {
    io.stderr(`error: ${err.message}\nRun 'gitops-release ${command.name} --help' for usage.\n`);
    return 2;
  }
  if (err instanceof GitopsReleaseError) {
    io.stderr(`error: ${err.message}\n`);
    return 1;
  }
  // An error we did not name is a bug of ours: one line to report, the trace only on request.
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  const line = message.split('\n')[0];
  if (debug) {
    io.stderr(`error: ${err instanceof Error ? (err.stack ?? message) : message}\n`);
  } else {
    io.stderr(
      `error: internal error (${line}). This is a bug in gitops-release ${VERSION}: please report it; run again with --debug for the stack trace.\n`,
    );
  }
  return 1;
}
