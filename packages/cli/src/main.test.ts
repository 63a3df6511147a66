import { describe, expect, it } from 'vitest';
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
});
