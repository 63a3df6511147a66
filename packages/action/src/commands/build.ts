import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  type BuildAndPushRequest,
  type BuildAndPushResult,
  buildAndPushImage,
  parseImageName,
  registryKind,
  UsageError,
} from '@gitops-release/core';
import {
  type BuilderName,
  dockerConfigHasLogin,
  ecrLoginFromAws,
  gcpKeyLogin,
  hasAwsCredentials,
  openRegistryAccess,
  passwordLogin,
  type RegistryCredentials,
  selectBuilder,
} from '@gitops-release/image';
import type { BuildInputs, Env } from '../inputs.js';
import type { CommandRunner } from '../main.js';
import { code, table } from '../markdown.js';

// build_and_push_image: the same core call and Node ports as the CLI's build-and-push-image; only
// where the inputs come from differs (action inputs, the runner's GITHUB_* variables).

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

/**
 * The login the inputs give: a GCP key, a user and password, or the workflow token for GHCR. The
 * token (github-token defaults to it) is not used over a login an earlier step made to ghcr.io
 * (docker/login-action with a PAT that can push where the workflow token cannot).
 */
export async function loginFor(
  inputs: Pick<BuildInputs, 'gcpKey' | 'password' | 'username' | 'githubToken'>,
  env: Env,
  registry: string,
): Promise<RegistryCredentials | undefined> {
  if (inputs.gcpKey !== undefined) return gcpKeyLogin(inputs.gcpKey, 'gcp-key');
  const kind = registryKind(registry);
  let password = inputs.password;
  // GHCR takes the workflow's own token (with `packages: write`) for the actor of the run.
  if (
    password === undefined &&
    kind === 'ghcr' &&
    inputs.username === undefined &&
    !(await dockerConfigHasLogin(env, registry))
  )
    password = inputs.githubToken;
  if (password === undefined)
    // ECR with the AWS credentials aws-actions/configure-aws-credentials put in the environment.
    return kind === 'ecr' && hasAwsCredentials(env) ? ecrLoginFromAws(registry, env) : undefined;
  if (inputs.username !== undefined) return { username: inputs.username, password };
  const implied = passwordLogin(registry, password, env, 'password');
  if (!implied)
    throw new UsageError(`input "username" is required to log in to ${registry} with "password"`, {
      input: 'username',
    });
  return implied;
}

function sourceUrl(env: Env): string | undefined {
  const { GITHUB_SERVER_URL, GITHUB_REPOSITORY } = env;
  return GITHUB_REPOSITORY
    ? `${GITHUB_SERVER_URL || 'https://github.com'}/${GITHUB_REPOSITORY}`
    : undefined;
}

const HEADLINE: Record<BuildAndPushResult['result'], string> = {
  built: 'Image built and pushed',
  'built-not-pushed': 'Image built; not pushed (push is off)',
  'skipped-exists': 'Image already in the registry: nothing built',
  'would-build': 'Dry run: the image would be built and pushed',
};

function summary(r: BuildAndPushResult): string {
  return [
    `### ${HEADLINE[r.result]}`,
    '',
    table(
      ['', ''],
      [
        ['Image', code(r.image)],
        ['Digest', r.digest && code(r.digest)],
        ['Pinned', r.imageRef && code(r.imageRef)],
        ['Tags', r.tags.map(code).join(', ')],
        ['Builder', r.builder && code(r.builder)],
      ],
    ),
  ].join('\n');
}

/** What core's buildAndPushImage is asked: every input the command reads, with its value. */
export function buildRequest(
  inputs: BuildInputs,
  env: Env,
  cwd: string,
  now: Date,
): BuildAndPushRequest {
  const context = resolve(cwd, inputs.context);
  const dockerfile = inputs.file ? resolve(cwd, inputs.file) : join(context, 'Dockerfile');
  return {
    image: inputs.image,
    tag: inputs.tag,
    commitSha: inputs.sha,
    shaLength: inputs.shaLength,
    extraTags: inputs.extraTags,
    context,
    dockerfile,
    target: inputs.target,
    buildArgs: inputs.buildArgs,
    labels: inputs.labels,
    platforms: inputs.platforms,
    cacheFrom: inputs.cacheFrom,
    cacheTo: inputs.cacheTo,
    source: sourceUrl(env),
    skipExisting: inputs.skipExisting,
    dryRun: inputs.dryRun,
    push: inputs.push,
    secrets: inputs.secrets,
    noCache: inputs.noCache,
    pull: inputs.pull,
    now,
  };
}

export const buildCommand: CommandRunner<BuildInputs> = async (inputs, rt) => {
  const ref = parseImageName(inputs.image, 'image');
  const registry = ref.registry ?? 'docker.io';
  const request = buildRequest(inputs, rt.env, rt.cwd, new Date());
  const { context, dockerfile = join(context, 'Dockerfile') } = request;
  if (!(await isDirectory(context)))
    throw new UsageError(`input "context": ${context} is not a directory`, { input: 'context' });
  if (!(await isFile(dockerfile)))
    throw new UsageError(`input "file": there is no Dockerfile at ${dockerfile}`, {
      input: 'file',
    });

  // Build only: no login is needed (a fork's pull request has no registry secrets).
  const login = inputs.push ? await loginFor(inputs, rt.env, registry) : undefined;
  const { client, authFile } = await openRegistryAccess({ registry, login, env: rt.env });
  try {
    const result = await rt.group(`Build and push ${inputs.image}`, () =>
      buildAndPushImage(request, {
        registry: client,
        builder: () =>
          selectBuilder(inputs.builder as BuilderName | 'auto', {
            env: rt.env,
            authDir: authFile?.dir,
            onLine: (line) => rt.info(`  ${line}`),
          }),
        log: (line) => rt.info(line),
      }),
    );
    return {
      outputs: {
        result: result.result,
        image: result.image,
        digest: result.digest ?? '',
        'image-ref': result.imageRef ?? '',
        tags: result.tags.join(','),
      },
      summary: summary(result),
      message: `${HEADLINE[result.result]}: ${result.imageRef ?? result.image}`,
    };
  } finally {
    await authFile?.dispose();
  }
};
