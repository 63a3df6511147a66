import { join } from 'node:path';
import {
  type PromotionRequest,
  type PromotionResult,
  parseImageReference,
  promote,
  type Registry,
} from '@gitops-release/core';
import { apiLocation, RegistryClient, readDockerLogins } from '@gitops-release/image';
import type { Env, PromoteInputs } from '../inputs.js';
import type { CommandRunner } from '../main.js';
import { code, text } from '../markdown.js';
import { loginFor } from './build.js';
import { inputsOfGitHost, openHost } from './release.js';

// promote: core's promote over the same hosts as create_release_pr; the registry login for
// pin-digest is taken as build_and_push_image takes it (username/password, gcp-key, GHCR token).

function pipelineUrl(env: Env): string | undefined {
  const { GITHUB_SERVER_URL, GITHUB_REPOSITORY, GITHUB_RUN_ID } = env;
  return GITHUB_REPOSITORY && GITHUB_RUN_ID
    ? `${GITHUB_SERVER_URL || 'https://github.com'}/${GITHUB_REPOSITORY}/actions/runs/${GITHUB_RUN_ID}`
    : undefined;
}

/** The registry client of build_and_push_image: our login for the images' registry, else docker's. */
async function pinningRegistry(inputs: PromoteInputs, env: Env): Promise<Registry> {
  const configDir = env.DOCKER_CONFIG || (env.HOME ? join(env.HOME, '.docker') : '');
  const dockerLogins = configDir ? await readDockerLogins(configDir) : new Map();
  const clients = new Map<string, RegistryClient>();
  const clientFor = async (location: { registry?: string; repository: string }) => {
    const host = apiLocation(location.registry, location.repository).shown;
    let client = clients.get(host);
    if (!client) {
      const login = (await loginFor(inputs, env, host)) ?? dockerLogins.get(host);
      client = new RegistryClient({ fetch: globalThis.fetch, credentials: () => login });
      clients.set(host, client);
    }
    return client;
  };
  return {
    tagDigest: async (location) => (await clientFor(location)).tagDigest(location),
    checkAccess: async (location) => (await clientFor(location)).checkAccess(location),
  };
}

function headline(r: PromotionResult): string {
  const pr = r.pullRequest ? `[#${r.pullRequest.number}](${r.pullRequest.url})` : '';
  const what = `${code(r.fromEnvironment)} → ${code(r.toEnvironment)}`;
  const dry = r.dryRun ? 'Dry run: would ' : '';
  switch (r.result) {
    case 'created':
      return r.dryRun ? `${dry}open the promotion ${what}` : `Promotion ${what}: ${pr} opened`;
    case 'updated':
      return `${dry}${r.dryRun ? 'update' : 'Updated'} the promotion ${what} ${pr}`;
    case 'pushed':
      return `${dry}${r.dryRun ? 'push' : 'Pushed'} the promotion ${what} to ${code(r.branch ?? r.base)}`;
    default:
      return `Nothing to promote: ${code(r.toEnvironment)} already deploys what ${code(r.fromEnvironment)} deploys`;
  }
}

function summary(r: PromotionResult): string {
  const lines = [`### ${headline(r)}`, ''];
  if (r.title) lines.push(`**${text(r.title)}**`, '');
  if (r.promoted.length > 0) {
    lines.push(`| Image | ${text(r.toEnvironment)} before | Promoted |`, '| --- | --- | --- |');
    for (const p of r.promoted)
      lines.push(`| ${code(p.name)} | ${p.from.map(code).join(', ')} | ${code(p.to)} |`);
    lines.push('');
  }
  lines.push(
    `- Read at ${code(r.readSha.slice(0, 7))} of ${code(r.base)} in ${code(r.repository)}`,
  );
  if (r.commitSha) lines.push(`- Commit: ${code(r.commitSha)}`);
  if (r.compareUrl) lines.push(`- Open the pull request: ${r.compareUrl}`);
  if (r.closedPullRequests.length > 0)
    lines.push(`- Closed as superseded: ${r.closedPullRequests.map((n) => `#${n}`).join(', ')}`);
  lines.push('');
  return lines.join('\n');
}

/** What core's promote is asked: every input the command reads, with its value. */
export function promoteRequest(inputs: PromoteInputs, env: Env): PromotionRequest {
  const url = pipelineUrl(env);
  // Core's messages name --from, --to, --expect…; the adapter's edge turns them into inputs.
  return {
    from: inputs.from,
    to: inputs.to,
    images: inputs.images.map((i: string) => parseImageReference(i, 'image')),
    expect: inputs.expect.map((i: string) => parseImageReference(i, 'expect')),
    pinDigest: inputs.pinDigest,
    base: inputs.base,
    mode: inputs.mode,
    branchTemplate: inputs.branch,
    titleTemplate: inputs.title,
    messageTemplate: inputs.commitMessage,
    labels: inputs.labels,
    reviewers: inputs.reviewers,
    teamReviewers: inputs.teamReviewers,
    assignees: inputs.assignees,
    draft: inputs.draft,
    autoMerge: inputs.autoMerge ? (inputs.mergeMethod ?? 'squash') : undefined,
    closeSuperseded: inputs.closeSuperseded,
    allowDowngrade: inputs.allowDowngrade,
    appRepository: inputs.host === 'github' ? inputs.appRepo : undefined,
    ...(url ? { pipelineUrl: url } : {}),
    dryRun: inputs.dryRun,
  };
}

export const promoteCommand: CommandRunner<PromoteInputs> = async (inputs, rt) => {
  const request = promoteRequest(inputs, rt.env);
  const registry = inputs.pinDigest ? await pinningRegistry(inputs, rt.env) : undefined;
  const { host, close } = await openHost(inputs, rt);
  try {
    const result = await rt.group(
      `Promote ${inputs.from.join(', ')} to ${inputs.to.join(', ')} in ${host.repository}`,
      () =>
        promote(request, host, { log: (line) => rt.info(line), ...(registry ? { registry } : {}) }),
    );
    return {
      outputs: {
        result: result.result,
        image: result.promoted.map((p) => p.to).join('\n'),
        'pull-request-number': result.pullRequest ? String(result.pullRequest.number) : '',
        'pull-request-url': result.pullRequest?.url ?? '',
        branch: result.branch ?? '',
        'commit-sha': result.commitSha ?? '',
        'changed-files': result.changedFiles.join('\n'),
      },
      summary: summary(result),
      message: result.message,
    };
  } catch (err) {
    throw inputsOfGitHost(err, inputs, rt.env);
  } finally {
    await close();
  }
};
