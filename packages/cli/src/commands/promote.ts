import { join } from 'node:path';
import {
  checkEnvironmentPaths,
  DEFAULT_PROMOTE_BRANCH_TEMPLATE,
  DEFAULT_PROMOTE_TITLE_TEMPLATE,
  formatImageReference,
  GitopsReleaseError,
  type ImageReference,
  InvalidImageReferenceError,
  imageName,
  lowercaseImageName,
  PathError,
  PromotionRefusedError,
  type PromotionRequest,
  type PromotionResult,
  parseImageReference,
  planPromotion,
  promote,
  type Registry,
  UsageError,
  unifiedDiff,
} from '@gitops-release/core';
import { readManifestFiles, writeFilesAtomically } from '@gitops-release/fs';
import { redact } from '@gitops-release/github';
import {
  apiLocation,
  RegistryClient,
  type RegistryCredentials,
  readDockerLogins,
} from '@gitops-release/image';
import {
  type Command,
  flag,
  type Io,
  listOption,
  type ParsedArgs,
  stringOption,
} from '../command.js';
import {
  hostOptionSpec,
  openHost,
  pullRequestFields,
  pullRequestOptionSpec,
} from '../release-options.js';
import { readLogin } from './build-and-push-image.js';

const help = `Usage: gitops-release promote --repo REPO --from PATH --to PATH [--image NAME]... [options]
       gitops-release promote --from DIR --to DIR [options]        (a local checkout, edited in place)

Promotes the very image an environment runs into another: reads both environments at ONE commit
of the base, takes the version (tag and digest) --from deploys for each image, and writes it into
--to in the shape --to uses (kustomize newTag/digest, Helm values maps or repo:tag@digest strings,
workload image:), with one commit and a pull request (GitHub), a pushed branch (plain git), or a
commit straight onto the base (--mode push). Nothing is rebuilt.

Environments:
  --from PATH                 What ran the version (e.g. overlays/staging); repeatable.
  --to PATH                   What gets it (e.g. overlays/production); repeatable.
  --image NAME                Promote only this image (a name, no tag); repeatable. Default: every
                              image both environments deploy whose version differs.
  --from-name, --to-name      {from} and {to} in templates; default the first path segment in
                              which the two paths differ (overlays/staging -> staging).

Guards (each refusal exits 1 and writes nothing; --json gives the reason):
  --expect NAME:TAG[@DIGEST]  Refuse unless --from still deploys exactly this (the version the
                              pipeline tested); repeatable.            reason: expect-mismatch
                              An image --from does not deploy:         reason: not-deployed
                              ...or states as a template/alias/var:    reason: uneditable
                              ...or deploys twice, differently:        reason: ambiguous
  --app-repo REPO             Refuse when --to deploys a newer commit of REPO than --from
                              (reason: downgrade); the pull request lists the commits between.
  --allow-downgrade           Roll back on purpose.
  --pin-digest                Resolve each tag's digest in the registry and write it pinned, so
                              --to runs the exact bytes, even if the tag moves later.
                              An unknown tag:                          reason: tag-unknown
  --username, --password-env VAR, --password-stdin, --gcp-key-env VAR
                              The registry login for --pin-digest, as build-and-push-image takes
                              it; without one, the docker config's logins (docker login) are used.

Repository and pull request (as create-release-pr):
  --repo OWNER/NAME|URL|PATH  The manifest repository. Without it, --from and --to are local paths.
  --base BRANCH, --host github|gitlab|git, --token-env NAME, --github-url URL, --gitlab-url URL,
  --api graphql|rest|auto, --ssh-key PATH, --mode pull-request|push
  --branch TEMPLATE           Default "${DEFAULT_PROMOTE_BRANCH_TEMPLATE}".
  --title TEMPLATE            Default "${DEFAULT_PROMOTE_TITLE_TEMPLATE}".
  --commit-message TEMPLATE   Default: the title. Templates know {from} {to} {sha} {app} {tag}
                              {image} {base}; {sha} is the promoted tag.
  --label, --reviewer, --team-reviewer, --assignee, --draft, --auto-merge, --merge-method
  --close-superseded          Close older open promotions into the same environment.
  --pipeline-url URL          The run that asked, linked from the pull request (default: from
                              GITHUB_RUN_ID, CIRCLE_BUILD_URL or CI_JOB_URL).
  --dry-run                   Read and plan only: print the diff and the pull request.
  --json                      Print the result (or the refusal) as JSON on stdout.

Results (exit 0): created, updated, pushed, unchanged (--to already deploys it); in a local
checkout promoted, would-promote (--dry-run) or unchanged. A refusal or an error exits 1; wrong
usage exits 2.

Examples:
  # After the staging tests pass and a person approved: production gets what staging ran
  GITHUB_TOKEN=... gitops-release promote --repo my-org/manifests \\
    --from overlays/staging --to overlays/production \\
    --expect ghcr.io/my-org/web:\${GITHUB_SHA::7} --app-repo my-org/web --pin-digest

  # Any git remote; a local checkout
  gitops-release promote --repo https://git.example.com/ops/manifests.git --host git \\
    --token-env GIT_TOKEN --from env/staging/values.yaml --to env/prod/values.yaml
  gitops-release promote --from overlays/staging --to overlays/production --dry-run
`;

const options = {
  ...hostOptionSpec,
  ...pullRequestOptionSpec,
  from: { type: 'string', multiple: true },
  to: { type: 'string', multiple: true },
  image: { type: 'string', multiple: true },
  expect: { type: 'string', multiple: true },
  'from-name': { type: 'string' },
  'to-name': { type: 'string' },
  'pin-digest': { type: 'boolean' },
  username: { type: 'string' },
  'password-env': { type: 'string' },
  'password-stdin': { type: 'boolean' },
  'gcp-key-env': { type: 'string' },
  'pipeline-url': { type: 'string' },
} as const;

/** The CI run that asked for the promotion, from the CI's own variables. */
export function pipelineUrl(env: Io['env']): string | undefined {
  const { GITHUB_SERVER_URL, GITHUB_REPOSITORY, GITHUB_RUN_ID, CIRCLE_BUILD_URL, CI_JOB_URL } = env;
  if (GITHUB_REPOSITORY && GITHUB_RUN_ID)
    return `${GITHUB_SERVER_URL ?? 'https://github.com'}/${GITHUB_REPOSITORY}/actions/runs/${GITHUB_RUN_ID}`;
  return CIRCLE_BUILD_URL || CI_JOB_URL || undefined;
}

function references(args: ParsedArgs, name: string, io: Io): ImageReference[] {
  return listOption(args, name).map((given) => {
    const v = lowercaseImageName(given);
    if (v !== given)
      io.stderr(
        `notice: --${name} "${given}" has upper-case letters, which registries refuse in an image name: using "${v}"\n`,
      );
    try {
      return parseImageReference(v, `--${name}`);
    } catch (err) {
      // A malformed flag value is wrong usage (exit 2).
      if (err instanceof InvalidImageReferenceError)
        throw new UsageError(err.message, { input: `--${name}`, cause: err });
      throw err;
    }
  });
}

/** What core's promote is asked: every flag the command reads, with its value. */
export function promotionRequest(args: ParsedArgs, io: Io): PromotionRequest {
  const request: PromotionRequest = {
    ...pullRequestFields(args),
    from: listOption(args, 'from'),
    to: listOption(args, 'to'),
  };
  if (request.from.length === 0) throw new UsageError('--from is required', { input: '--from' });
  if (request.to.length === 0) throw new UsageError('--to is required', { input: '--to' });
  const images = references(args, 'image', io);
  if (images.length) request.images = images;
  const expect = references(args, 'expect', io);
  if (expect.length) request.expect = expect;
  const fromName = stringOption(args, 'from-name');
  if (fromName) request.fromName = fromName;
  const toName = stringOption(args, 'to-name');
  if (toName) request.toName = toName;
  const url = stringOption(args, 'pipeline-url') ?? pipelineUrl(io.env);
  if (url) request.pipelineUrl = url;
  if (flag(args, 'pin-digest')) request.pinDigest = true;
  return request;
}

/**
 * The registry client of build-and-push-image for --pin-digest. The login flags log in to one
 * registry: the first one asked; another registry gets the docker config's login, never ours.
 */
async function pinningRegistry(args: ParsedArgs, io: Io, secrets: string[]): Promise<Registry> {
  const userConfigDir = io.env.DOCKER_CONFIG || (io.env.HOME ? join(io.env.HOME, '.docker') : '');
  const dockerLogins = userConfigDir ? await readDockerLogins(userConfigDir) : new Map();
  let login: Promise<{ host: string; credentials: RegistryCredentials | undefined }> | undefined;
  const clients = new Map<string, RegistryClient>();
  const clientFor = async (location: { registry?: string; repository: string }) => {
    const host = apiLocation(location.registry, location.repository).shown;
    login ??= readLogin(args, io, host).then((credentials) => {
      if (credentials) secrets.push(credentials.password);
      return { host, credentials };
    });
    const ours = await login;
    let client = clients.get(host);
    if (!client) {
      const credentials = ours.host === host ? ours.credentials : undefined;
      client = new RegistryClient({
        fetch: globalThis.fetch,
        credentials: (h) => (h === host && credentials ? credentials : dockerLogins.get(h)),
      });
      clients.set(host, client);
    }
    return client;
  };
  return {
    tagDigest: async (location) => (await clientFor(location)).tagDigest(location),
    checkAccess: async (location) => (await clientFor(location)).checkAccess(location),
  };
}

function toJson(result: PromotionResult): Record<string, unknown> {
  const { edits: _edits, body, ...rest } = result;
  return result.dryRun && body !== undefined ? { ...rest, body } : rest;
}

/** A path that is not there is an unknown environment: say which flag named it. */
function localPathError(err: unknown, input: string): unknown {
  return err instanceof PathError
    ? new PathError(`${input} ${err.message}`, { input, cause: err })
    : err;
}

async function promoteLocal(
  request: PromotionRequest,
  args: ParsedArgs,
  io: Io,
  registry: Registry | undefined,
): Promise<number> {
  if (request.appRepository)
    throw new UsageError('--app-repo needs --repo (the order of commits is read from the host)', {
      input: '--app-repo',
    });
  const paths = checkEnvironmentPaths(request.from, request.to);
  const fromFiles = await readManifestFiles(paths.from, io.cwd).catch((e) => {
    throw localPathError(e, '--from');
  });
  const toFiles = await readManifestFiles(paths.to, io.cwd).catch((e) => {
    throw localPathError(e, '--to');
  });
  const planned = await planPromotion(fromFiles, toFiles, request, registry);
  const dryRun = request.dryRun === true;
  if (!dryRun && planned.edits.edits.length) {
    await writeFilesAtomically(
      planned.edits.edits.map((e) => ({ path: e.path, before: e.before, after: e.after })),
      io.cwd,
    );
  }
  const promoted = planned.promoted.map((c) => ({
    name: imageName(c.image),
    from: c.toValues,
    to: formatImageReference(c.image),
  }));
  const result = promoted.length ? (dryRun ? 'would-promote' : 'promoted') : 'unchanged';
  if (flag(args, 'json')) {
    const changes = planned.edits.edits.flatMap((e) =>
      e.changes.map((c) => ({ file: e.path, line: c.line, from: c.from, to: c.to })),
    );
    io.stdout(`${JSON.stringify({ result, dryRun, promoted, changes }, null, 2)}\n`);
    return 0;
  }
  if (dryRun)
    for (const e of planned.edits.edits) io.stdout(unifiedDiff(e.path, e.before, e.after));
  if (!promoted.length) io.stdout('unchanged: --to already deploys what --from deploys\n');
  for (const p of promoted)
    io.stdout(
      `${result}: ${p.name}: ${p.from.join(', ')} -> ${p.to}${dryRun ? ' (dry run: nothing written)' : ''}\n`,
    );
  return 0;
}

export const promoteCommand: Command = {
  name: 'promote',
  summary: 'Promote the image one environment runs into another, by pull request or push',
  help,
  options,
  async run(args, io) {
    const json = flag(args, 'json');
    const secrets: string[] = [];
    const request = promotionRequest(args, io);
    const pin = request.pinDigest === true;
    if (
      !pin &&
      ['username', 'password-env', 'password-stdin', 'gcp-key-env'].some(
        (n) => args.values[n] !== undefined,
      )
    )
      throw new UsageError('a registry login is only used with --pin-digest', {
        input: '--pin-digest',
      });
    const registry = pin ? await pinningRegistry(args, io, secrets) : undefined;

    try {
      const repo = stringOption(args, 'repo');
      if (!repo) return await promoteLocal(request, args, io, registry);
      const { host, dispose, log } = await openHost(args, io, repo, secrets);
      let result: PromotionResult;
      try {
        result = await promote(request, host, { log, ...(registry ? { registry } : {}) });
      } finally {
        await dispose();
      }
      if (result.dryRun && !json) {
        for (const edit of result.edits) io.stdout(unifiedDiff(edit.path, edit.before, edit.after));
        if (result.title)
          io.stdout(
            `\nPull request ${result.branch} → ${result.base}: ${result.title}\n\n${result.body ?? ''}\n`,
          );
      }
      if (json) io.stdout(`${JSON.stringify(toJson(result), null, 2)}\n`);
      else io.stdout(`${result.result}: ${result.message}\n`);
      return 0;
    } catch (err) {
      if (json && err instanceof PromotionRefusedError) {
        const message = secrets.length ? redact(err.message, secrets) : err.message;
        io.stdout(
          `${JSON.stringify({ result: 'refused', reason: err.reason, message }, null, 2)}\n`,
        );
      }
      if (err instanceof GitopsReleaseError && secrets.length && err.message) {
        err.message = redact(err.message, secrets);
      }
      throw err;
    }
  },
};
