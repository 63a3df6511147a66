// Serves bare repositories over git's smart HTTP protocol: node:http in front of the real
// `git http-backend` CGI, on 127.0.0.1. Pushes are allowed (REMOTE_USER is set), an optional
// token is checked as HTTP basic auth, latency can be added, and every request is logged.
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const GIT_HTTP_BACKEND = '/usr/lib/git-core/git-http-backend';

export interface GitHttpServerOptions {
  /** The directory holding the bare repositories (`<root>/<name>.git`). */
  root: string;
  /** When set, requests must carry basic auth whose password (or user) is this token. */
  token?: string;
  /** Milliseconds added before each response. */
  latencyMs?: number;
  /** Awaited before each request is served: a test lands another writer's push in a race. */
  onRequest?: (entry: GitRequestLogEntry) => void | Promise<void>;
}

export interface GitRequestLogEntry {
  method: string;
  path: string;
  service?: string;
  status: number;
}

export interface GitHttpServer {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** Every request, in order. */
  log: GitRequestLogEntry[];
  /** Requests that change refs (git-receive-pack POSTs). */
  pushes(): number;
  /** Changes the latency added to later requests. */
  setLatency(ms: number): void;
  close(): Promise<void>;
}

function authorized(req: IncomingMessage, token: string | undefined): boolean {
  if (token === undefined) return true;
  const header = req.headers.authorization ?? '';
  const m = header.match(/^Basic\s+(.+)$/i);
  if (m?.[1]) {
    const [user, password] = Buffer.from(m[1], 'base64').toString('utf8').split(/:(.*)/s);
    return password === token || user === token;
  }
  const bearer = header.match(/^Bearer\s+(.+)$/i);
  return bearer?.[1] === token;
}

export async function startGitHttpServer(given: GitHttpServerOptions): Promise<GitHttpServer> {
  const options = { ...given };
  const log: GitRequestLogEntry[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const entry: GitRequestLogEntry = {
      method: req.method ?? 'GET',
      path: url.pathname,
      status: 0,
    };
    const service = url.searchParams.get('service') ?? url.pathname.match(/(git-[a-z-]+)$/)?.[1];
    if (service) entry.service = service;
    log.push(entry);
    const serve = () => handle(req, res, url, entry, options);
    const respond = options.onRequest
      ? () => void Promise.resolve(options.onRequest?.(entry)).then(serve)
      : serve;
    if (options.latencyMs) setTimeout(respond, options.latencyMs);
    else respond();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    pushes: () => log.filter((e) => e.method === 'POST' && e.service === 'git-receive-pack').length,
    setLatency: (ms) => {
      options.latencyMs = ms;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function handle(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  entry: GitRequestLogEntry,
  options: GitHttpServerOptions,
): void {
  if (!authorized(req, options.token)) {
    entry.status = 401;
    res.writeHead(401, { 'www-authenticate': 'Basic realm="git"', 'content-type': 'text/plain' });
    res.end('authentication required\n');
    return;
  }
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    GIT_PROJECT_ROOT: options.root,
    GIT_HTTP_EXPORT_ALL: '1',
    REMOTE_USER: 'gitops-release-test',
    REMOTE_ADDR: '127.0.0.1',
    REQUEST_METHOD: req.method ?? 'GET',
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.slice(1),
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_PROTOCOL: 'HTTP/1.1',
  };
  // git sends gzip'd request bodies; http-backend inflates them when told the encoding.
  if (req.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = req.headers['content-encoding'];
  if (req.headers['git-protocol']) env.GIT_PROTOCOL = String(req.headers['git-protocol']);
  if (req.headers['content-length']) env.CONTENT_LENGTH = req.headers['content-length'];
  const cgi = spawn(GIT_HTTP_BACKEND, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  req.pipe(cgi.stdin);
  let headerDone = false;
  let buffer = Buffer.alloc(0);
  const stderr: Buffer[] = [];
  cgi.stderr.on('data', (d: Buffer) => stderr.push(d));
  cgi.stdout.on('data', (chunk: Buffer) => {
    if (headerDone) {
      res.write(chunk);
      return;
    }
    buffer = Buffer.concat([buffer, chunk]);
    let end = buffer.indexOf('\r\n\r\n');
    let sep = 4;
    if (end === -1) {
      end = buffer.indexOf('\n\n');
      sep = 2;
    }
    if (end === -1) return;
    const head = buffer.subarray(0, end).toString('latin1');
    const rest = buffer.subarray(end + sep);
    let status = 200;
    const headers: Record<string, string> = {};
    for (const line of head.split(/\r?\n/)) {
      const i = line.indexOf(':');
      if (i === -1) continue;
      const name = line.slice(0, i).trim();
      const value = line.slice(i + 1).trim();
      if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 200;
      else headers[name] = value;
    }
    entry.status = status;
    res.writeHead(status, headers);
    headerDone = true;
    if (rest.length) res.write(rest);
  });
  cgi.on('close', (code) => {
    if (!headerDone) {
      entry.status = 500;
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`git http-backend exited ${code}: ${Buffer.concat(stderr).toString()}`);
      return;
    }
    res.end();
  });
  cgi.on('error', (err) => {
    if (!headerDone) {
      entry.status = 500;
      res.writeHead(500);
    }
    res.end(String(err));
  });
}
