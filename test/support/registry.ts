// A real CNCF Distribution registry (`docker-registry serve`) on a free loopback port, open, behind
// htpasswd basic auth, or behind bearer tokens from a small token service this file serves.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createSign, randomUUID, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export type RegistryAuth = 'open' | 'htpasswd' | 'token';

export interface LoggedRequest {
  method: string;
  uri: string;
  status: number;
}

export interface TestRegistry {
  /** `127.0.0.1:PORT`, as written in image names. */
  host: string;
  url: string;
  auth: RegistryAuth;
  /** Requests the registry itself answered, from its access log, oldest first. */
  requests(): LoggedRequest[];
  /**
   * The requests logged after the first `since`, once the access log holds at least `atLeast` of
   * them and has been quiet for a moment: the registry writes its log after it has answered.
   */
  requestsSince(since: number, atLeast?: number): Promise<LoggedRequest[]>;
  /** Requests the token service answered (token auth only). */
  tokenRequests(): { account?: string; scope: string[]; status: number }[];
  /** Pulls a manifest back over the distribution API, with the test user's login. */
  manifest(
    repository: string,
    reference: string,
  ): Promise<{ digest: string; mediaType: string; body: Record<string, unknown> }>;
  /** The image config blob (labels live in `config.Labels`). */
  config(repository: string, reference: string): Promise<Record<string, unknown>>;
  /** A blob's bytes as stored (layers stay compressed). */
  blob(repository: string, digest: string): Promise<Buffer>;
  stop(): Promise<void>;
}

export const TEST_USER = 'ci-bot';
export const TEST_PASSWORD = 'S3cret-pass-word-4711';
/**
 * A Google service-account key as CI secrets hold it (key material made up for the test). The token
 * service takes it as the password of `_json_key`, as gcr.io and pkg.dev do.
 */
export const GCP_TEST_KEY = JSON.stringify({
  type: 'service_account',
  project_id: 'gitops-release-test',
  private_key_id: '0123456789abcdef',
  private_key:
    '-----BEGIN PRIVATE KEY-----\nTESTKEYMATERIAL-not-a-real-key\n-----END PRIVATE KEY-----\n',
  client_email: 'ci@gitops-release-test.iam.gserviceaccount.com',
  client_id: '1234567890',
});
/** The password ECR's GetAuthorizationToken hands out for user `AWS` (see test/support/aws-sim.ts). */
export const ECR_TEST_PASSWORD = 'ecr-12h-p4ssword-from-GetAuthorizationToken';
/** A token-auth user that may pull but not push. */
export const READER_USER = 'reader';
export const READER_PASSWORD = 'Re4der-only-pass-0042';
const ISSUER = 'gitops-release-test';
const SERVICE = 'test-registry';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createNetServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** The token service: checks basic auth, answers a JWT signed with the test's own certificate. */
async function startTokenService(dir: string, log: ReturnType<TestRegistry['tokenRequests']>) {
  const key = join(dir, 'token.key');
  const cert = join(dir, 'token.crt');
  await exec('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '1',
    '-subj',
    '/CN=gitops-release test token issuer',
  ]);
  const privateKey = await readFile(key, 'utf8');
  const der = new X509Certificate(await readFile(cert)).raw.toString('base64');
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const scopes = url.searchParams.getAll('scope');
    const header = req.headers.authorization ?? '';
    let account: string | undefined;
    if (header.startsWith('Basic ')) {
      const [user, ...rest] = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':');
      const password = rest.join(':');
      const known =
        (user === TEST_USER && password === TEST_PASSWORD) ||
        (user === READER_USER && password === READER_PASSWORD) ||
        (user === '_json_key' && password === GCP_TEST_KEY) ||
        (user === 'AWS' && password === ECR_TEST_PASSWORD);
      if (!known) {
        log.push({ account: user, scope: scopes, status: 401 });
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end('{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}');
        return;
      }
      account = user;
    }
    log.push({ account, scope: scopes, status: 200 });
    // Logged-in users may pull and push everything, the reader only pull; anonymous callers nothing.
    const access = account
      ? scopes.flatMap((s) => {
          const [type, name, actions] = s.split(':');
          const granted = (actions ?? '')
            .split(',')
            .filter((a) => a && (account !== READER_USER || a === 'pull'));
          return type && name && granted.length ? [{ type, name, actions: granted }] : [];
        })
      : [];
    const now = Math.floor(Date.now() / 1000);
    const head = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', x5c: [der] }));
    const claims = b64url(
      JSON.stringify({
        iss: ISSUER,
        sub: account ?? '',
        aud: SERVICE,
        exp: now + 300,
        nbf: now - 10,
        iat: now,
        jti: randomUUID(),
        access,
      }),
    );
    const signature = createSign('RSA-SHA256').update(`${head}.${claims}`).sign(privateKey);
    const token = `${head}.${claims}.${b64url(signature)}`;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ token, access_token: token, expires_in: 300 }));
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { server, realm: `http://127.0.0.1:${port}/token`, cert };
}

const ACCESS_LINE = /"([A-Z]+) (\S+) HTTP\/[\d.]+" (\d{3}) /;

export async function startRegistry(auth: RegistryAuth = 'open'): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'gr-registry-'));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const tokenLog: ReturnType<TestRegistry['tokenRequests']> = [];
  let token: Awaited<ReturnType<typeof startTokenService>> | undefined;
  let authBlock = '';
  if (auth === 'htpasswd') {
    // The password goes through stdin, as it should everywhere.
    const child = execFile('htpasswd', ['-iBn', TEST_USER]);
    let out = '';
    child.stdout?.on('data', (c: string | Buffer) => {
      out += c.toString();
    });
    child.stdin?.end(TEST_PASSWORD);
    await new Promise((resolve) => child.on('close', resolve));
    await writeFile(join(dir, 'htpasswd'), out);
    authBlock = `auth: { htpasswd: { realm: test, path: ${join(dir, 'htpasswd')} } }`;
  } else if (auth === 'token') {
    token = await startTokenService(dir, tokenLog);
    authBlock = `auth: { token: { realm: "${token.realm}", service: ${SERVICE}, issuer: ${ISSUER}, rootcertbundle: ${token.cert} } }`;
  }
  const config = join(dir, 'config.yml');
  await writeFile(
    config,
    [
      'version: 0.1',
      'log: { level: info }',
      `storage: { filesystem: { rootdirectory: ${join(dir, 'data')} } }`,
      `http: { addr: "${host}" }`,
      authBlock,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn('docker-registry', ['serve', config], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const requests: LoggedRequest[] = [];
  let lastLogged = Date.now();
  let output = '';
  const feed = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    const lines = output.split('\n');
    output = lines.pop() ?? '';
    for (const line of lines) {
      const m = line.match(ACCESS_LINE);
      if (m) {
        requests.push({ method: m[1]!, uri: m[2]!, status: Number(m[3]) });
        lastLogged = Date.now();
      }
    }
  };
  child.stdout?.on('data', feed);
  child.stderr?.on('data', feed);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const credentials = `Basic ${Buffer.from(`${TEST_USER}:${TEST_PASSWORD}`).toString('base64')}`;
  /** A fetch of the test's own that logs in the way the auth mode wants. */
  async function get(path: string, accept?: string): Promise<Response> {
    const headers: Record<string, string> = accept ? { accept } : {};
    if (auth === 'htpasswd') headers.authorization = credentials;
    if (auth === 'token') {
      const repo = path.match(/^\/v2\/(.+)\/(?:manifests|blobs)\//)?.[1];
      const url = new URL(token!.realm);
      url.searchParams.set('service', SERVICE);
      if (repo) url.searchParams.set('scope', `repository:${repo}:pull`);
      const res = await fetch(url, { headers: { authorization: credentials } });
      headers.authorization = `Bearer ${((await res.json()) as { token: string }).token}`;
    }
    return fetch(`http://${host}${path}`, { headers });
  }

  const deadline = Date.now() + 30_000;
  for (;;) {
    const ok = await fetch(`http://${host}/v2/`).then(
      () => true,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill();
      throw new Error(`docker-registry did not start on ${host}:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  const accept = [
    'application/vnd.oci.image.manifest.v1+json',
    'application/vnd.docker.distribution.manifest.v2+json',
  ].join(', ');
  const registry: TestRegistry = {
    host,
    url: `http://${host}`,
    auth,
    requests: () => [...requests],
    async requestsSince(since, atLeast = 0) {
      const QUIET_MS = 250;
      const deadline = Date.now() + 10_000;
      while (
        (requests.length - since < atLeast || Date.now() - lastLogged < QUIET_MS) &&
        Date.now() < deadline
      ) {
        await new Promise((r) => setTimeout(r, 25));
      }
      return requests.slice(since);
    },
    tokenRequests: () => [...tokenLog],
    async manifest(repository, reference) {
      const res = await get(`/v2/${repository}/manifests/${reference}`, accept);
      if (res.status !== 200)
        throw new Error(`manifest ${repository}:${reference}: HTTP ${res.status}`);
      return {
        digest: res.headers.get('docker-content-digest') ?? '',
        mediaType: res.headers.get('content-type') ?? '',
        body: (await res.json()) as Record<string, unknown>,
      };
    },
    async config(repository, reference) {
      const m = await registry.manifest(repository, reference);
      const digest = (m.body.config as { digest: string }).digest;
      const res = await get(`/v2/${repository}/blobs/${digest}`);
      if (res.status !== 200) throw new Error(`config blob ${digest}: HTTP ${res.status}`);
      return (await res.json()) as Record<string, unknown>;
    },
    async blob(repository, digest) {
      const res = await get(`/v2/${repository}/blobs/${digest}`);
      if (res.status !== 200) throw new Error(`blob ${digest}: HTTP ${res.status}`);
      return Buffer.from(await res.arrayBuffer());
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      await new Promise<void>((resolve) =>
        token ? token.server.close(() => resolve()) : resolve(),
      );
      await rm(dir, { recursive: true, force: true });
    },
  };
  return registry;
}
