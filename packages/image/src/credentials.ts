import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RegistryKind, registryKind, UsageError } from '@gitops-release/core';
import { RegistryClient } from './registry-client.js';

/** A user name and a secret for one registry. The secret must never be printed. */
export interface RegistryCredentials {
  username: string;
  password: string;
}

/** Google's user name for a service-account JSON key used as the password. */
export const GCP_JSON_KEY_USER = '_json_key';
/**
 * Google's user name for an OAuth access token as the password: what google-github-actions/auth
 * (`token_format: access_token`, Workload Identity) and `gcloud auth print-access-token` give.
 */
export const GCP_ACCESS_TOKEN_USER = 'oauth2accesstoken';
/** ECR's user name for the token of `aws ecr get-login-password`. */
export const ECR_USER = 'AWS';

/** A service-account JSON key (as seed 002's SERVICE_ACCOUNT_KEY), checked to be one, as a login. */
export function gcpKeyLogin(json: string, input: string): RegistryCredentials {
  let key: { type?: string; client_email?: string; private_key?: string };
  // CI secrets often hold the key file base64-encoded, to keep it on one line.
  const trimmed = json.trim();
  if (!trimmed.startsWith('{') && /^[A-Za-z0-9+/=\s]+$/.test(trimmed)) {
    const decoded = Buffer.from(trimmed, 'base64').toString('utf8');
    if (decoded.trim().startsWith('{')) json = decoded;
  }
  try {
    key = JSON.parse(json);
  } catch {
    // Never quote the value: it is a private key.
    throw new UsageError(`${input} does not hold JSON; it must hold a service-account key file`, {
      input,
    });
  }
  if (key?.type !== 'service_account' || !key.client_email || !key.private_key)
    throw new UsageError(
      `${input} is not a service-account key (it needs "type": "service_account", "client_email" and "private_key")`,
      { input },
    );
  return { username: GCP_JSON_KEY_USER, password: json };
}

/**
 * An ECR login from either the password of `aws ecr get-login-password`, or the base64
 * `authorizationToken` of `aws ecr get-authorization-token` (which decodes to `AWS:password`).
 */
export function ecrLogin(token: string): RegistryCredentials {
  const t = token.trim();
  const decoded = /^[A-Za-z0-9+/]+=*$/.test(t) ? Buffer.from(t, 'base64').toString('utf8') : '';
  if (decoded.startsWith(`${ECR_USER}:`))
    return { username: ECR_USER, password: decoded.slice(ECR_USER.length + 1) };
  return { username: ECR_USER, password: t };
}

/**
 * A password given without a user name, as the registry takes it: ECR's token, a Google access
 * token (or a service-account key pasted as the password), GHCR's workflow token.
 */
export function passwordLogin(
  registry: string,
  password: string,
  env: Readonly<Record<string, string | undefined>>,
  input: string,
): RegistryCredentials | undefined {
  const kind = registryKind(registry);
  if (kind === 'ecr') return ecrLogin(password);
  if ((kind === 'gcr' || kind === 'artifact-registry') && password.trim().startsWith('{'))
    return gcpKeyLogin(password, input);
  const username = defaultUsername(kind, env);
  return username ? { username, password } : undefined;
}

/** The user name a registry expects when none was given, when it has a fixed one. */
export function defaultUsername(
  kind: RegistryKind,
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  if (kind === 'ecr') return ECR_USER;
  if (kind === 'gcr' || kind === 'artifact-registry') return GCP_ACCESS_TOKEN_USER;
  // GHCR takes GITHUB_TOKEN with the actor that owns the run.
  if (kind === 'ghcr') return env.GITHUB_ACTOR;
  return undefined;
}

export { registryKind };

/** The key Docker uses for Docker Hub in `auths`; other registries are keyed by host. */
function authKey(registry: string): string {
  return registry === 'docker.io' || registry === 'index.docker.io'
    ? 'https://index.docker.io/v1/'
    : registry;
}

/**
 * The text of a docker-style `config.json` holding the logins, on top of the user's own config
 * (kept so that other settings still apply); a credential store would shadow `auths`, so it goes.
 */
export function authFileText(
  logins: ReadonlyMap<string, RegistryCredentials>,
  base: Record<string, unknown> = {},
): string {
  const config: Record<string, unknown> = { ...base };
  const auths = { ...((base.auths as Record<string, unknown> | undefined) ?? {}) };
  const helpers = { ...((base.credHelpers as Record<string, unknown> | undefined) ?? {}) };
  for (const [registry, c] of logins) {
    auths[authKey(registry)] = {
      auth: Buffer.from(`${c.username}:${c.password}`).toString('base64'),
    };
    delete helpers[registry];
  }
  config.auths = auths;
  if (Object.keys(helpers).length) config.credHelpers = helpers;
  else delete config.credHelpers;
  delete config.credsStore;
  return `${JSON.stringify(config, null, 2)}\n`;
}

/**
 * A private temporary directory with `config.json`: docker reads it as DOCKER_CONFIG, buildah and
 * podman as --authfile. Removed by `dispose`.
 */
export interface AuthFile {
  dir: string;
  path: string;
  dispose(): Promise<void>;
}

/**
 * Writes the logins into a fresh DOCKER_CONFIG directory. `userConfigDir` (the user's DOCKER_CONFIG
 * or ~/.docker) is carried over: its config, and links to its buildx builders and CLI plugins.
 */
export async function writeAuthFile(
  logins: ReadonlyMap<string, RegistryCredentials>,
  options: { userConfigDir?: string; parent?: string } = {},
): Promise<AuthFile> {
  const dir = await mkdtemp(join(options.parent ?? tmpdir(), 'gitops-release-auth-'));
  const path = join(dir, 'config.json');
  let base: Record<string, unknown> = {};
  if (options.userConfigDir) {
    base = await readFile(join(options.userConfigDir, 'config.json'), 'utf8')
      .then((t) => JSON.parse(t) as Record<string, unknown>)
      .catch(() => ({}));
    for (const sub of ['cli-plugins', 'buildx', 'contexts'])
      await symlink(join(options.userConfigDir, sub), join(dir, sub)).catch(() => {});
  }
  await writeFile(path, authFileText(logins, base), { mode: 0o600 });
  return { dir, path, dispose: () => rm(dir, { recursive: true, force: true }) };
}

/** The logins a user's docker config already holds in plain `auths` (after `docker login`). */
export async function readDockerLogins(
  userConfigDir: string,
): Promise<Map<string, RegistryCredentials>> {
  const out = new Map<string, RegistryCredentials>();
  const config = await readFile(join(userConfigDir, 'config.json'), 'utf8')
    .then((t) => JSON.parse(t) as { auths?: Record<string, { auth?: string }> })
    .catch(() => ({}) as { auths?: Record<string, { auth?: string }> });
  for (const [key, entry] of Object.entries(config.auths ?? {})) {
    if (!entry?.auth) continue;
    const text = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = text.indexOf(':');
    if (colon <= 0) continue;
    const host =
      key === 'https://index.docker.io/v1/'
        ? 'docker.io'
        : key.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
    out.set(host, { username: text.slice(0, colon), password: text.slice(colon + 1) });
  }
  return out;
}

/**
 * Asks a docker credential helper (`docker-credential-NAME get`, the protocol of
 * docker/docker-credential-helpers) for one registry's login: the server address on stdin, JSON
 * `{ServerURL, Username, Secret}` on stdout. Undefined when it has none, fails or is missing.
 */
export function credentialHelperLogin(
  helper: string,
  serverUrl: string,
  env: Readonly<Record<string, string | undefined>>,
): Promise<RegistryCredentials | undefined> {
  return new Promise((done) => {
    let out = '';
    const child = spawn(`docker-credential-${helper}`, ['get'], {
      env: env as NodeJS.ProcessEnv,
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    child.on('error', () => done(undefined));
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8');
    });
    child.on('close', (code) => {
      if (code !== 0) return done(undefined);
      try {
        const answer = JSON.parse(out) as { Username?: string; Secret?: string };
        // `<token>` marks an identity token for docker's own OAuth flow, not a password.
        if (!answer.Username || !answer.Secret || answer.Username === '<token>')
          return done(undefined);
        done({ username: answer.Username, password: answer.Secret });
      } catch {
        done(undefined);
      }
    });
    child.stdin.end(serverUrl);
  });
}

/**
 * The login the user's docker config holds for one registry, looked up as docker does: the
 * registry's `credHelpers` entry, else the `credsStore`, else the plain `auths` entry.
 */
export async function readDockerLogin(
  userConfigDir: string,
  registry: string,
  env: Readonly<Record<string, string | undefined>>,
): Promise<RegistryCredentials | undefined> {
  const config = await readFile(join(userConfigDir, 'config.json'), 'utf8')
    .then((t) => JSON.parse(t) as { credHelpers?: Record<string, string>; credsStore?: string })
    .catch(() => ({}) as { credHelpers?: Record<string, string>; credsStore?: string });
  const helper = config.credHelpers?.[registry] ?? config.credsStore;
  if (helper) return credentialHelperLogin(helper, authKey(registry), env);
  return (await readDockerLogins(userConfigDir)).get(registry);
}

export interface RegistryAccess {
  /** Checks tags and digests with our login, else with the user's own `docker login`. */
  client: RegistryClient;
  /** The auth file the builders read, when we logged in; dispose of it when the run ends. */
  authFile: AuthFile | undefined;
}

/**
 * What one build-and-push run needs to reach its registry. Without a login of our own, the
 * existence check uses the one `docker login` (or docker/login-action, or a credential helper such
 * as gcloud's or ecr-login) left in the user's docker config.
 */
export async function openRegistryAccess(options: {
  registry: string;
  login: RegistryCredentials | undefined;
  env: Readonly<Record<string, string | undefined>>;
}): Promise<RegistryAccess> {
  const { registry, login, env } = options;
  const userConfigDir = env.DOCKER_CONFIG || (env.HOME ? join(env.HOME, '.docker') : undefined);
  const logins = new Map<string, RegistryCredentials>();
  const own = login ?? (userConfigDir && (await readDockerLogin(userConfigDir, registry, env)));
  if (own) logins.set(registry, own);
  const client = new RegistryClient({
    fetch: globalThis.fetch,
    credentials: (host) => logins.get(host),
  });
  const authFile = login ? await writeAuthFile(logins, { userConfigDir }) : undefined;
  return { client, authFile };
}

/**
 * Whether the user's docker config already logs in to `registry`: an `auths` entry (docker login,
 * docker/login-action) or a `credHelpers` entry for it. Then a default credential of ours (the
 * Action's workflow token for ghcr.io) must not replace that login.
 */
export async function dockerConfigHasLogin(
  env: Readonly<Record<string, string | undefined>>,
  registry: string,
): Promise<boolean> {
  const dir = env.DOCKER_CONFIG || (env.HOME ? join(env.HOME, '.docker') : undefined);
  if (!dir) return false;
  const config = await readFile(join(dir, 'config.json'), 'utf8')
    .then((t) => JSON.parse(t) as { auths?: Record<string, unknown>; credHelpers?: object })
    .catch(() => ({}) as { auths?: Record<string, unknown>; credHelpers?: object });
  const hostOf = (key: string) =>
    key
      .replace(/^https?:\/\//, '')
      .replace(/\/.*$/, '')
      .toLowerCase();
  const keys = [...Object.keys(config.auths ?? {}), ...Object.keys(config.credHelpers ?? {})];
  return keys.some((key) => hostOf(key) === registry.toLowerCase());
}
