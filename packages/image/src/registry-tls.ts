import { readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { resolve } from 'node:path';
import { rootCertificates } from 'node:tls';
import { UsageError } from '@gitops-release/core';

/**
 * How registries on premises are trusted: a private CA (Harbor with the company's certificate) or
 * none at all (a registry with a self-signed certificate or plain HTTP on the LAN).
 */
export interface RegistryTls {
  /** PEM bundle of CA certificates trusted for registries, on top of the system's. */
  ca?: string;
  /** The file the bundle came from, for messages and for the builders' certificate directory. */
  caFile?: string;
  /** `HOST[:PORT]` of registries whose certificate is not verified and that may speak plain HTTP. */
  insecure?: readonly string[];
}

/** `HOST:PORT` matches itself; a bare `HOST` matches that host on any port (Docker needs the port). */
export function isInsecureRegistry(tls: RegistryTls | undefined, host: string): boolean {
  const name = host.replace(/:\d+$/, '');
  return (tls?.insecure ?? []).some((entry) => entry === host || entry === name);
}

/** Checks one `--insecure-registry` value: a host with an optional port, no scheme, no path. */
export function parseInsecureRegistry(value: string, input: string): string {
  const v = value.trim();
  if (!/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/.test(v))
    throw new UsageError(
      `${input} takes HOST or HOST:PORT as written in the image name (no https://, no path); got "${value}"`,
      { input },
    );
  return v;
}

/** Checks that a PEM bundle holds at least one certificate and nothing that looks like a key. */
export function checkCaBundle(pem: string, file: string, input: string): string {
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem))
    throw new UsageError(`${input} ${file} holds a private key; give only the CA certificate(s)`, {
      input,
    });
  if (!/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.test(pem))
    throw new UsageError(
      `${input} ${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`,
      { input },
    );
  return pem;
}

/**
 * The TLS settings a user gave (the CLI's --registry-ca/--insecure-registry, the Action's and the
 * orb's inputs), read and checked before anything is sent. `names` are the inputs' own names.
 */
export async function readRegistryTls(options: {
  caFile: string | undefined;
  insecure: readonly string[];
  cwd: string;
  names: { ca: string; insecure: string };
}): Promise<RegistryTls> {
  const { names } = options;
  const tls: RegistryTls = {
    insecure: options.insecure.map((v) => parseInsecureRegistry(v, names.insecure)),
  };
  if (options.caFile !== undefined) {
    const file = resolve(options.cwd, options.caFile);
    const pem = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new UsageError(`${names.ca}: cannot read ${file} (${err.code ?? err.message})`, {
        input: names.ca,
      });
    });
    tls.ca = checkCaBundle(pem, file, names.ca);
    tls.caFile = file;
  }
  return tls;
}

/** The warning printed once per insecure registry: it is a real weakening, so it is said plainly. */
export function insecureWarning(host: string): string {
  return `WARNING: --insecure-registry ${host}: its TLS certificate is NOT verified and plain HTTP is allowed; anyone on the network path can read the registry login and swap the image`;
}

/** Where TLS fails because the other side speaks plain HTTP. */
const PLAIN_HTTP =
  /wrong version number|ERR_SSL_WRONG_VERSION_NUMBER|EPROTO|packet length too long/i;

class RegistryResponse {
  readonly status: number;
  readonly ok: boolean;
  readonly headers: Headers;
  constructor(
    res: IncomingMessage,
    private readonly bytes: Buffer,
  ) {
    this.status = res.statusCode ?? 0;
    this.ok = this.status >= 200 && this.status < 300;
    this.headers = new Headers();
    for (const [k, v] of Object.entries(res.headers))
      if (v !== undefined) this.headers.set(k, Array.isArray(v) ? v.join(', ') : v);
  }
  get body(): null {
    return null;
  }
  async text() {
    return this.bytes.toString('utf8');
  }
  async json() {
    return JSON.parse(this.bytes.toString('utf8')) as unknown;
  }
  async arrayBuffer() {
    return new Uint8Array(this.bytes).buffer;
  }
}

function headerRecord(headers: RequestInit['headers']): Record<string, string> {
  return Object.fromEntries(new Headers(headers).entries());
}

/** One request over node:http/https with this TLS trust; errors look like fetch's (`cause.code`). */
async function request(url: URL, init: RequestInit, tls: object): Promise<RegistryResponse> {
  const lib = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
  return new Promise((resolve, reject) => {
    const req = lib.request(
      url,
      { method: init.method ?? 'GET', headers: headerRecord(init.headers), ...tls },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(new RegistryResponse(res, Buffer.concat(chunks))));
        res.on('error', (err) => reject(new TypeError('fetch failed', { cause: err })));
      },
    );
    req.on('error', (err) => reject(new TypeError('fetch failed', { cause: err })));
    req.end();
  });
}

/**
 * A fetch for the registry client that trusts `tls.ca` besides the system's CAs, and for insecure
 * registries skips verification and falls back to plain HTTP, as Docker does for its
 * `insecure-registries`. Other requests go to `base` unchanged. Redirects (blob storage) are followed.
 */
export function registryFetch(
  tls: RegistryTls,
  base: typeof fetch = globalThis.fetch,
): typeof fetch {
  const ca = tls.ca ? [...rootCertificates, tls.ca] : undefined;
  const plainHttp = new Set<string>();
  const one = async (url: URL, init: RequestInit): Promise<Response> => {
    const insecure = isInsecureRegistry(tls, url.host);
    if (!insecure && !ca) return base(url, init);
    if (insecure && url.protocol === 'https:' && plainHttp.has(url.host))
      url = new URL(url.href.replace(/^https:/, 'http:'));
    const trust = { ...(ca ? { ca } : {}), rejectUnauthorized: !insecure };
    try {
      return (await request(url, init, trust)) as unknown as Response;
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const said = `${cause?.code ?? ''} ${cause?.message ?? ''}`;
      if (!insecure || url.protocol !== 'https:' || !PLAIN_HTTP.test(said)) throw err;
      plainHttp.add(url.host);
      return (await request(
        new URL(url.href.replace(/^https:/, 'http:')),
        init,
        {},
      )) as unknown as Response;
    }
  };
  return (async (input: string | URL | Request, init: RequestInit = {}) => {
    let url = new URL(String(input instanceof Request ? input.url : input));
    for (let hop = 0; ; hop++) {
      const res = await one(url, init);
      const location = res.headers.get('location');
      if (![301, 302, 303, 307, 308].includes(res.status) || !location || hop >= 5) return res;
      const next = new URL(location, url);
      // The registry login goes to the registry only, never to the storage it redirects to.
      const headers = headerRecord(init.headers);
      if (next.origin !== url.origin) delete headers.authorization;
      init = { ...init, headers };
      url = next;
    }
  }) as typeof fetch;
}
