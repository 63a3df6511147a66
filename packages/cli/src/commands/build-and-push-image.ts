import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  type BuildAndPushRequest,
  type BuildAndPushResult,
  type BuildSecret,
  buildAndPushImage,
  InvalidImageReferenceError,
  lowercaseImageName,
  parseImageName,
  parseKeyValues,
  registryKind,
  UsageError,
} from '@gitops-release/core';
import {
  apiLocation,
  BUILDER_NAMES,
  type BuilderName,
  ecrLoginFromAws,
  gcpKeyLogin,
  hasAwsCredentials,
  openRegistryAccess,
  passwordLogin,
  type RegistryCredentials,
  selectBuilder,
} from '@gitops-release/image';
import {
  type Command,
  flag,
  type Io,
  listOption,
  type ParsedArgs,
  progress,
  requiredOption,
  stringOption,
} from '../command.js';

/** Io with a way to read standard input; the process adapter falls back to file descriptor 0. */
type IoWithStdin = Io & { readStdin?: () => Promise<string> };

const HELP = `Usage: gitops-release build-and-push-image --image REGISTRY/NAME [options]

Builds the application image, tags it with the commit, and pushes it. When the commit's tag is
already in the registry, nothing is built or pushed and the existing digest is reported: a re-run
of a pipeline costs one request, not a build.

Image and tags:
  --image REGISTRY/NAME    Where to push, e.g. gcr.io/PROJECT/NAME,
                           REGION-docker.pkg.dev/PROJECT/REPO/NAME,
                           ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME, ghcr.io/OWNER/NAME,
                           HARBOR_HOST/PROJECT/NAME, or a Docker Hub NAMESPACE/NAME. Required,
                           except in GitLab CI: default $CI_REGISTRY_IMAGE.
  --tag TAG                The tag. Default: the commit SHA shortened, from GITHUB_SHA,
                           CIRCLE_SHA1 or CI_COMMIT_SHA, else 'git rev-parse HEAD' in --context.
  --commit SHA             The full commit SHA to tag and label, instead of the CI's (e.g. a pull
                           request's head SHA rather than GitHub's merge commit).
  --sha-length N           Length of the short SHA (default 7).
  --extra-tag TAG          Another tag for the same image, e.g. latest (repeatable).

Build:
  --context DIR            Build context (default: the current directory).
  --file PATH              Dockerfile (default: DIR/Dockerfile).
  --builder NAME           auto (default: docker with a running daemon, then buildah, then
                           podman), docker, buildah or podman. docker uses buildx when installed.
  --build-arg KEY=VALUE    A build argument (repeatable).
  --label KEY=VALUE        A label (repeatable). org.opencontainers.image.revision, .source and
                           .created are set by default; a --label of the same key wins.
  --source URL             Source repository for the source label (default: from GITHUB_SERVER_URL
                           and GITHUB_REPOSITORY, CIRCLE_REPOSITORY_URL or CI_PROJECT_URL).
  --target STAGE           Build this stage of a multi-stage Dockerfile.
  --platform P             Target platform, e.g. linux/amd64 (repeatable; several need buildx,
                           buildah or podman).
  --cache-from REF         Cache source (repeatable); --cache-to REF cache export (buildx, buildah,
                           podman).
  --secret-env ID=VAR      A build secret: the value of environment variable VAR, mounted for
                           RUN --mount=type=secret,id=ID (repeatable). Handed over as a private
                           file (BuildKit --secret with docker buildx; --secret with buildah and
                           podman), never as an argument or build arg; hidden in the build log.
  --no-cache               Build every step again, ignoring the layer cache.
  --pull                   Pull newer base images even when a copy is present.
  --no-push                Build only (pull-request CI): ask the registry nothing, push nothing;
                           the tags stay in the builder's local store. --push is the default.

Login (the secret is read from the environment or stdin, never from the command line):
  --username USER          User name. Defaults: AWS for ECR, $GITHUB_ACTOR for ghcr.io,
                           oauth2accesstoken for gcr.io and pkg.dev (the password is then a
                           Google access token, e.g. from google-github-actions/auth).
  --password-env VAR       Read the password or token from environment variable VAR.
  --password-stdin         Read the password or token from standard input.
  --gcp-key-env VAR        Read a Google service-account JSON key from VAR (user _json_key).
  In GitLab CI, pushing to $CI_REGISTRY logs in as $CI_REGISTRY_USER with $CI_REGISTRY_PASSWORD.
  ECR without a login option logs in with the job's AWS credentials (AWS_ACCESS_KEY_ID,
  AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, as aws-actions/configure-aws-credentials sets them;
  or AWS_ROLE_ARN with CircleCI's CIRCLE_OIDC_TOKEN_V2 or AWS_WEB_IDENTITY_TOKEN_FILE).
  Without a login, the builder's own (docker login, credential helpers) is used.

Behaviour and output:
  --no-skip-existing       Build and push even when the tag already exists.
  --skip-existing          Skip when the tag exists, also for an explicit --tag (on by default
                           only for commit tags).
  --dry-run                Check the registry and say what would happen; build nothing.
  --json                   Print {image, digest, imageRef, tags, result, builder} on stdout.
  --quiet                  Print no progress and no builder output on stderr (warnings and errors
                           still); the result still goes to stdout.

Exit codes: 0 built, skipped (already there) or dry run; 1 failed; 2 wrong usage.

Examples:
  # Google Container Registry / Artifact Registry with a service-account key (seed pipelines)
  gitops-release build-and-push-image --image asia.gcr.io/my-project/web \\
    --gcp-key-env SERVICE_ACCOUNT_KEY
  gitops-release build-and-push-image \\
    --image asia-northeast1-docker.pkg.dev/my-project/apps/web --gcp-key-env GCP_SA_KEY

  # Amazon ECR
  aws ecr get-login-password | gitops-release build-and-push-image \\
    --image 123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/web --password-stdin

  # GitHub Container Registry with the workflow's token
  gitops-release build-and-push-image --image ghcr.io/my-org/web --password-env GITHUB_TOKEN

  # Harbor with a robot account, an extra tag and a build argument
  gitops-release build-and-push-image --image harbor.example.com/team/web \\
    --username 'robot$ci' --password-env HARBOR_PASSWORD --extra-tag latest \\
    --build-arg NODE_ENV=production --json
`;

const OPTIONS: Command['options'] = {
  image: { type: 'string' },
  tag: { type: 'string' },
  commit: { type: 'string' },
  'sha-length': { type: 'string' },
  'extra-tag': { type: 'string', multiple: true },
  context: { type: 'string' },
  file: { type: 'string' },
  builder: { type: 'string' },
  'build-arg': { type: 'string', multiple: true },
  label: { type: 'string', multiple: true },
  source: { type: 'string' },
  target: { type: 'string' },
  platform: { type: 'string', multiple: true },
  'cache-from': { type: 'string', multiple: true },
  'cache-to': { type: 'string', multiple: true },
  'secret-env': { type: 'string', multiple: true },
  'no-cache': { type: 'boolean' },
  pull: { type: 'boolean' },
  push: { type: 'boolean' },
  'no-push': { type: 'boolean' },
  username: { type: 'string' },
  'password-env': { type: 'string' },
  'password-stdin': { type: 'boolean' },
  'gcp-key-env': { type: 'string' },
  'skip-existing': { type: 'boolean' },
  'no-skip-existing': { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean' },
};

/** A malformed flag value is wrong usage (exit 2), whatever the parser calls it. */
function usage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof InvalidImageReferenceError)
      throw new UsageError(err.message, { input: '--image', cause: err });
    throw err;
  }
}

/** Repeated KEY=VALUE flags, taken whole: a value may hold commas. */
function rawList(args: ParsedArgs, name: string): string[] {
  const v = args.values[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [String(v)];
}

/** The commit from the CI's environment, else from git in the build context. */
async function commitSha(
  io: Io,
  context: string,
  given: string | undefined,
): Promise<string | undefined> {
  if (given) {
    // It becomes the revision label and maybe the tag: a full SHA or nothing.
    if (!/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/i.test(given)) {
      throw new UsageError(`--commit "${given}" is not a full commit SHA (40 or 64 hex digits)`, {
        input: '--commit',
      });
    }
    return given;
  }
  for (const name of ['GITHUB_SHA', 'CIRCLE_SHA1', 'CI_COMMIT_SHA']) {
    const v = io.env[name]?.trim();
    if (v) return v;
  }
  return new Promise((done) => {
    execFile(
      'git',
      ['rev-parse', 'HEAD'],
      { cwd: context, env: io.env as NodeJS.ProcessEnv },
      (err, stdout) => done(err ? undefined : stdout.trim() || undefined),
    );
  });
}

/** `--secret-env ID=VAR`: the value comes from VAR, so no secret is ever on the command line. */
function secretsFromEnv(args: ParsedArgs, io: Io): BuildSecret[] {
  return Object.entries(parseKeyValues(rawList(args, 'secret-env'), 'secret-env')).map(
    ([id, name]) => {
      const value = io.env[name];
      if (!value)
        throw new UsageError(
          `--secret-env ${id}=${name}: the environment variable ${name} is empty or not set`,
          { input: '--secret-env' },
        );
      return { id, value };
    },
  );
}

function sourceUrl(io: Io): string | undefined {
  const { GITHUB_SERVER_URL, GITHUB_REPOSITORY, CIRCLE_REPOSITORY_URL, CI_PROJECT_URL } = io.env;
  if (GITHUB_REPOSITORY) return `${GITHUB_SERVER_URL ?? 'https://github.com'}/${GITHUB_REPOSITORY}`;
  return CIRCLE_REPOSITORY_URL || CI_PROJECT_URL || undefined;
}

export async function readLogin(
  args: ParsedArgs,
  io: IoWithStdin,
  registry: string,
): Promise<RegistryCredentials | undefined> {
  const passwordEnv = stringOption(args, 'password-env');
  const keyEnv = stringOption(args, 'gcp-key-env');
  const stdin = flag(args, 'password-stdin');
  const given = [
    passwordEnv && '--password-env',
    keyEnv && '--gcp-key-env',
    stdin && '--password-stdin',
  ].filter(Boolean);
  if (given.length > 1)
    throw new UsageError(`give only one of ${given.join(', ')}`, { input: String(given[1]) });
  const username = stringOption(args, 'username');
  if (keyEnv) {
    const json = io.env[keyEnv];
    if (!json)
      throw new UsageError(
        `--gcp-key-env: the environment variable ${keyEnv} is empty or not set`,
        { input: '--gcp-key-env' },
      );
    return gcpKeyLogin(json, `--gcp-key-env ${keyEnv}`);
  }
  let password: string | undefined;
  if (passwordEnv) {
    password = io.env[passwordEnv];
    if (!password)
      throw new UsageError(
        `--password-env: the environment variable ${passwordEnv} is empty or not set`,
        { input: '--password-env' },
      );
  } else if (stdin) {
    const text = io.readStdin ? await io.readStdin() : readFileSync(0, 'utf8');
    password = text.replace(/\r?\n$/, '');
    if (!password)
      throw new UsageError('--password-stdin: standard input was empty', {
        input: '--password-stdin',
      });
  }
  // GitLab CI: the project's container registry and the job's credentials for it
  // (https://docs.gitlab.com/user/packages/container_registry/authenticate_with_container_registry/).
  const gitlabRegistry = io.env.CI_REGISTRY?.trim() === registry;
  if (password === undefined && gitlabRegistry && io.env.CI_REGISTRY_PASSWORD && !username) {
    return {
      username: io.env.CI_REGISTRY_USER ?? 'gitlab-ci-token',
      password: io.env.CI_REGISTRY_PASSWORD,
    };
  }
  if (password === undefined) {
    if (username)
      throw new UsageError('--username needs --password-env or --password-stdin', {
        input: '--username',
      });
    // ECR with the job's AWS credentials (configure-aws-credentials, CircleCI OIDC + AWS_ROLE_ARN).
    if (registryKind(registry) === 'ecr' && hasAwsCredentials(io.env))
      return ecrLoginFromAws(registry, io.env);
    return undefined;
  }
  if (username) return { username, password };
  // GitLab CI's own registry user, when the password given is for it.
  const gitlabUser = gitlabRegistry ? io.env.CI_REGISTRY_USER?.trim() : undefined;
  if (gitlabUser) return { username: gitlabUser, password };
  const implied = passwordLogin(registry, password, io.env, passwordEnv ?? '--password-stdin');
  if (!implied)
    throw new UsageError(`--username is required to log in to ${registry}`, {
      input: '--username',
    });
  return implied;
}

const HEADLINE: Record<BuildAndPushResult['result'], string> = {
  built: 'built and pushed',
  'built-not-pushed': 'built, not pushed (--no-push)',
  'skipped-exists': 'already in the registry, nothing built',
  'would-build': 'dry run: would build and push',
};

function summary(r: BuildAndPushResult): string {
  const lines = [`${HEADLINE[r.result]} ${r.image}`];
  if (r.digest) lines.push(`digest:    ${r.digest}`, `image-ref: ${r.imageRef}`);
  lines.push(`tags:      ${r.tags.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

/** The image (lowercased, with a notice), the context and the Dockerfile the flags name. */
export function buildPlaces(
  args: ParsedArgs,
  io: Io,
): { image: string; context: string; dockerfile: string } {
  // In GitLab CI the project's own image path is the default (CI_REGISTRY_IMAGE).
  const given =
    stringOption(args, 'image') ??
    (io.env.CI_REGISTRY_IMAGE?.trim() || undefined) ??
    requiredOption(args, 'image');
  const image = lowercaseImageName(given);
  if (image !== given)
    io.stderr(
      `notice: --image "${given}" has upper-case letters, which registries refuse in an image name: using "${image}"\n`,
    );
  const context = resolve(io.cwd, stringOption(args, 'context') ?? '.');
  const file = stringOption(args, 'file');
  const dockerfile = file === undefined ? join(context, 'Dockerfile') : resolve(io.cwd, file);
  return { image, context, dockerfile };
}

/** What core's buildAndPushImage is asked: every flag the command reads, with its value. */
export async function buildRequest(
  args: ParsedArgs,
  io: Io,
  where: { image: string; context: string; dockerfile: string },
): Promise<BuildAndPushRequest> {
  const shaLengthText = stringOption(args, 'sha-length');
  const shaLength = shaLengthText === undefined ? undefined : Number(shaLengthText);
  const skipExisting = flag(args, 'no-skip-existing')
    ? false
    : flag(args, 'skip-existing')
      ? true
      : undefined;
  const epoch = io.env.SOURCE_DATE_EPOCH;
  return {
    image: where.image,
    tag: stringOption(args, 'tag'),
    commitSha: await commitSha(io, where.context, stringOption(args, 'commit')),
    shaLength,
    extraTags: listOption(args, 'extra-tag'),
    context: where.context,
    dockerfile: where.dockerfile,
    target: stringOption(args, 'target'),
    buildArgs: parseKeyValues(rawList(args, 'build-arg'), 'build-arg'),
    labels: parseKeyValues(rawList(args, 'label'), 'label'),
    platforms: listOption(args, 'platform'),
    cacheFrom: rawList(args, 'cache-from'),
    cacheTo: rawList(args, 'cache-to'),
    source: stringOption(args, 'source') ?? sourceUrl(io),
    skipExisting,
    dryRun: flag(args, 'dry-run'),
    push: !flag(args, 'no-push'),
    secrets: secretsFromEnv(args, io),
    noCache: flag(args, 'no-cache'),
    pull: flag(args, 'pull'),
    // SOURCE_DATE_EPOCH makes the created label reproducible, as in reproducible-builds.org.
    now: epoch && /^\d+$/.test(epoch) ? new Date(Number(epoch) * 1000) : new Date(),
  };
}

export const buildAndPushImageCommand: Command = {
  name: 'build-and-push-image',
  summary:
    'Build the image, tag it with the commit and push it; skip when the tag is already there',
  help: HELP,
  options: OPTIONS,
  async run(args, io: IoWithStdin) {
    const where = buildPlaces(args, io);
    const { image: imageValue, context, dockerfile } = where;
    const ref = usage(() => parseImageName(imageValue, '--image'));
    // The key logins are kept under: Docker Hub has several spellings.
    const registry = apiLocation(ref.registry, ref.repository).shown;
    const builderName = stringOption(args, 'builder') ?? 'auto';
    if (builderName !== 'auto' && !BUILDER_NAMES.includes(builderName as BuilderName))
      throw new UsageError(
        `--builder must be auto, ${BUILDER_NAMES.join(', ')}; got "${builderName}"`,
        { input: '--builder' },
      );
    const shaLengthText = stringOption(args, 'sha-length');
    const shaLength = shaLengthText === undefined ? undefined : Number(shaLengthText);
    if (shaLength !== undefined && !Number.isInteger(shaLength))
      throw new UsageError(`--sha-length takes a whole number, got "${shaLengthText}"`, {
        input: '--sha-length',
      });
    if (flag(args, 'push') && flag(args, 'no-push'))
      throw new UsageError('give --push or --no-push, not both', { input: '--no-push' });
    if (flag(args, 'skip-existing') && flag(args, 'no-skip-existing'))
      throw new UsageError('give --skip-existing or --no-skip-existing, not both', {
        input: '--skip-existing',
      });

    if (
      !(await stat(context).then(
        (s) => s.isDirectory(),
        () => false,
      ))
    )
      throw new UsageError(`--context: ${context} is not a directory`, { input: '--context' });
    if (
      !(await stat(dockerfile).then(
        (s) => s.isFile(),
        () => false,
      ))
    )
      throw new UsageError(`--file: there is no Dockerfile at ${dockerfile}`, { input: '--file' });

    // Build only: no login (a fork's pull request has no registry secrets).
    const login = flag(args, 'no-push') ? undefined : await readLogin(args, io, registry);
    const log = progress(args, io);
    const { client, authFile } = await openRegistryAccess({ registry, login, env: io.env });
    try {
      const result = await buildAndPushImage(await buildRequest(args, io, where), {
        registry: client,
        builder: () =>
          selectBuilder(builderName as BuilderName | 'auto', {
            env: io.env,
            authDir: authFile?.dir,
            onLine: (line) => log(`  ${line}`),
          }),
        log,
      });
      io.stdout(flag(args, 'json') ? `${JSON.stringify(result)}\n` : summary(result));
      return 0;
    } finally {
      await authFile?.dispose();
    }
  },
};
