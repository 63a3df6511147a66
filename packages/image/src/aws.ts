import { createHash, createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { RegistryLoginError } from '@gitops-release/core';
import { ECR_USER, type RegistryCredentials } from './credentials.js';

// An ECR login from the AWS credentials a CI job already has: the variables
// aws-actions/configure-aws-credentials exports, or a web-identity token (CircleCI OIDC,
// AWS_WEB_IDENTITY_TOKEN_FILE) exchanged with STS. Two HTTPS requests, no aws CLI needed.

type Env = Readonly<Record<string, string | undefined>>;

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

const sha256 = (data: string) => createHash('sha256').update(data, 'utf8').digest('hex');
const hmac = (key: string | Buffer, data: string) =>
  createHmac('sha256', key).update(data, 'utf8').digest();

/** RFC 3986 encoding, as Signature Version 4 wants it. */
function encode(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** The canonical request of Signature Version 4: method, path, sorted query and headers, body hash. */
export function canonicalRequest(
  method: string,
  url: URL,
  headers: Readonly<Record<string, string>>,
  body: string,
): { text: string; signedHeaders: string } {
  const lower = Object.entries(headers)
    .map(([k, v]) => [k.toLowerCase(), v.trim().replace(/\s+/g, ' ')] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const query = [...url.searchParams.entries()]
    .map(([k, v]) => [encode(k), encode(v)] as const)
    .sort(([a, x], [b, y]) => (a === b ? (x < y ? -1 : 1) : a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const signedHeaders = lower.map(([k]) => k).join(';');
  const text = [
    method,
    url.pathname || '/',
    query,
    ...lower.map(([k, v]) => `${k}:${v}`),
    '',
    signedHeaders,
    sha256(body),
  ].join('\n');
  return { text, signedHeaders };
}

/** The hex signature of a string to sign, with the key derived for day, region and service. */
export function signatureV4(
  secretAccessKey: string,
  scope: { day: string; region: string; service: string },
  stringToSign: string,
): string {
  let key = hmac(`AWS4${secretAccessKey}`, scope.day);
  for (const part of [scope.region, scope.service, 'aws4_request']) key = hmac(key, part);
  return createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
}

/**
 * Signs a request with AWS Signature Version 4 (its parts held to AWS's published test vectors in
 * the unit tests): returns the headers to send, `authorization` and `x-amz-date` included.
 */
export function signV4(request: {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  region: string;
  service: string;
  credentials: AwsCredentials;
  now: Date;
}): Record<string, string> {
  const url = new URL(request.url);
  const stamp = request.now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const day = stamp.slice(0, 8);
  const headers: Record<string, string> = {
    ...request.headers,
    host: url.host,
    'x-amz-date': stamp,
  };
  if (request.credentials.sessionToken)
    headers['x-amz-security-token'] = request.credentials.sessionToken;
  const canonical = canonicalRequest(request.method, url, headers, request.body);
  const scope = `${day}/${request.region}/${request.service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', stamp, scope, sha256(canonical.text)].join('\n');
  const signature = signatureV4(
    request.credentials.secretAccessKey,
    { day, region: request.region, service: request.service },
    toSign,
  );
  return {
    ...headers,
    authorization: `AWS4-HMAC-SHA256 Credential=${request.credentials.accessKeyId}/${scope}, SignedHeaders=${canonical.signedHeaders}, Signature=${signature}`,
  };
}

/** The region of an ECR registry host, `ACCOUNT.dkr.ecr.REGION.amazonaws.com[.cn]`. */
export function ecrRegion(host: string): string | undefined {
  return host.match(/^\d{12}\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/i)?.[1];
}

/** Whether the environment holds AWS credentials or a web identity to get them with. */
export function hasAwsCredentials(env: Env): boolean {
  return Boolean(
    (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) ||
      (env.AWS_ROLE_ARN &&
        (env.AWS_WEB_IDENTITY_TOKEN_FILE || env.CIRCLE_OIDC_TOKEN_V2 || env.CIRCLE_OIDC_TOKEN)),
  );
}

/** AWS_ENDPOINT_URL_<SERVICE>, then AWS_ENDPOINT_URL (the SDKs' own variables), then AWS's. */
function endpoint(env: Env, service: 'ECR' | 'STS', fallback: string): string {
  return (env[`AWS_ENDPOINT_URL_${service}`] || env.AWS_ENDPOINT_URL || fallback).replace(
    /\/+$/,
    '',
  );
}

function xmlField(xml: string, name: string): string | undefined {
  return xml.match(new RegExp(`<${name}>([^<]*)</${name}>`))?.[1];
}

/**
 * Credentials for a web identity (a CircleCI OIDC token, or the file AWS_WEB_IDENTITY_TOKEN_FILE
 * names) and AWS_ROLE_ARN, from STS AssumeRoleWithWebIdentity (a call that needs no signature).
 */
async function assumeRole(registry: string, region: string, env: Env, fetchFn: typeof fetch) {
  const token = env.AWS_WEB_IDENTITY_TOKEN_FILE
    ? (await readFile(env.AWS_WEB_IDENTITY_TOKEN_FILE, 'utf8')).trim()
    : (env.CIRCLE_OIDC_TOKEN_V2 || env.CIRCLE_OIDC_TOKEN)!;
  const url = new URL(`${endpoint(env, 'STS', `https://sts.${region}.amazonaws.com`)}/`);
  for (const [k, v] of Object.entries({
    Action: 'AssumeRoleWithWebIdentity',
    Version: '2011-06-15',
    RoleArn: env.AWS_ROLE_ARN!,
    RoleSessionName: env.AWS_ROLE_SESSION_NAME || 'gitops-release',
    WebIdentityToken: token,
  }))
    url.searchParams.set(k, v);
  const res = await fetchFn(url, { method: 'GET' });
  const xml = await res.text();
  const accessKeyId = xmlField(xml, 'AccessKeyId');
  const secretAccessKey = xmlField(xml, 'SecretAccessKey');
  if (res.status !== 200 || !accessKeyId || !secretAccessKey)
    throw new RegistryLoginError(
      registry,
      ECR_USER,
      `STS AssumeRoleWithWebIdentity for ${env.AWS_ROLE_ARN} answered HTTP ${res.status}: ${xmlField(xml, 'Code') ?? ''} ${xmlField(xml, 'Message') ?? ''}`.trim(),
    );
  const sessionToken = xmlField(xml, 'SessionToken');
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

/**
 * The ECR login (`AWS` and a 12-hour password) for `registry`, from ECR's GetAuthorizationToken
 * signed with the environment's AWS credentials, as `aws ecr get-login-password` does.
 */
export async function ecrLoginFromAws(
  registry: string,
  env: Env,
  options: { fetch?: typeof fetch; now?: Date } = {},
): Promise<RegistryCredentials> {
  const fetchFn = options.fetch ?? globalThis.fetch;
  const region = ecrRegion(registry) ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region) throw new RegistryLoginError(registry, ECR_USER, 'no AWS region: set AWS_REGION');
  const credentials: AwsCredentials =
    env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? {
          accessKeyId: env.AWS_ACCESS_KEY_ID,
          secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
          ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
        }
      : await assumeRole(registry, region, env, fetchFn);
  const url = `${endpoint(env, 'ECR', `https://api.ecr.${region}.amazonaws.com`)}/`;
  const body = '{}';
  const headers = signV4({
    method: 'POST',
    url,
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': 'AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken',
    },
    body,
    region,
    service: 'ecr',
    credentials,
    now: options.now ?? new Date(),
  });
  delete headers.host; // fetch sets it
  const res = await fetchFn(url, { method: 'POST', headers, body });
  const answer = (await res.json().catch(() => ({}))) as {
    __type?: string;
    message?: string;
    Message?: string;
    authorizationData?: { authorizationToken?: string }[];
  };
  const token = answer.authorizationData?.[0]?.authorizationToken;
  const decoded = token ? Buffer.from(token, 'base64').toString('utf8') : '';
  if (res.status !== 200 || !decoded.startsWith(`${ECR_USER}:`))
    throw new RegistryLoginError(
      registry,
      ECR_USER,
      `ECR GetAuthorizationToken with the AWS credentials of this job answered HTTP ${res.status}: ${(answer.__type ?? '').split('#').pop()} ${answer.message ?? answer.Message ?? ''}`.trim(),
    );
  return { username: ECR_USER, password: decoded.slice(ECR_USER.length + 1) };
}
