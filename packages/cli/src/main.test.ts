import { describe, expect, it } from 'vitest';
import type { Command } from './command.js';
import { commands } from './main.js';
import { runCli } from './test-io.js';

describe('gitops-release', () => {
  it('lists every command in --help and exits 0', async () => {
    const r = await runCli(['--help'], { cwd: '/' });
    expect(r.code).toBe(0);
    for (const c of commands) expect(r.stdout).toContain(c.name);
  });

  it('exits 2 with the overview when no command is given', async () => {
    const r = await runCli([], { cwd: '/' });
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('Usage: gitops-release <command>');
  });

  it('names an unknown command and exits 2', async () => {
    const r = await runCli(['set-imagee'], { cwd: '/' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown command "set-imagee"');
  });

  it.each(commands.map((c) => c.name))('%s --help prints its usage and examples', async (name) => {
    const r = await runCli([name, '--help'], { cwd: '/' });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Usage: gitops-release ${name}`);
    expect(r.stdout).toMatch(/Examples?:/);
  });

  it('names an unknown flag and exits 2', async () => {
    const name = commands[0]?.name ?? 'set-image';
    const r = await runCli([name, '--no-such-flag'], { cwd: '/' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--no-such-flag');
    expect(r.stderr).toContain(`gitops-release ${name} --help`);
  });

  it('an unexpected error is one line that says it is a bug; the trace only with --debug', async () => {
    const boom: Command = {
      name: 'boom',
      summary: 'throws',
      help: 'Usage: gitops-release boom\nExamples: none',
      options: {},
      run: async () => {
        throw new TypeError('x is not a function\n    at nowhere');
      },
    };
    (commands as Command[]).push(boom);
    try {
      const plain = await runCli(['boom'], { cwd: '/' });
      expect(plain.code).toBe(1);
      expect(plain.stderr).toMatch(
        /^error: internal error \(TypeError: x is not a function\)\. This is a bug/,
      );
      expect(plain.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(plain.stderr).not.toMatch(/\n\s+at /);
      const debug = await runCli(['boom', '--debug'], { cwd: '/' });
      expect(debug.stderr).toMatch(/\n\s+at .*main\.test\.ts/);
    } finally {
      (commands as Command[]).pop();
    }
  });

  it('escapes control characters from input in everything it prints', async () => {
    const r = await runCli(['set-image\x1b[2J\u202e'], { cwd: '/' });
    expect(r.stderr).toContain('unknown command "set-image\\u001b[2J\\u202e"');
    expect(r.stderr).not.toContain('\x1b');
    expect(r.stderr).not.toContain('\u202e');
  });
});
