// build-and-push-image with the real Docker engine (classic builder: buildx is not packaged in
// Debian 12) against a real registry behind htpasswd basic auth.
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DockerEngine, startDockerEngine } from '../support/docker-engine.js';
import {
  freePort,
  startRegistry,
  TEST_PASSWORD,
  TEST_USER,
  type TestRegistry,
} from '../support/registry.js';
import { runCli } from '../support/run-cli.js';
import { BUSYBOX_DOCKERFILE, makeContext } from './context.js';

const SHA = '1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c';
const EPOCH = '1767323045'; // 2026-01-02T03:04:05Z
let engine: DockerEngine;
let registry: TestRegistry;
let context: string;
/** Everything any run printed: the password must be in none of it. */
const printed: string[] = [];

async function cli(args: string[], env: Record<string, string> = {}) {
  const r = await runCli(
    ['build-and-push-image', ...args],
    {
      ...engine.env,
      REGISTRY_PASSWORD: TEST_PASSWORD,
      GITHUB_SHA: SHA,
      GITHUB_REPOSITORY: 'acme/web',
      SOURCE_DATE_EPOCH: EPOCH,
      ...env,
    },
    context,
  );
  printed.push(r.stdout, r.stderr);
  return r;
}

const login = ['--username', TEST_USER, '--password-env', 'REGISTRY_PASSWORD'];

beforeAll(async () => {
  [engine, registry] = await Promise.all([startDockerEngine(), startRegistry('htpasswd')]);
  context = await makeContext(BUSYBOX_DOCKERFILE, { 'app.txt': 'docker e2e\n' });
});

afterAll(async () => {
  await Promise.all([engine?.stop(), registry?.stop()]);
});

describe('build-and-push-image with docker', () => {
  let digest: string;

  it('builds, tags with the short commit SHA and pushes; the registry serves tag, digest and labels', async () => {
    const r = await cli([
      '--image',
      `${registry.host}/team/web`,
      ...login,
      '--build-arg',
      'GREETING=hi, there',
      '--label',
      'team=web',
      '--extra-tag',
      'latest',
      '--json',
    ]);
    expect(r.stderr).toContain('building');
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout);
    const manifest = await registry.manifest('team/web', '1f2e3d4');
    digest = manifest.digest;
    expect(result).toEqual({
      image: `${registry.host}/team/web:1f2e3d4`,
      digest,
      imageRef: `${registry.host}/team/web@${digest}`,
      tags: ['1f2e3d4', 'latest'],
      result: 'built',
      builder: 'docker',
      labels: expect.any(Object),
    });
    expect((await registry.manifest('team/web', 'latest')).digest).toBe(digest);
    const config = (await registry.config('team/web', '1f2e3d4')) as {
      config: { Labels: Record<string, string> };
    };
    expect(config.config.Labels).toEqual({
      'org.opencontainers.image.revision': SHA,
      'org.opencontainers.image.source': 'https://github.com/acme/web',
      'org.opencontainers.image.created': '2026-01-02T03:04:05.000Z',
      team: 'web',
    });
  });

  it('a second run of the same commit builds and pushes nothing and reports the same digest', async () => {
    const imagesBefore = await engine.imageIds();
    const logBefore = engine.log().length;
    const requestsBefore = registry.requests().length;
    const r = await cli(['--image', `${registry.host}/team/web`, ...login, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      result: 'skipped-exists',
      digest,
      imageRef: `${registry.host}/team/web@${digest}`,
    });
    // The registry saw only the existence check (401 challenge, then the authorized HEAD)...
    expect(
      (await registry.requestsSince(requestsBefore, 2)).map(
        (q) => `${q.method} ${q.uri} ${q.status}`,
      ),
    ).toEqual([
      'HEAD /v2/team/web/manifests/1f2e3d4 401',
      'HEAD /v2/team/web/manifests/1f2e3d4 200',
    ]);
    // ...and the engine built nothing: no new image, no build in its log.
    expect(await engine.imageIds()).toEqual(imagesBefore);
    expect(engine.log().slice(logBefore)).not.toMatch(/build|push/i);
    expect(r.stderr).not.toContain('Step 1/');
  });

  it('--dry-run checks the registry and builds nothing, for a new and for an existing commit', async () => {
    const imagesBefore = await engine.imageIds();
    const fresh = await cli(
      ['--image', `${registry.host}/team/web`, ...login, '--dry-run', '--json'],
      {
        GITHUB_SHA: 'b'.repeat(40),
      },
    );
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(JSON.parse(fresh.stdout)).toMatchObject({
      result: 'would-build',
      image: `${registry.host}/team/web:bbbbbbb`,
    });
    const existing = await cli(['--image', `${registry.host}/team/web`, ...login, '--dry-run']);
    expect(existing.code).toBe(0);
    expect(existing.stdout).toContain('already in the registry, nothing built');
    expect(await engine.imageIds()).toEqual(imagesBefore);
    await expect(registry.manifest('team/web', 'bbbbbbb')).rejects.toThrow(/HTTP 404/);
  });

  it('--no-skip-existing builds again, picking docker automatically', async () => {
    const r = await cli([
      '--image',
      `${registry.host}/team/web`,
      ...login,
      '--no-skip-existing',
      '--builder',
      'auto',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`built and pushed ${registry.host}/team/web:1f2e3d4`);
    expect(r.stderr).toContain('with docker');
  });

  it('a wrong password fails before building, naming registry and user but not the password', async () => {
    const wrong = 'Wr0ng-password-for-test';
    const imagesBefore = await engine.imageIds();
    const r = await cli(['--image', `${registry.host}/team/web`, ...login], {
      REGISTRY_PASSWORD: wrong,
      GITHUB_SHA: 'a'.repeat(40),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `registry ${registry.host} refused the login of user "${TEST_USER}"`,
    );
    expect(r.stderr + r.stdout).not.toContain(wrong);
    expect(await engine.imageIds()).toEqual(imagesBefore);
  });

  it('a registry that is down is named as unreachable', async () => {
    const down = `127.0.0.1:${await freePort()}`;
    const r = await cli(['--image', `${down}/team/web`, ...login]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`cannot connect to registry ${down} .*ECONNREFUSED`));
  });

  it('a missing Dockerfile names --file and the path', async () => {
    const r = await cli(['--image', `${registry.host}/team/web`, '--file', 'nope/Dockerfile']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `--file: there is no Dockerfile at ${join(context, 'nope/Dockerfile')}`,
    );
  });

  it('an invalid image name says what is wrong with it', async () => {
    const r = await cli(['--image', `${registry.host}/team/we!b`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--image');
    expect(r.stderr).toContain('may hold only lowercase letters, digits and single separators');
  });

  it('upper case in the name (a mixed-case github.repository owner) is lowercased, with a notice', async () => {
    const r = await cli(['--image', `${registry.host}/Team/Web`, '--dry-run']);
    expect(r.stderr).toContain(
      `notice: --image "${registry.host}/Team/Web" has upper-case letters, which registries refuse in an image name: using "${registry.host}/team/web"`,
    );
    expect(r.code, r.stderr).toBe(0);
  });

  it('a failing RUN step fails with the builder’s last lines', async () => {
    const dir = join(context, 'failing');
    await mkdir(dir, { recursive: true });
    await writeFile(
      join(dir, 'Dockerfile'),
      'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "sh", "-c", "echo boom-marker-42 >&2; exit 3"]\n',
    );
    await copyFile('/bin/busybox', join(dir, 'busybox'));
    const r = await cli([
      '--image',
      `${registry.host}/team/failing`,
      ...login,
      '--context',
      dir,
      '--builder',
      'docker',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/docker build failed \(exit 3\); its last lines:/);
    expect(r.stderr).toMatch(/\| boom-marker-42\n/);
    await expect(registry.manifest('team/failing', '1f2e3d4')).rejects.toThrow(/HTTP 404/);
  });

  it('printed the password nowhere', () => {
    expect(printed.length).toBeGreaterThan(10);
    expect(printed.join('')).not.toContain(TEST_PASSWORD);
  });
});
