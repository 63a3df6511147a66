import { describe, expect, it } from 'vitest';
import { InvalidImageReferenceError, RegistryLoginError, UsageError } from '../errors.js';
import { type BuildAndPushRequest, buildAndPushImage, extraTagOf } from './build-and-push.js';
import { composeImageName, parseImageName, registryKind } from './image-name.js';
import { OCI_CREATED, OCI_REVISION, OCI_SOURCE, ociLabels, parseKeyValues } from './labels.js';
import type { Builder, BuildSpec, Registry, TagLocation } from './ports.js';
import { commitTag, resolveTags } from './tag.js';

const SHA = '0123456789abcdef0123456789abcdef01234567';
const DIGEST = `sha256:${'b'.repeat(64)}`;
const NOW = new Date('2026-01-02T03:04:05Z');

describe('composeImageName', () => {
  it.each([
    [{ registry: 'gcr', project: 'my-proj', name: 'app' } as const, 'gcr.io/my-proj/app'],
    [
      { registry: 'gcr', project: 'my-proj', name: 'app', region: 'asia' } as const,
      'asia.gcr.io/my-proj/app',
    ],
    [
      {
        registry: 'artifact-registry',
        region: 'asia-northeast1',
        project: 'p',
        repository: 'apps',
        name: 'web',
      } as const,
      'asia-northeast1-docker.pkg.dev/p/apps/web',
    ],
    [
      { registry: 'ecr', account: '123456789012', region: 'ap-northeast-1', name: 'web' } as const,
      '123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/web',
    ],
    [{ registry: 'ghcr', owner: 'My-Org', name: 'web' } as const, 'ghcr.io/my-org/web'],
    [
      { registry: 'harbor', host: 'harbor.example.com', project: 'team', name: 'web' } as const,
      'harbor.example.com/team/web',
    ],
    [{ registry: 'docker-hub', namespace: 'me', name: 'web' } as const, 'me/web'],
    [{ registry: 'docker-hub', name: 'web' } as const, 'web'],
  ])('%o → %s', (spec, expected) => {
    expect(composeImageName(spec)).toBe(expected);
    expect(registryKind(expected.includes('/') ? expected.split('/')[0] : undefined)).toBeTypeOf(
      'string',
    );
  });

  it('rejects a name the OCI grammar does not allow, naming the input', () => {
    expect(() => composeImageName({ registry: 'gcr', project: 'p', name: 'App' })).toThrow(
      InvalidImageReferenceError,
    );
    expect(() =>
      composeImageName({ registry: 'ecr', account: '123', region: 'us-east-1', name: 'x' }),
    ).toThrow(/12 digits/);
  });
});

describe('registryKind', () => {
  it.each([
    ['gcr.io', 'gcr'],
    ['eu.gcr.io', 'gcr'],
    ['us-central1-docker.pkg.dev', 'artifact-registry'],
    ['123456789012.dkr.ecr.us-east-1.amazonaws.com', 'ecr'],
    ['ghcr.io', 'ghcr'],
    [undefined, 'docker-hub'],
    ['harbor.example.com', 'harbor-or-other'],
  ])('%s → %s', (host, kind) => expect(registryKind(host)).toBe(kind));
});

describe('tag rule', () => {
  it('shortens the commit SHA to 7 by default and to the length asked for', () => {
    expect(commitTag(SHA)).toBe('0123456');
    expect(commitTag(SHA, 12)).toBe('0123456789ab');
    expect(commitTag(SHA.toUpperCase())).toBe('0123456');
  });
  it('refuses what is not a full SHA and lengths out of range', () => {
    expect(() => commitTag('abc')).toThrow(UsageError);
    expect(() => commitTag(SHA, 2)).toThrow(/from 4 to 40/);
  });
  it('puts the explicit tag first, adds extra tags once, and says whether it came from the commit', () => {
    expect(resolveTags({ commitSha: SHA, extraTags: ['latest', 'latest'] })).toEqual({
      primary: '0123456',
      all: ['0123456', 'latest'],
      fromCommit: true,
    });
    expect(resolveTags({ tag: 'v1.2.3', commitSha: SHA })).toEqual({
      primary: 'v1.2.3',
      all: ['v1.2.3'],
      fromCommit: false,
    });
    expect(() => resolveTags({})).toThrow(/GITHUB_SHA/);
    expect(() => resolveTags({ tag: '-bad' })).toThrow(/not a valid tag/);
  });
});

describe('labels', () => {
  it('sets the OCI revision, source and created labels from the clock passed in', () => {
    expect(ociLabels({ revision: SHA, source: 'https://github.com/o/r', created: NOW })).toEqual({
      [OCI_REVISION]: SHA,
      [OCI_SOURCE]: 'https://github.com/o/r',
      [OCI_CREATED]: '2026-01-02T03:04:05.000Z',
    });
  });
  it('parses KEY=VALUE keeping "=" and commas in the value', () => {
    expect(parseKeyValues(['A=1=2', 'B=x,y', 'C='], 'build-arg')).toEqual({
      A: '1=2',
      B: 'x,y',
      C: '',
    });
    expect(() => parseKeyValues(['=x'], 'label')).toThrow(/--label takes KEY=VALUE/);
  });
});

/** An in-memory registry and builder: they record what they were asked. */
function fakes(existing: Record<string, string> = {}) {
  const asked: TagLocation[] = [];
  const builds: BuildSpec[] = [];
  let builderResolved = 0;
  const registry: Registry = {
    async tagDigest(loc) {
      asked.push(loc);
      return existing[`${loc.registry}/${loc.repository}:${loc.tag}`];
    },
    async checkAccess() {},
  };
  const builder: Builder = {
    name: 'fake',
    async buildAndPush(spec) {
      builds.push(spec);
      for (const r of spec.references) existing[r] = DIGEST;
      return { digest: DIGEST };
    },
  };
  return {
    asked,
    builds,
    get builderResolved() {
      return builderResolved;
    },
    ports: {
      registry,
      builder: async () => {
        builderResolved++;
        return builder;
      },
    },
  };
}

const base: BuildAndPushRequest = {
  image: 'gcr.io/p/app',
  commitSha: SHA,
  context: '.',
  now: NOW,
};

describe('buildAndPushImage', () => {
  it('builds and pushes every tag with the OCI labels when the tag is new', async () => {
    const f = fakes();
    const result = await buildAndPushImage(
      { ...base, extraTags: ['latest'], labels: { team: 'web' } },
      f.ports,
    );
    expect(result).toMatchObject({
      image: 'gcr.io/p/app:0123456',
      digest: DIGEST,
      imageRef: `gcr.io/p/app@${DIGEST}`,
      tags: ['0123456', 'latest'],
      result: 'built',
      builder: 'fake',
    });
    expect(f.builds).toHaveLength(1);
    expect(f.builds[0]!.references).toEqual(['gcr.io/p/app:0123456', 'gcr.io/p/app:latest']);
    expect(f.builds[0]!.labels).toMatchObject({ [OCI_REVISION]: SHA, team: 'web' });
  });

  it('builds nothing, and never asks for a builder, when the commit tag is already there', async () => {
    const f = fakes({ 'gcr.io/p/app:0123456': DIGEST });
    const result = await buildAndPushImage(base, f.ports);
    expect(result).toMatchObject({ result: 'skipped-exists', digest: DIGEST });
    expect(f.builds).toHaveLength(0);
    expect(f.builderResolved).toBe(0);
    expect(f.asked).toEqual([{ registry: 'gcr.io', repository: 'p/app', tag: '0123456' }]);
  });

  it('rebuilds an explicit non-commit tag unless skipping is asked for', async () => {
    const f = fakes({ 'gcr.io/p/app:v1': DIGEST });
    expect((await buildAndPushImage({ ...base, tag: 'v1' }, f.ports)).result).toBe('built');
    expect(
      (await buildAndPushImage({ ...base, tag: 'v1', skipExisting: true }, f.ports)).result,
    ).toBe('skipped-exists');
    const g = fakes({ 'gcr.io/p/app:0123456': DIGEST });
    expect((await buildAndPushImage({ ...base, skipExisting: false }, g.ports)).result).toBe(
      'built',
    );
  });

  it('a dry run builds nothing and says what it would do', async () => {
    const f = fakes();
    const result = await buildAndPushImage({ ...base, dryRun: true }, f.ports);
    expect(result).toMatchObject({ result: 'would-build', image: 'gcr.io/p/app:0123456' });
    expect(result.digest).toBeUndefined();
    expect(f.builderResolved).toBe(0);
  });

  it('builds anyway when the registry wants a login that was not given, but not when it refused one', async () => {
    const f = fakes();
    const log: string[] = [];
    f.ports.registry.tagDigest = async () => {
      throw new RegistryLoginError('gcr.io', undefined, 'HTTP 401');
    };
    const result = await buildAndPushImage(base, { ...f.ports, log: (l) => log.push(l) });
    expect(result.result).toBe('built');
    expect(log.join('\n')).toMatch(/cannot check whether/);
    const g = fakes();
    g.ports.registry.tagDigest = async () => {
      throw new RegistryLoginError('gcr.io', 'me', 'HTTP 401');
    };
    await expect(buildAndPushImage(base, g.ports)).rejects.toThrow(
      /refused the login of user "me"/,
    );
    expect(g.builds).toHaveLength(0);
  });

  it('refuses an image name with a digest or bad grammar before doing anything', async () => {
    const f = fakes();
    await expect(buildAndPushImage({ ...base, image: 'gcr.io/p/App' }, f.ports)).rejects.toThrow(
      InvalidImageReferenceError,
    );
    await expect(
      buildAndPushImage({ ...base, image: `gcr.io/p/app@${DIGEST}` }, f.ports),
    ).rejects.toThrow(/names a digest/);
    expect(f.asked).toHaveLength(0);
  });
});

describe('extra tags', () => {
  const image = parseImageName('ghcr.io/o/app');
  it('takes the tag of a full reference of the same image, as docker -t does', () => {
    expect(extraTagOf('latest', image)).toBe('latest');
    expect(extraTagOf('ghcr.io/o/app:stable', image)).toBe('stable');
  });
  it('refuses a reference of another image, naming the flag', () => {
    expect(() => extraTagOf('docker.io/o/app:latest', image)).toThrow(
      /--extra-tag "docker.io\/o\/app:latest" names another image than ghcr.io\/o\/app/,
    );
    expect(() => extraTagOf('ghcr.io/o/app', image)).toThrow(/names no tag/);
  });
});
