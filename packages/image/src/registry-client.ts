import { createHash } from 'node:crypto';
import {
  type Registry,
  RegistryCertificateError,
  RegistryLoginError,
  RegistryResponseError,
  RegistryUnreachableError,
  type TagLocation,
} from '@gitops-release/core';
import type { RegistryCredentials } from './credentials.js';

/** The manifest media types a tag may point at; a HEAD without them gets a converted schema-1 digest. */
export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/** Node's codes for a certificate chain it cannot verify (openssl's X509_V_ERR names, and the host check). */
const CERTIFICATE_ERRORS =
  /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|CERT_UNTRUSTED|ERR_TLS_CERT_ALTNAME_INVALID)$/;

export interface RegistryClientOptions {
  fetch: typeof fetch;
  /** Credentials per registry host (as written in the image name); anonymous when absent. */
  credentials?: (registry: string) => RegistryCredentials | undefined;
  /** Base URL for a registry host; default `http://` for loopback hosts (as Docker allows), `https://` else. */
  baseUrl?: (registry: string) => string;
}

/** Docker Hub's API host and the `library/` prefix of official images. */
export function apiLocation(registry: string | undefined, repository: string) {
  const host = registry ?? 'docker.io';
  if (host === 'docker.io' || host === 'index.docker.io')
    return {
      host: 'registry-1.docker.io',
      repository: repository.includes('/') ? repository : `library/${repository}`,
      shown: 'docker.io',
    };
  return { host, repository, shown: host };
}

export function isLoopbackHost(host: string): boolean {
  const name = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return name === 'localhost' || name === '::1' || /^127\.\d+\.\d+\.\d+$/.test(name);
}

export function defaultBaseUrl(host: string): string {
  return `${isLoopbackHost(host) ? 'http' : 'https'}://${host}`;
}

interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses `Bearer realm="…",service="…",scope="…"` (and `Basic realm="…"`). */
export function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const m = header.match(/^\s*(\w+)\s*(.*)$/s);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  for (const p of m[2]!.matchAll(/([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g))
    params[p[1]!.toLowerCase()] = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
  return { scheme: m[1]!.toLowerCase(), params };
}

function basic(c: RegistryCredentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}

/**
 * A client for the OCI distribution API on an injected `fetch`: answers "is this tag there, and at
 * which digest" behind basic auth or the bearer-token challenge. Tokens are kept per scope.
 */
export class RegistryClient implements Registry {
  private readonly tokens = new Map<string, string>();
  /** Token keys obtained with credentials (the token service accepted them). */
  private readonly tokensWithLogin = new Set<string>();
  /** Hosts known to want basic auth: later requests send it up front. */
  private readonly basicHosts = new Set<string>();
  /** Every request this client sent, for counting in benchmarks. */
  requests = 0;

  constructor(private readonly options: RegistryClientOptions) {}

  async tagDigest(location: TagLocation): Promise<string | undefined> {
    const api = apiLocation(location.registry, location.repository);
    const path = `/v2/${api.repository}/manifests/${encodeURIComponent(location.tag)}`;
    const scope = `repository:${api.repository}:pull`;
    const headers = { accept: MANIFEST_ACCEPT };
    let res = await this.send(api.host, api.shown, 'HEAD', path, headers, scope);
    if (res.status === 404) return undefined;
    // The token service took the login, yet the registry will not show the repository: on Docker
    // Hub that is what a repository looks like before its first push. The push will tell.
    if ((res.status === 401 || res.status === 403) && this.loginAccepted(api.host, scope))
      return undefined;
    if (res.status === 200) {
      const digest = res.headers.get('docker-content-digest');
      if (digest) return digest;
      // A registry may leave the header out: the digest is the hash of the manifest bytes.
      res = await this.send(api.host, api.shown, 'GET', path, headers, scope);
      if (res.status === 200)
        return `sha256:${createHash('sha256')
          .update(Buffer.from(await res.arrayBuffer()))
          .digest('hex')}`;
    }
    throw await this.unexpected(api.shown, res, `HEAD ${path}`);
  }

  private loginAccepted(host: string, scope: string): boolean {
    return this.tokens.has(`${host} ${scope}`) && this.tokensWithLogin.has(`${host} ${scope}`);
  }

  async checkAccess(location: Omit<TagLocation, 'tag'>): Promise<void> {
    const api = apiLocation(location.registry, location.repository);
    const scope = `repository:${api.repository}:pull,push`;
    const res = await this.send(api.host, api.shown, 'GET', '/v2/', {}, scope);
    if (res.status !== 200) throw await this.unexpected(api.shown, res, 'GET /v2/');
  }

  private async unexpected(shown: string, res: Response, what: string): Promise<Error> {
    const body = (await res.text().catch(() => '')).slice(0, 300).trim();
    const user = this.options.credentials?.(shown)?.username;
    if (res.status === 401) return new RegistryLoginError(shown, user, `${what}: HTTP 401`);
    if (res.status === 403)
      return new RegistryLoginError(shown, user, `${what}: HTTP 403, access denied`);
    return new RegistryResponseError(shown, res.status, `${what}${body ? `: ${body}` : ''}`);
  }

  private async fetchOrFail(shown: string, url: string, init: RequestInit): Promise<Response> {
    this.requests++;
    try {
      return await this.options.fetch(url, { ...init, redirect: 'follow' });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      if (cause?.code && CERTIFICATE_ERRORS.test(cause.code))
        throw new RegistryCertificateError(shown, `${new URL(url).host}: ${cause.code}`, err);
      throw new RegistryUnreachableError(
        shown,
        `${new URL(url).host}: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
        err,
      );
    }
  }

  private async send(
    host: string,
    shown: string,
    method: string,
    path: string,
    headers: Record<string, string>,
    scope: string,
  ): Promise<Response> {
    const url = `${(this.options.baseUrl ?? defaultBaseUrl)(host)}${path}`;
    const creds = this.options.credentials?.(shown);
    const cached = this.tokens.get(`${host} ${scope}`);
    const first: Record<string, string> = { ...headers };
    if (cached) first.authorization = `Bearer ${cached}`;
    else if (creds && this.basicHosts.has(host)) first.authorization = basic(creds);
    const res = await this.fetchOrFail(shown, url, { method, headers: first });
    if (res.status !== 401) return res;
    const challenge = parseChallenge(res.headers.get('www-authenticate'));
    await res.body?.cancel();
    if (challenge?.scheme === 'basic') {
      if (!creds) return res;
      this.basicHosts.add(host);
      return this.fetchOrFail(shown, url, {
        method,
        headers: { ...headers, authorization: basic(creds) },
      });
    }
    if (challenge?.scheme === 'bearer' && challenge.params.realm) {
      const token = await this.token(shown, challenge.params, scope, creds);
      this.tokens.set(`${host} ${scope}`, token);
      if (creds) this.tokensWithLogin.add(`${host} ${scope}`);
      return this.fetchOrFail(shown, url, {
        method,
        headers: { ...headers, authorization: `Bearer ${token}` },
      });
    }
    return res;
  }

  /** The token endpoint of the bearer challenge, asked with the basic credentials when there are any. */
  private async token(
    shown: string,
    params: Record<string, string>,
    scope: string,
    creds: RegistryCredentials | undefined,
  ): Promise<string> {
    const url = new URL(params.realm!);
    if (params.service) url.searchParams.set('service', params.service);
    // The challenge's own scope wins: it names what the registry wants for this request.
    for (const s of (params.scope ?? scope).split(' ')) url.searchParams.append('scope', s);
    if (creds) url.searchParams.set('account', creds.username);
    const res = await this.fetchOrFail(shown, url.toString(), {
      method: 'GET',
      headers: creds ? { authorization: basic(creds) } : {},
    });
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      throw new RegistryLoginError(
        shown,
        creds?.username,
        `token service ${url.host} answered HTTP ${res.status}`,
      );
    }
    if (res.status !== 200)
      throw new RegistryResponseError(shown, res.status, `token service ${url.host}`);
    const body = (await res.json().catch(() => ({}))) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token)
      throw new RegistryResponseError(shown, res.status, `token service ${url.host} sent no token`);
    return token;
  }
}
