import { UsageError } from '../errors.js';
import type { GitIdentity } from './host.js';

type Env = Readonly<Record<string, string | undefined>>;

/** `Name <email>`, as git and peter-evans/create-pull-request write an identity. */
export function parseIdentity(text: string, input: string): GitIdentity {
  const m = text.trim().match(/^([^<>]*?)\s*<([^<>]*)>$/);
  const name = m?.[1]?.trim();
  if (!m || !name)
    throw new UsageError(`${input} must be "Name <email>", got "${text}"`, { input });
  return { name, email: m[2]!.trim() };
}

function fromVariables(env: Env, who: 'AUTHOR' | 'COMMITTER'): GitIdentity | undefined {
  const name = env[`GIT_${who}_NAME`]?.trim();
  const email = env[`GIT_${who}_EMAIL`]?.trim();
  return name && email !== undefined ? { name, email } : undefined;
}

/**
 * The user the CI run is for, with the address that really is theirs: on GitHub Actions the
 * actor's noreply address (`ID+LOGIN@users.noreply.github.com`, GitHub's documented form, the
 * same default peter-evans/create-pull-request uses); on GitLab the user's own address. CircleCI
 * and Jenkins give no address, so none is made up for them.
 */
export function ciUser(env: Env): GitIdentity | undefined {
  const actor = env.GITHUB_ACTOR?.trim();
  const id = env.GITHUB_ACTOR_ID?.trim();
  if (actor && id && /^\d+$/.test(id)) {
    const server = (env.GITHUB_SERVER_URL ?? 'https://github.com').replace(/\/+$/, '');
    // The noreply domain is github.com's; on GitHub Enterprise it is the server's own host.
    const host = server === 'https://github.com' ? 'github.com' : new URL(server).host;
    return { name: actor, email: `${id}+${actor}@users.noreply.${host}` };
  }
  const name = env.GITLAB_USER_NAME?.trim();
  const email = env.GITLAB_USER_EMAIL?.trim();
  if (name && email) return { name, email };
  return undefined;
}

export interface CommitIdentities {
  author?: GitIdentity;
  committer?: GitIdentity;
}

/**
 * Author and committer of the release commit: `--author`/`--committer` as given, else git's own
 * GIT_AUTHOR_* / GIT_COMMITTER_* variables, else (when `useCiUser`) the CI's user; the committer
 * defaults to the author. Undefined means the host's own identity (a GitHub token's, signed).
 */
export function commitIdentities(
  given: { author?: string; committer?: string },
  env: Env,
  options: { useCiUser: boolean; authorInput?: string; committerInput?: string },
): CommitIdentities {
  const author =
    (given.author ? parseIdentity(given.author, options.authorInput ?? '--author') : undefined) ??
    fromVariables(env, 'AUTHOR') ??
    (options.useCiUser ? ciUser(env) : undefined);
  const committer =
    (given.committer
      ? parseIdentity(given.committer, options.committerInput ?? '--committer')
      : undefined) ??
    fromVariables(env, 'COMMITTER') ??
    author;
  return {
    ...(author ? { author } : {}),
    ...(committer ? { committer } : {}),
  };
}
