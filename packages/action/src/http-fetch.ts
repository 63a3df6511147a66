import type { IncomingHttpHeaders, IncomingMessage, RequestOptions } from 'node:http';

// The subset of fetch that Octokit's request uses, over node:http/https. Node's own fetch loads its
// bundled undici on the first call: measured, one request cost 95 ms of CPU against 35 ms with
// node:http (`node -e 0`: 21 ms), the largest single part of a release run's start-up. Octokit
// takes a `fetch` option for exactly this, so the action hands it this one.

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;

/**
 * Response headers: get, has and iteration as Headers gives them. Not Node's Headers: touching that
 * global loads undici too, which is what this file avoids.
 */
class SmallHeaders {
  private readonly map = new Map<string, string>();
  constructor(headers: IncomingHttpHeaders) {
    for (const [name, value] of Object.entries(headers)) {
      if (value === undefined) continue;
      // Headers joins repeated values with ", " (set-cookie aside, which the API never sends).
      this.map.set(name.toLowerCase(), Array.isArray(value) ? value.join(', ') : value);
    }
  }
  get(name: string): string | null {
    return this.map.get(name.toLowerCase()) ?? null;
  }
  has(name: string): boolean {
    return this.map.has(name.toLowerCase());
  }
  forEach(fn: (value: string, name: string) => void): void {
    for (const [name, value] of this.entries()) fn(value, name);
  }
  entries(): IterableIterator<[string, string]> {
    return [...this.map.entries()].sort(([a], [b]) => (a < b ? -1 : 1))[Symbol.iterator]();
  }
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
}

/** A Response with what Octokit reads: status, url, headers, text/json/arrayBuffer. */
class SmallResponse {
  readonly ok: boolean;
  readonly headers: SmallHeaders;
  readonly status: number;
  readonly statusText: string;
  readonly url: string;
  private readonly bytes: Buffer;
  constructor(res: IncomingMessage, url: string, bytes: Buffer) {
    this.status = res.statusCode ?? 0;
    this.statusText = res.statusMessage ?? '';
    this.url = url;
    this.bytes = bytes;
    this.ok = this.status >= 200 && this.status < 300;
    this.headers = new SmallHeaders(res.headers);
  }
  get body(): null {
    return null;
  }
  async text(): Promise<string> {
    return this.bytes.toString('utf8');
  }
  async json(): Promise<unknown> {
    return JSON.parse(this.bytes.toString('utf8'));
  }
  async arrayBuffer(): Promise<ArrayBuffer> {
    const out = new ArrayBuffer(this.bytes.length);
    new Uint8Array(out).set(this.bytes);
    return out;
  }
}

function headerRecord(headers: RequestInit['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  // Duck-typed, for the same reason as SmallHeaders: `instanceof Headers` would load undici.
  const entries: Iterable<[string, string]> =
    typeof (headers as { entries?: unknown }).entries === 'function'
      ? (headers as { entries(): IterableIterator<[string, string]> }).entries()
      : Array.isArray(headers)
        ? (headers as [string, string][])
        : Object.entries(headers as Record<string, string>);
  for (const [k, v] of entries) out[k.toLowerCase()] = String(v);
  return out;
}

function bodyBytes(body: RequestInit['body']): Buffer | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof Uint8Array) return Buffer.from(body);
  if (body instanceof ArrayBuffer) return Buffer.from(new Uint8Array(body));
  throw new TypeError('httpFetch: only string and byte bodies are supported');
}

function send(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: Buffer | undefined,
  signal: AbortSignal | undefined,
): Promise<{ res: IncomingMessage; bytes: Buffer }> {
  // Only the protocol used is loaded: http for the simulator and GHES over HTTP, https otherwise.
  const lib =
    url.protocol === 'https:'
      ? process.getBuiltinModule('node:https')
      : url.protocol === 'http:'
        ? process.getBuiltinModule('node:http')
        : undefined;
  if (!lib) return Promise.reject(new TypeError(`httpFetch: unsupported URL ${url.protocol}`));
  return new Promise((resolve, reject) => {
    const options: RequestOptions = {
      method,
      headers: body ? { ...headers, 'content-length': String(body.length) } : headers,
      ...(signal ? { signal } : {}),
    };
    const req = lib.request(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ res, bytes: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** fetch(url, init) for Octokit: string or byte bodies, redirects followed, whole bodies read. */
export async function httpFetch(input: string | URL, init: RequestInit = {}): Promise<Response> {
  let url = new URL(String(input));
  let method = (init.method ?? 'GET').toUpperCase();
  let body = bodyBytes(init.body);
  const headers = headerRecord(init.headers);
  const signal = init.signal ?? undefined;
  for (let hop = 0; ; hop++) {
    const { res, bytes } = await send(url, method, headers, body, signal);
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if (REDIRECTS.has(status) && location && init.redirect !== 'manual') {
      if (init.redirect === 'error' || hop >= MAX_REDIRECTS)
        throw new TypeError(`httpFetch: redirect from ${url} not followed`);
      const next = new URL(location, url);
      // As fetch does: 303 (and 301/302 after a POST) become a GET without a body; the token goes
      // only to the same origin.
      if (status === 303 || ((status === 301 || status === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
        delete headers['content-type'];
      }
      if (next.origin !== url.origin) delete headers.authorization;
      url = next;
      continue;
    }
    return new SmallResponse(res, url.href, bytes) as unknown as Response;
  }
}
