// The existence check with the login a docker credential helper holds (gcloud's, ecr-login,
// pass, the OS keychain): a real helper program on PATH, speaking the helper protocol, in front of
// a real registry with bearer-token auth. With it a re-run builds nothing; without it the CLI says
// it cannot check and would build.
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, TEST_PASSWORD, TEST_USER, type TestRegistry } from '../support/registry.js';
import { runCli } from '../support/run-cli.js';
import { BUSYBOX_DOCKERFILE, makeContext } from './context.js';
import { type DaemonlessStorage, daemonlessStorage } from './daemonless.js';

const SHA = 'c4ed1e1be1a2b3c4d5e6f708192a3b4c5d6e7f80';
let registry: TestRegistry;
let storage: DaemonlessStorage;
let context: string;
let home: string;
let bin: string;
const printed: string[] = [];

// A helper as docker-credential-helpers defines it: `get` reads the server address on stdin and
// answers JSON, or prints "credentials not found" and exits 1.
const HELPER = `#!/bin/sh
read -r server
echo "$1 $server" >> "$HELPER_LOG"
if [ "$1" = get ] && [ "$server" = "$HELPER_SERVER" ]; then
  printf '{"ServerURL":"%s","Username":"%s","Secret":"%s"}\\n' "$server" "$HELPER_USER" "$HELPER_SECRET"
else
  echo "credentials not found in native keychain"
  exit 1
fi
`;

async function configure(config: Record<string, unknown>) {
  await writeFile(join(home, '.docker', 'config.json'), JSON.stringify(config));
}

async function cli(args: string[]) {
  const r = await runCli(
    ['build-and-push-image', ...args],
    {
      ...storage.env,
      HOME: home,
      DOCKER_CONFIG: undefined,
      PATH: `${bin}:${process.env.PATH}`,
      HELPER_LOG: join(home, 'helper.log'),
      HELPER_SERVER: registry.host,
      HELPER_USER: TEST_USER,
      HELPER_SECRET: TEST_PASSWORD,
      REGISTRY_PASSWORD: TEST_PASSWORD,
      CIRCLE_SHA1: SHA,
    },
    context,
  );
  printed.push(r.stdout, r.stderr);
  return r;
}

beforeAll(async () => {
  [registry, storage] = await Promise.all([startRegistry('token'), daemonlessStorage()]);
  context = await makeContext(BUSYBOX_DOCKERFILE, { 'app.txt': 'helpers\n' });
  home = await mkdtemp(join(tmpdir(), 'gr-helper-home-'));
  bin = join(home, 'bin');
  await mkdir(join(home, '.docker'), { recursive: true });
  await mkdir(bin);
  for (const name of ['docker-credential-grtest', 'docker-credential-grstore']) {
    await writeFile(join(bin, name), HELPER);
    await chmod(join(bin, name), 0o755);
  }
  // The commit's image is pushed once, with a login of our own.
  await configure({});
  const first = await cli([
    '--image',
    `${registry.host}/team/helped`,
    '--username',
    TEST_USER,
    '--password-env',
    'REGISTRY_PASSWORD',
    '--builder',
    'buildah',
  ]);
  expect(first.code, first.stderr).toBe(0);
});

afterAll(async () => {
  await registry?.stop();
  await storage?.dispose();
  if (home) await rm(home, { recursive: true, force: true });
  for (const text of printed) expect(text).not.toContain(TEST_PASSWORD);
});

describe('the existence check without a login option', () => {
  const image = () => ['--image', `${registry.host}/team/helped`, '--dry-run', '--json'];

  it('without a helper it cannot check, and says it would build', async () => {
    await configure({});
    const r = await cli(image());
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).result).toBe('would-build');
    expect(r.stderr).toContain('cannot check whether');
  });

  it.each([
    ['credHelpers', () => ({ credHelpers: { [registry.host]: 'grtest' } }), 'grtest'],
    ['credsStore', () => ({ credsStore: 'grstore', auths: { [registry.host]: {} } }), 'grstore'],
  ])('with %s it asks the helper and finds the tag: nothing to build', async (_, config, name) => {
    await configure(config());
    await rm(join(home, 'helper.log'), { force: true });
    const tokensBefore = registry.tokenRequests().length;
    const r = await cli(image());
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ result: 'skipped-exists' });
    expect(await readFile(join(home, 'helper.log'), 'utf8')).toBe(`get ${registry.host}\n`);
    // The token service was asked with the helper's user.
    expect(registry.tokenRequests().slice(tokensBefore)).toEqual([
      expect.objectContaining({ account: TEST_USER, status: 200 }),
    ]);
    expect(name).toMatch(/^gr/);
  });

  it('a helper that has no login for this registry is the same as none', async () => {
    await configure({ credHelpers: { 'other.example': 'grtest' }, credsStore: 'grstore' });
    const r = await cli(image());
    // credsStore is asked for this registry; it answers "not found" for any other server name.
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).result).toBe('skipped-exists');
    await configure({ credHelpers: { [registry.host]: 'missing-helper' } });
    const missing = await cli(image());
    expect(JSON.parse(missing.stdout).result).toBe('would-build');
  });
});
