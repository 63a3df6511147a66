// The sub-directory actions run as the runner runs them: `runs.main` resolved against the
// action's own directory, in a copy of the repository laid out as the runner downloads it.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { root } from './workflow-lint.js';

const run = promisify(execFile);
let checkout: string;

beforeAll(async () => {
  checkout = join(await mkdtemp(join(tmpdir(), 'gr-sub-')), 'gitops-release/gitops-release/v1');
  for (const file of [
    'action.yml',
    'dist/action.cjs',
    'dist/build-and-push-image.cjs',
    'dist/create-release-pr.cjs',
    'dist/promote.cjs',
    'build-and-push-image/action.yml',
    'create-release-pr/action.yml',
    'promote/action.yml',
  ]) {
    await mkdir(dirname(join(checkout, file)), { recursive: true });
    await copyFile(join(root, file), join(checkout, file));
  }
});
afterAll(async () => {
  if (checkout) await rm(join(checkout, '../../..'), { recursive: true, force: true });
});

describe.each([
  ['build-and-push-image', 'build_and_push_image', 'image'],
  ['create-release-pr', 'create_release_pr', 'repo'],
  ['promote', 'promote', 'repo'],
])('%s/', (dir, command, required) => {
  it(`runs ${command} with no command input, and names its required input`, async () => {
    const action = YAML.parse(readFileSync(join(checkout, dir, 'action.yml'), 'utf8'));
    expect(action.runs.using).toBe('node24');
    const main = join(checkout, dir, action.runs.main);
    const r = await run(process.execPath, [main], {
      cwd: checkout,
      env: { PATH: process.env.PATH, GITHUB_SHA: 'a'.repeat(40) },
    }).then(
      () => ({ code: 0, stdout: '' }),
      (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`input "${required}": is required for ${command}`);
    expect(r.stdout).not.toContain('input "command"');
  });
});
