import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readlink, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BuildSpec } from '@gitops-release/core';
import {
  BuilderNotFoundError,
  RegistryLoginError,
  RegistryUnreachableError,
} from '@gitops-release/core';
import { describe, expect, it } from 'vitest';
import { canonicalRequest, ecrRegion, hasAwsCredentials, signatureV4 } from './aws.js';
import { buildxArgs, classicDockerArgs, daemonlessBuildArgs, selectBuilder } from './builders.js';
import {
  authFileText,
  ecrLogin,
  gcpKeyLogin,
  passwordLogin,
  readDockerLogins,
  writeAuthFile,
} from './credentials.js';
import { apiLocation, isLoopbackHost, parseChallenge, RegistryClient } from './registry-client.js';

describe('parseChallenge', () => {
  it('reads realm, service and scope of a bearer challenge', () => {
    expect(
      parseChallenge(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"',
      ),
    ).toEqual({
      scheme: 'bearer',
      params: {
        realm: 'https://auth.docker.io/token',
        service: 'registry.docker.io',
        scope: 'repository:library/nginx:pull',
      },
    });
    expect(parseChallenge('Basic realm="Harbor"')?.scheme).toBe('basic');
    expect(parseChallenge(null)).toBeUndefined();
  });
});

describe('registry locations', () => {
  it('maps Docker Hub to its API host and official images to library/', () => {
    expect(apiLocation(undefined, 'nginx')).toMatchObject({
      host: 'registry-1.docker.io',
      repository: 'library/nginx',
    });
    expect(apiLocation('gcr.io', 'p/app')).toMatchObject({ host: 'gcr.io', repository: 'p/app' });
  });
  it('treats only loopback hosts as plain-HTTP registries', () => {
    expect(isLoopbackHost('127.0.0.1:5000')).toBe(true);
    expect(isLoopbackHost('localhost:5000')).toBe(true);
    expect(isLoopbackHost('[::1]:5000')).toBe(true);
    expect(isLoopbackHost('10.0.0.1:5000')).toBe(false);
    expect(isLoopbackHost('ghcr.io')).toBe(false);
  });
});

describe('logins', () => {
  const key = JSON.stringify({
    type: 'service_account',
    client_email: 'ci@p.iam.gserviceaccount.com',
    private_key: '-----BEGIN PRIVATE KEY-----\nMIIsecret\n-----END PRIVATE KEY-----\n',
  });

  it('takes a service-account key as the password of _json_key', () => {
    expect(gcpKeyLogin(key, 'GCP_KEY')).toEqual({ username: '_json_key', password: key });
    const encoded = Buffer.from(key).toString('base64');
    expect(gcpKeyLogin(encoded, 'GCP_KEY')).toEqual({ username: '_json_key', password: key });
  });

  it('refuses what is not a key without quoting it', () => {
    const bad = '{"private_key":"MIIsecret"}';
    expect(() => gcpKeyLogin(bad, 'GCP_KEY')).toThrow(/GCP_KEY is not a service-account key/);
    try {
      gcpKeyLogin(bad, 'GCP_KEY');
    } catch (err) {
      expect((err as Error).message).not.toContain('MIIsecret');
    }
    expect(() => gcpKeyLogin('MIIsecret', 'GCP_KEY')).toThrow(/does not hold JSON/);
  });

  it('reads an ECR password and an ECR authorization token alike', () => {
    expect(ecrLogin('eyJwYXlsb2FkIjoi')).toEqual({ username: 'AWS', password: 'eyJwYXlsb2FkIjoi' });
    const token = Buffer.from('AWS:eyJwYXlsb2FkIjoi').toString('base64');
    expect(ecrLogin(token)).toEqual({ username: 'AWS', password: 'eyJwYXlsb2FkIjoi' });
  });

  it('a password without a user: Google access token, key, ECR token, GHCR actor, else none', () => {
    const env = { GITHUB_ACTOR: 'octocat' };
    expect(passwordLogin('asia.gcr.io', 'ya29.a0token', env, 'p')).toEqual({
      username: 'oauth2accesstoken',
      password: 'ya29.a0token',
    });
    expect(passwordLogin('europe-docker.pkg.dev', 'ya29.b', env, 'p')?.username).toBe(
      'oauth2accesstoken',
    );
    const key = JSON.stringify({ type: 'service_account', client_email: 'a@b', private_key: 'k' });
    expect(passwordLogin('gcr.io', key, env, 'p')?.username).toBe('_json_key');
    expect(
      passwordLogin('123456789012.dkr.ecr.eu-west-1.amazonaws.com', 'x', env, 'p')?.username,
    ).toBe('AWS');
    expect(passwordLogin('ghcr.io', 'ghs_x', env, 'p')?.username).toBe('octocat');
    expect(passwordLogin('harbor.example.com', 'pw', env, 'p')).toBeUndefined();
  });

  it('writes a docker-style auth file over the user config, without its credential store', async () => {
    const text = authFileText(
      new Map([
        ['ghcr.io', { username: 'me', password: 'tok' }],
        ['docker.io', { username: 'hub', password: 'pw' }],
      ]),
      {
        auths: { 'quay.io': { auth: 'eDp5' } },
        credsStore: 'desktop',
        credHelpers: { 'ghcr.io': 'gh', 'gcr.io': 'gcloud' },
        proxies: { default: {} },
      },
    );
    expect(JSON.parse(text)).toEqual({
      auths: {
        'quay.io': { auth: 'eDp5' },
        'ghcr.io': { auth: Buffer.from('me:tok').toString('base64') },
        'https://index.docker.io/v1/': { auth: Buffer.from('hub:pw').toString('base64') },
      },
      credHelpers: { 'gcr.io': 'gcloud' },
      proxies: { default: {} },
    });
  });

  it('keeps the auth file private, links the user’s buildx state, and reads logins back', async () => {
    const user = await mkdtemp(join(tmpdir(), 'gr-user-docker-'));
    await mkdir(join(user, 'buildx'));
    await writeFile(join(user, 'config.json'), '{"auths":{}}');
    const file = await writeAuthFile(new Map([['h:5000', { username: 'u', password: 'p:w' }]]), {
      userConfigDir: user,
    });
    expect((await stat(file.path)).mode & 0o777).toBe(0o600);
    expect(await readlink(join(file.dir, 'buildx'))).toBe(join(user, 'buildx'));
    expect(await readDockerLogins(file.dir)).toEqual(
      new Map([['h:5000', { username: 'u', password: 'p:w' }]]),
    );
    await file.dispose();
    await expect(readFile(file.path)).rejects.toThrow();
  });
});

describe('RegistryClient with a scripted fetch', () => {
  const manifest = '{"schemaVersion":2}';

  it('hashes the manifest when the registry leaves out Docker-Content-Digest', async () => {
    const calls: string[] = [];
    const client = new RegistryClient({
      fetch: (async (url: string, init: RequestInit) => {
        calls.push(`${init.method} ${url}`);
        return new Response(init.method === 'GET' ? manifest : null, { status: 200 });
      }) as typeof fetch,
    });
    const digest = await client.tagDigest({ registry: 'r.example', repository: 'a', tag: 't' });
    const { createHash } = await import('node:crypto');
    expect(digest).toBe(`sha256:${createHash('sha256').update(manifest).digest('hex')}`);
    expect(calls).toEqual([
      'HEAD https://r.example/v2/a/manifests/t',
      'GET https://r.example/v2/a/manifests/t',
    ]);
  });

  it('turns a refused connection into RegistryUnreachableError and 403 into a login error', async () => {
    const refused = new RegistryClient({
      fetch: (async () => {
        throw new TypeError('fetch failed', { cause: { code: 'ENOTFOUND' } });
      }) as typeof fetch,
    });
    await expect(
      refused.tagDigest({ registry: 'nowhere.example', repository: 'a', tag: 't' }),
    ).rejects.toThrow(RegistryUnreachableError);
    const forbidden = new RegistryClient({
      fetch: (async () => new Response(null, { status: 403 })) as typeof fetch,
      credentials: () => ({ username: 'u', password: 'secret-x' }),
    });
    const err = await forbidden
      .tagDigest({ registry: 'r.example', repository: 'a', tag: 't' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryLoginError);
    expect((err as Error).message).not.toContain('secret-x');
  });
});

describe('selectBuilder', () => {
  it('names every builder it looked for when none is on PATH', async () => {
    const err = await selectBuilder('auto', { env: { PATH: '' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BuilderNotFoundError);
    expect((err as Error).message).toMatch(
      /docker: not found on PATH\n {2}- buildah: not found on PATH\n {2}- podman: not found on PATH/,
    );
  });

  it('says when docker is there but its daemon does not answer', async () => {
    const err = await selectBuilder('docker', {
      env: { PATH: process.env.PATH, DOCKER_HOST: 'unix:///nonexistent/docker.sock' },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BuilderNotFoundError);
    expect((err as Error).message).toContain('docker: the docker daemon does not answer');
  });

  it('picks buildah by name', async () => {
    expect((await selectBuilder('buildah', { env: process.env })).name).toBe('buildah');
  });
});

describe('AWS Signature Version 4', () => {
  // AWS's published Signature Version 4 test suite (docs.aws.amazon.com/general/latest/gr/
  // signature-v4-test-suite.html), case get-vanilla-query-order-key-case of its 2011 edition.
  it('makes the canonical request and the signature of AWS’s published example', () => {
    const canonical = canonicalRequest(
      'GET',
      new URL('https://host.foo.com/?foo=Zoo&foo=aha'),
      { Date: 'Mon, 09 Sep 2011 23:36:00 GMT', Host: 'host.foo.com' },
      '',
    );
    expect(canonical.signedHeaders).toBe('date;host');
    expect(createHash('sha256').update(canonical.text).digest('hex')).toBe(
      'e25f777ba161a0f1baf778a87faf057187cf5987f17953320e3ca399feb5f00d',
    );
    const toSign = [
      'AWS4-HMAC-SHA256',
      '20110909T233600Z',
      '20110909/us-east-1/host/aws4_request',
      'e25f777ba161a0f1baf778a87faf057187cf5987f17953320e3ca399feb5f00d',
    ].join('\n');
    expect(
      signatureV4(
        'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
        { day: '20110909', region: 'us-east-1', service: 'host' },
        toSign,
      ),
    ).toBe('be7148d34ebccdc6423b19085378aa0bee970bdc61d144bd1a8c48c33079ab09');
  });

  it('finds the region in an ECR host, and AWS credentials in the environment', () => {
    expect(ecrRegion('123456789012.dkr.ecr.ap-northeast-1.amazonaws.com')).toBe('ap-northeast-1');
    expect(ecrRegion('ghcr.io')).toBeUndefined();
    expect(hasAwsCredentials({ AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 's' })).toBe(true);
    expect(hasAwsCredentials({ AWS_ROLE_ARN: 'arn', CIRCLE_OIDC_TOKEN_V2: 't' })).toBe(true);
    expect(hasAwsCredentials({ AWS_ROLE_ARN: 'arn' })).toBe(false);
  });
});

describe('builder command lines', () => {
  const spec: BuildSpec = {
    context: '/src',
    dockerfile: '/src/Dockerfile.prod',
    target: 'runtime',
    buildArgs: { NODE_ENV: 'production', LIST: 'a,b' },
    labels: { 'org.opencontainers.image.revision': 'abc' },
    references: ['r.example/app:abc1234', 'r.example/app:latest'],
    platforms: ['linux/amd64', 'linux/arm64'],
    cacheFrom: ['type=registry,ref=r.example/app:cache'],
    cacheTo: ['type=registry,ref=r.example/app:cache,mode=max'],
    push: true,
    secrets: [],
    noCache: false,
    pull: false,
  };
  const common = [
    '--file',
    '/src/Dockerfile.prod',
    '--target',
    'runtime',
    '--build-arg',
    'NODE_ENV=production',
    '--build-arg',
    'LIST=a,b',
    '--label',
    'org.opencontainers.image.revision=abc',
    '--tag',
    'r.example/app:abc1234',
    '--tag',
    'r.example/app:latest',
  ];

  it('buildx pushes in the build, with cache and all platforms, and writes its metadata', () => {
    expect(buildxArgs(spec, '/tmp/m.json')).toEqual([
      'buildx',
      'build',
      '--push',
      '--metadata-file',
      '/tmp/m.json',
      ...common,
      '--platform',
      'linux/amd64,linux/arm64',
      '--cache-from',
      'type=registry,ref=r.example/app:cache',
      '--cache-to',
      'type=registry,ref=r.example/app:cache,mode=max',
      '/src',
    ]);
  });

  it('classic docker builds one platform and takes cache images only', () => {
    expect(classicDockerArgs({ ...spec, platforms: ['linux/amd64'] })).toEqual([
      'build',
      ...common,
      '--platform',
      'linux/amd64',
      '--cache-from',
      'type=registry,ref=r.example/app:cache',
      '/src',
    ]);
  });

  it('buildah and podman read the auth file and need --layers for a cache', () => {
    expect(daemonlessBuildArgs('podman', spec, '/tmp/a/config.json').slice(0, 3)).toEqual([
      'build',
      '--authfile',
      '/tmp/a/config.json',
    ]);
    const bud = daemonlessBuildArgs('buildah', { ...spec, cacheFrom: [], cacheTo: [] }, undefined);
    expect(bud).toEqual(['bud', ...common, '--platform', 'linux/amd64,linux/arm64', '/src']);
  });

  it('secrets go as files (id=ID,src=FILE), never as values; no-cache and pull in each dialect', () => {
    const withAll = {
      ...spec,
      push: false,
      noCache: true,
      pull: true,
      secrets: [{ id: 'npm_token', value: 'tok-value-never-an-argument' }],
    };
    const files = new Map([['npm_token', '/tmp/s/secret-0']]);
    const buildx = buildxArgs(withAll, '/tmp/m.json', files);
    expect(buildx.slice(0, 2)).toEqual(['buildx', 'build']);
    expect(buildx).not.toContain('--push');
    expect(buildx).toEqual(
      expect.arrayContaining([
        '--secret',
        'id=npm_token,src=/tmp/s/secret-0',
        '--no-cache',
        '--pull',
      ]),
    );
    expect(classicDockerArgs({ ...withAll, secrets: [] })).toEqual(
      expect.arrayContaining(['--no-cache', '--pull']),
    );
    const bud = daemonlessBuildArgs('buildah', withAll, undefined, files);
    expect(bud).toEqual(
      expect.arrayContaining([
        '--secret',
        'id=npm_token,src=/tmp/s/secret-0',
        '--no-cache',
        '--pull=always',
      ]),
    );
    for (const args of [buildx, bud]) expect(args.join(' ')).not.toContain('tok-value');
  });
});

describe('RegistryClient on a token registry that hides a repository', () => {
  it('takes a 401 after an accepted login as "not there yet", and a refused login as an error', async () => {
    const challenge = 'Bearer realm="https://auth.r.example/token",service="r"';
    const make = (tokenStatus: number) =>
      new RegistryClient({
        fetch: (async (url: string) => {
          if (url.startsWith('https://auth.r.example/'))
            return new Response(JSON.stringify({ token: 't' }), { status: tokenStatus });
          return new Response(null, { status: 401, headers: { 'www-authenticate': challenge } });
        }) as typeof fetch,
        credentials: () => ({ username: 'u', password: 'p' }),
      });
    const where = { registry: 'r.example', repository: 'me/new-app', tag: 'abc1234' };
    expect(await make(200).tagDigest(where)).toBeUndefined();
    await expect(make(401).tagDigest(where)).rejects.toThrow(RegistryLoginError);
  });
});
