import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as core from '@actions/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { actionsRuntime } from './runtime.js';

// Our runner protocol must be what the official toolkit writes: @actions/core is the oracle.

const DELIMITER = /ghadelimiter_[0-9a-f-]{36}/g;

function captureStdout(fn: () => void | Promise<void>): Promise<string> {
  const chunks: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    chunks.push(String(chunk));
    return true;
  });
  return Promise.resolve(fn())
    .finally(() => spy.mockRestore())
    .then(() => chunks.join(''));
}

const TRICKY = 'line 1\nline 2: 100% done, ok\r';

afterEach(() => {
  process.exitCode = undefined;
  vi.unstubAllEnvs();
});

describe('actionsRuntime writes what @actions/core writes', () => {
  it('for masks, log lines, warnings and groups', async () => {
    const run = async (api: {
      setSecret(v: string): void;
      info(v: string): void;
      warning(v: string): void;
      group<T>(n: string, f: () => Promise<T>): Promise<T>;
    }) => {
      api.setSecret('s3cr3t%value');
      api.info(TRICKY);
      api.warning(TRICKY);
      await api.group('Build: step, 1', async () => api.info('inside'));
    };
    const ours = await captureStdout(() => run(actionsRuntime({}, '/')));
    const theirs = await captureStdout(() => run(core));
    expect(ours).toBe(theirs);
    expect(ours).toContain('::add-mask::s3cr3t%25value');
  });

  it('for error annotations on a file, line and column', async () => {
    const place = { title: 'gitops-release', file: 'a,b:c.yaml', startLine: 4, startColumn: 7 };
    const ours = await captureStdout(() => actionsRuntime({}, '/').error(TRICKY, place));
    const theirs = await captureStdout(() => core.error(TRICKY, place));
    expect(ours).toBe(theirs);
    expect(ours).toBe(
      '::error title=gitops-release,file=a%2Cb%3Ac.yaml,line=4,col=7::line 1%0Aline 2: 100%25 done, ok%0D\n',
    );
  });

  it('for setFailed: the error line and exit code 1', async () => {
    const ours = await captureStdout(() => actionsRuntime({}, '/').setFailed('input "x": bad'));
    expect(process.exitCode).toBe(1);
    process.exitCode = undefined;
    const theirs = await captureStdout(() => core.setFailed('input "x": bad'));
    expect(process.exitCode).toBe(1);
    expect(ours).toBe(theirs);
  });

  it('for outputs in GITHUB_OUTPUT, multi-line values included', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gr-runtime-'));
    const oursFile = join(dir, 'ours');
    const theirsFile = join(dir, 'theirs');
    writeFileSync(oursFile, '');
    writeFileSync(theirsFile, '');
    const rt = actionsRuntime({ GITHUB_OUTPUT: oursFile }, '/');
    rt.setOutput('changed-files', 'a.yaml\nb.yaml');
    rt.setOutput('result', '');
    vi.stubEnv('GITHUB_OUTPUT', theirsFile);
    core.setOutput('changed-files', 'a.yaml\nb.yaml');
    core.setOutput('result', '');
    const ours = readFileSync(oursFile, 'utf8');
    expect(ours.replace(DELIMITER, 'D')).toBe(
      readFileSync(theirsFile, 'utf8').replace(DELIMITER, 'D'),
    );
    expect(ours.replace(DELIMITER, 'D')).toBe(
      'changed-files<<D\na.yaml\nb.yaml\nD\nresult<<D\n\nD\n',
    );
  });

  it('appends the job summary to GITHUB_STEP_SUMMARY, and skips it where there is none', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gr-runtime-'));
    const file = join(dir, 'summary');
    writeFileSync(file, 'before\n');
    await actionsRuntime({ GITHUB_STEP_SUMMARY: file }, '/').summary('### Released');
    expect(readFileSync(file, 'utf8')).toBe('before\n### Released\n');
    await expect(actionsRuntime({}, '/').summary('x')).resolves.toBeUndefined();
  });
});
