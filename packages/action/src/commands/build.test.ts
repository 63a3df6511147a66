import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type BuildInputs, getInputs } from '../inputs.js';
import { loginFor } from './build.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

const TOKEN = 'ghs_workflowToken000000000000000000000';
function inputs(): BuildInputs {
  return getInputs({
    INPUT_COMMAND: 'build_and_push_image',
    INPUT_IMAGE: 'ghcr.io/o/app',
    'INPUT_GITHUB-TOKEN': TOKEN,
    GITHUB_SHA: 'a'.repeat(40),
  }) as BuildInputs;
}

async function dockerConfig(config: object): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gr-docker-config-'));
  dirs.push(dir);
  await writeFile(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

describe('the ghcr.io login', () => {
  it('uses the workflow token when nothing else logs in to ghcr.io', async () => {
    const dir = await dockerConfig({ auths: { 'registry.example.com': { auth: 'eDp5' } } });
    const login = await loginFor(inputs(), { DOCKER_CONFIG: dir, GITHUB_ACTOR: 'me' }, 'ghcr.io');
    expect(login).toEqual({ username: 'me', password: TOKEN });
  });

  it('keeps an earlier docker/login-action login to ghcr.io: the default token does not replace it', async () => {
    const dir = await dockerConfig({ auths: { 'ghcr.io': { auth: 'dXNlcjpwYXQ=' } } });
    expect(await loginFor(inputs(), { DOCKER_CONFIG: dir, GITHUB_ACTOR: 'me' }, 'ghcr.io')).toBe(
      undefined,
    );
    const helper = await dockerConfig({ credHelpers: { 'ghcr.io': 'gh' } });
    expect(await loginFor(inputs(), { DOCKER_CONFIG: helper }, 'ghcr.io')).toBe(undefined);
  });
});
