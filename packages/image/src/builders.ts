import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Builder,
  BuilderNotFoundError,
  BuildFailedError,
  type BuildOutcome,
  type BuildSpec,
  PushDeniedError,
  parseImageReference,
  UsageError,
} from '@gitops-release/core';
import { findOnPath, type ProcessResult, runProcess } from './process.js';
import { isLoopbackHost } from './registry-client.js';

export type BuilderName = 'docker' | 'buildah' | 'podman';
export const BUILDER_NAMES: readonly BuilderName[] = ['docker', 'buildah', 'podman'];

export interface BuilderOptions {
  env: Readonly<Record<string, string | undefined>>;
  /** Directory holding the docker-style `config.json` with the logins (see writeAuthFile). */
  authDir?: string;
  /** Each line the builder prints. */
  onLine?: (line: string) => void;
}

const DENIED =
  /denied|unauthorized|forbidden|authentication required|status: 40[13]|insufficient_scope|requested access to the resource/i;
const DIGEST_IN_PUSH = /digest: (sha256:[0-9a-f]{64})/;

/** The secrets as files, `id=ID,src=FILE`: a value never becomes an argument (ps shows those). */
export type SecretFiles = ReadonlyMap<string, string>;

function commonArgs(spec: BuildSpec, secretFiles: SecretFiles = new Map()): string[] {
  const args: string[] = [];
  if (spec.dockerfile) args.push('--file', spec.dockerfile);
  for (const [id, file] of secretFiles) args.push('--secret', `id=${id},src=${file}`);
  if (spec.noCache) args.push('--no-cache');
  if (spec.target) args.push('--target', spec.target);
  for (const [k, v] of Object.entries(spec.buildArgs)) args.push('--build-arg', `${k}=${v}`);
  for (const [k, v] of Object.entries(spec.labels)) args.push('--label', `${k}=${v}`);
  for (const ref of spec.references) args.push('--tag', ref);
  return args;
}

/** `docker buildx build --push`: tags, cache and several platforms in one go. */
export function buildxArgs(
  spec: BuildSpec,
  metadataFile: string,
  secretFiles: SecretFiles = new Map(),
): string[] {
  const args = ['buildx', 'build', ...(spec.push ? ['--push'] : [])];
  args.push('--metadata-file', metadataFile, ...commonArgs(spec, secretFiles));
  if (spec.pull) args.push('--pull');
  if (spec.platforms.length) args.push('--platform', spec.platforms.join(','));
  for (const c of spec.cacheFrom) args.push('--cache-from', c);
  for (const c of spec.cacheTo) args.push('--cache-to', c);
  args.push(spec.context);
  return args;
}

/** The classic `docker build` (one platform; it can use images as cache but not export one). */
export function classicDockerArgs(spec: BuildSpec): string[] {
  const args = ['build', ...commonArgs(spec)];
  if (spec.pull) args.push('--pull');
  if (spec.platforms.length) args.push('--platform', spec.platforms[0]!);
  for (const c of spec.cacheFrom) args.push('--cache-from', c);
  args.push(spec.context);
  return args;
}

/** `buildah bud` / `podman build`; a layer cache needs `--layers`. */
export function daemonlessBuildArgs(
  name: 'buildah' | 'podman',
  spec: BuildSpec,
  authFile: string | undefined,
  secretFiles: SecretFiles = new Map(),
): string[] {
  const args = [name === 'buildah' ? 'bud' : 'build'];
  if (authFile) args.push('--authfile', authFile);
  args.push(...commonArgs(spec, secretFiles));
  // Their bare --pull means "when missing"; docker's means always.
  if (spec.pull) args.push('--pull=always');
  if (spec.platforms.length) args.push('--platform', spec.platforms.join(','));
  if (spec.cacheFrom.length || spec.cacheTo.length) args.push('--layers');
  for (const c of spec.cacheFrom) args.push('--cache-from', c);
  for (const c of spec.cacheTo) args.push('--cache-to', c);
  args.push(spec.context);
  return args;
}

/**
 * Writes each secret to a private file in `dir` (mode 0600) for `--secret id=ID,src=FILE`, and
 * returns a line filter that hides the values should a build step print one.
 */
async function writeSecretFiles(
  spec: BuildSpec,
  dir: string,
): Promise<{ files: SecretFiles; hide: (line: string) => string }> {
  const files = new Map<string, string>();
  for (const [i, secret] of spec.secrets.entries()) {
    const file = join(dir, `secret-${i}`);
    await writeFile(file, secret.value, { mode: 0o600 });
    files.set(secret.id, file);
  }
  // Longest first, so a value holding another is hidden whole.
  const values = spec.secrets.map((s) => s.value).sort((a, b) => b.length - a.length);
  const hide = (line: string) => values.reduce((l, v) => l.split(v).join('***'), line);
  return { files, hide };
}

function failIfNotZero(builder: string, what: string, result: ProcessResult, ref?: string): void {
  if (result.code === 0) return;
  if (ref !== undefined && DENIED.test(result.tail.join('\n')))
    throw new PushDeniedError(ref, result.tail);
  throw new BuildFailedError(builder, result.code, result.tail, what);
}

/** Docker: buildx (`--push`, cache, several platforms) when installed, else `docker build` + `docker push`. */
export class DockerBuilder implements Builder {
  readonly name: string;
  constructor(
    private readonly options: BuilderOptions,
    readonly buildx: boolean,
  ) {
    this.name = buildx ? 'docker buildx' : 'docker';
  }

  private env() {
    return this.options.authDir
      ? { ...this.options.env, DOCKER_CONFIG: this.options.authDir }
      : this.options.env;
  }

  private run(args: string[], hide?: (line: string) => string) {
    return runProcess('docker', args, {
      env: this.env(),
      onLine: this.options.onLine,
      ...(hide ? { redact: hide } : {}),
    });
  }

  async buildAndPush(spec: BuildSpec): Promise<BuildOutcome> {
    if (!this.buildx && spec.secrets.length)
      throw new UsageError(
        'build secrets need BuildKit, which the docker CLI runs through buildx, and buildx is not installed here: install docker buildx (GitHub and CircleCI machines have it), or use --builder buildah or podman',
        { input: 'secret' },
      );
    return this.buildx ? this.withBuildx(spec) : this.classic(spec);
  }

  private async withBuildx(spec: BuildSpec): Promise<BuildOutcome> {
    const dir = await mkdtemp(join(tmpdir(), 'gitops-release-buildx-'));
    try {
      const metadata = join(dir, 'metadata.json');
      const secrets = await writeSecretFiles(spec, dir);
      const result = await this.run(buildxArgs(spec, metadata, secrets.files), secrets.hide);
      failIfNotZero(this.name, 'build', result, spec.push ? spec.references[0] : undefined);
      const meta = JSON.parse(await readFile(metadata, 'utf8').catch(() => '{}')) as Record<
        string,
        unknown
      >;
      const digest = meta['containerimage.digest'];
      return typeof digest === 'string' && spec.push ? { digest } : {};
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  private async classic(spec: BuildSpec): Promise<BuildOutcome> {
    if (spec.platforms.length > 1)
      throw new UsageError(
        'several --platform values need docker buildx, which is not installed here; build one platform, or use buildah or podman',
        { input: '--platform' },
      );
    if (spec.cacheTo.length)
      this.options.onLine?.(
        'warning: --cache-to needs docker buildx; the classic builder ignores it',
      );
    failIfNotZero(this.name, 'build', await this.run(classicDockerArgs(spec)));
    if (!spec.push) return {};
    let digest: string | undefined;
    for (const ref of spec.references) {
      const pushed = await this.run(['push', ref]);
      failIfNotZero(this.name, 'push', pushed, ref);
      digest ??= pushed.stdout.match(DIGEST_IN_PUSH)?.[1];
    }
    return digest ? { digest } : {};
  }
}

/** buildah and podman: daemonless, for runners inside Kubernetes; they share their flags. */
export class DaemonlessBuilder implements Builder {
  constructor(
    readonly name: 'buildah' | 'podman',
    private readonly options: BuilderOptions,
  ) {}

  private auth(): string[] {
    return this.options.authDir ? ['--authfile', join(this.options.authDir, 'config.json')] : [];
  }

  private run(args: string[], hide?: (line: string) => string) {
    return runProcess(this.name, args, {
      env: this.options.env,
      onLine: this.options.onLine,
      ...(hide ? { redact: hide } : {}),
    });
  }

  async buildAndPush(spec: BuildSpec): Promise<BuildOutcome> {
    const authFile = this.options.authDir ? join(this.options.authDir, 'config.json') : undefined;
    const dir = await mkdtemp(join(tmpdir(), `gitops-release-${this.name}-`));
    try {
      const secrets = await writeSecretFiles(spec, dir);
      failIfNotZero(
        this.name,
        'build',
        await this.run(daemonlessBuildArgs(this.name, spec, authFile, secrets.files), secrets.hide),
      );
      if (!spec.push) return {};
      let digest: string | undefined;
      for (const [i, ref] of spec.references.entries()) {
        const file = join(dir, `digest-${i}`);
        const push = ['push', ...this.auth(), '--digestfile', file];
        // Docker trusts loopback registries over plain HTTP by default; do the same here.
        if (isLoopbackHost(parseImageReference(ref).registry ?? ''))
          push.push('--tls-verify=false');
        push.push(ref);
        failIfNotZero(this.name, 'push', await this.run(push), ref);
        digest ??= (await readFile(file, 'utf8').catch(() => '')).trim() || undefined;
      }
      return digest ? { digest } : {};
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

/** Whether `name` can build here, and why not when it cannot. */
async function probe(
  name: BuilderName,
  options: BuilderOptions,
): Promise<{ builder?: Builder; reason: string }> {
  if (!(await findOnPath(name, options.env))) return { reason: 'not found on PATH' };
  if (name !== 'docker') return { builder: new DaemonlessBuilder(name, options), reason: '' };
  const env = options.authDir ? { ...options.env, DOCKER_CONFIG: options.authDir } : options.env;
  const server = await runProcess('docker', ['version', '--format', '{{.Server.Version}}'], {
    env,
  }).catch(() => undefined);
  if (server?.code !== 0)
    return {
      reason: `the docker daemon does not answer (${server?.tail.at(-1) ?? 'docker version failed'})`,
    };
  const buildx = await runProcess('docker', ['buildx', 'version'], { env }).catch(() => undefined);
  return { builder: new DockerBuilder(options, buildx?.code === 0), reason: '' };
}

/** The builder asked for, or the first one that works here: docker, then buildah, then podman. */
export async function selectBuilder(
  name: BuilderName | 'auto',
  options: BuilderOptions,
): Promise<Builder> {
  const candidates = name === 'auto' ? BUILDER_NAMES : [name];
  const looked: { name: string; reason: string }[] = [];
  for (const candidate of candidates) {
    const found = await probe(candidate, options);
    if (found.builder) return found.builder;
    looked.push({ name: candidate, reason: found.reason });
  }
  throw new BuilderNotFoundError(looked);
}
