import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freePort,
  GCP_TEST_KEY,
  startRegistry,
  TEST_USER,
  type TestRegistry,
} from '../support/registry.js';
import { cli, expectRefused, type Refusal, snapshot, tempDir, writeTree } from './harness.js';

// build-and-push-image refuses bad input before it builds or pushes anything. The refusals that
// need a registry meet a real one (Distribution behind htpasswd), and nothing may reach it but
// reads: no blob upload, no manifest put.

const PASSWORD = 'Wrong-but-Secret-pass-9931';
const COMMIT = 'a'.repeat(40);
let registry: TestRegistry;
let closedPort: number;

beforeAll(async () => {
  registry = await startRegistry('htpasswd');
  closedPort = await freePort();
}, 120_000);
afterAll(async () => {
  await registry?.stop();
});

interface Case {
  name: string;
  argv: () => string[];
  refusal: Refusal;
  env?: Record<string, string>;
  stdin?: string;
}

const image = () => ['--image', `${registry.host}/acme/web`];
const cases: Case[] = [
  { name: 'no --image', argv: () => [], refusal: { code: 2, names: ['--image is required'] } },
  {
    name: 'an --image with an empty path component',
    argv: () => ['--image', `${registry.host}/acme//web`],
    refusal: { code: 2, names: ['--image', 'acme//web'] },
  },
  {
    name: 'an --image with a space',
    argv: () => ['--image', 'ghcr.io/acme/my web'],
    refusal: { code: 2, names: ['--image', 'ghcr.io/acme/my web'] },
  },
  {
    name: 'a --context that does not exist',
    argv: () => [...image(), '--context', 'nope'],
    refusal: { code: 2, names: ['--context', 'nope is not a directory'] },
  },
  {
    name: 'a --context that is a device',
    argv: () => [...image(), '--context', '/dev/null'],
    refusal: { code: 2, names: ['--context: /dev/null is not a directory'] },
  },
  {
    name: 'a --file that is a directory',
    argv: () => [...image(), '--file', '.'],
    refusal: { code: 2, names: ['--file: there is no Dockerfile at'] },
  },
  {
    name: 'an unknown --builder',
    argv: () => [...image(), '--builder', 'kaniko'],
    refusal: { code: 2, names: ['--builder must be auto, docker, buildah, podman; got "kaniko"'] },
  },
  {
    name: 'a --sha-length that is not a number',
    argv: () => [...image(), '--sha-length', 'seven'],
    refusal: { code: 2, names: ['--sha-length takes a whole number, got "seven"'] },
  },
  {
    name: 'both --skip-existing and --no-skip-existing',
    argv: () => [...image(), '--skip-existing', '--no-skip-existing'],
    refusal: { code: 2, names: ['give --skip-existing or --no-skip-existing, not both'] },
  },
  {
    name: 'a --tag with a space',
    argv: () => [...image(), '--tag', 'v1 beta'],
    refusal: { code: 2, names: ['"v1 beta" is not a valid tag'] },
  },
  {
    name: 'an --extra-tag starting with "-"',
    argv: () => [...image(), '--tag', 'v1', '--extra-tag=-latest'],
    refusal: { code: 2, names: ['"-latest" is not a valid tag'] },
  },
  {
    name: 'a --build-arg without "="',
    argv: () => [...image(), '--tag', 'v1', '--build-arg', 'NODE_ENV'],
    refusal: { code: 2, names: ['--build-arg takes KEY=VALUE, got "NODE_ENV"'] },
  },
  {
    name: 'a --label with an empty key',
    argv: () => [...image(), '--tag', 'v1', '--label', '=x'],
    refusal: { code: 2, names: ['--label takes KEY=VALUE, got "=x"'] },
  },
  {
    name: 'a --commit that is not a SHA, holding an escape sequence',
    argv: () => [...image(), '--tag', 'v1', '--commit', 'abc\u001b[2J'],
    refusal: { code: 2, names: ['--commit "abc\\u001b[2J" is not a full commit SHA'] },
  },
  {
    name: 'GITHUB_SHA set to something that is not a SHA',
    argv: image,
    env: { GITHUB_SHA: 'main' },
    refusal: { code: 2, names: ['"main" is not a full commit SHA'] },
  },
  {
    name: 'no tag anywhere: CI variables set but empty, not a git checkout',
    argv: image,
    env: { GITHUB_SHA: '', CIRCLE_SHA1: '', CI_COMMIT_SHA: '' },
    refusal: { code: 2, names: ['no tag: pass --tag'] },
  },
  {
    name: '--password-env naming a variable that is set but empty',
    argv: () => [...image(), '--commit', COMMIT, '--password-env', 'REGISTRY_PASSWORD'],
    env: { REGISTRY_PASSWORD: '' },
    refusal: {
      code: 2,
      names: ['--password-env: the environment variable REGISTRY_PASSWORD is empty'],
    },
  },
  {
    name: '--password-env and --password-stdin together',
    argv: () => [...image(), '--password-env', 'P', '--password-stdin'],
    env: { P: PASSWORD },
    refusal: {
      code: 2,
      names: ['give only one of --password-env, --password-stdin'],
      secrets: [PASSWORD],
    },
  },
  {
    name: '--password-stdin with nothing on standard input',
    argv: () => [...image(), '--commit', COMMIT, '--password-stdin'],
    refusal: { code: 2, names: ['--password-stdin: standard input was empty'] },
  },
  {
    name: '--username without a password',
    argv: () => [...image(), '--commit', COMMIT, '--username', TEST_USER],
    refusal: { code: 2, names: ['--username needs --password-env or --password-stdin'] },
  },
  {
    name: '--gcp-key-env holding broken JSON with key material in it',
    argv: () => [...image(), '--commit', COMMIT, '--gcp-key-env', 'GCP_KEY'],
    env: { GCP_KEY: GCP_TEST_KEY.slice(0, -10) },
    refusal: {
      code: 2,
      names: ['--gcp-key-env GCP_KEY does not hold JSON'],
      secrets: ['TESTKEYMATERIAL'],
    },
  },
  {
    name: 'a wrong password for a real registry',
    argv: () => [...image(), '--commit', COMMIT, '--username', TEST_USER, '--password-env', 'P'],
    env: { P: PASSWORD },
    refusal: { code: 1, names: [/127\.0\.0\.1:\d+/, TEST_USER], secrets: [PASSWORD] },
  },
  {
    name: 'a wrong password on standard input',
    argv: () => [...image(), '--commit', COMMIT, '--username', TEST_USER, '--password-stdin'],
    stdin: `${PASSWORD}\n`,
    refusal: { code: 1, names: [/127\.0\.0\.1:\d+/], secrets: [PASSWORD] },
  },
  {
    name: 'a registry that is not listening',
    argv: () => ['--image', `127.0.0.1:${closedPort}/acme/web`, '--commit', COMMIT],
    refusal: { code: 1, names: [/cannot connect to registry 127\.0\.0\.1:\d+/] },
  },
];

describe('build-and-push-image refuses hostile and unusual input, pushing nothing', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const dir = tempDir('build');
    writeTree(dir, { Dockerfile: 'FROM scratch\nCOPY Dockerfile /\n' });
    const before = snapshot(dir);
    const since = registry.requests().length;
    const out = await cli(['build-and-push-image', ...c.argv()], {
      cwd: dir,
      ...(c.env ? { env: c.env } : {}),
      ...(c.stdin === undefined ? {} : { stdin: c.stdin }),
    });
    expectRefused(out, c.refusal);
    expect(snapshot(dir)).toEqual(before);
    const writes = registry
      .requests()
      .slice(since)
      .filter((r) => !['GET', 'HEAD'].includes(r.method));
    expect(writes, 'nothing was uploaded to the registry').toEqual([]);
  });
});
