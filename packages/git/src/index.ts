import { execFile } from 'node:child_process';
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import {
  type CommitComparison,
  type CommitRequest,
  type CommitResult,
  type CompareRequest,
  decodeManifestText,
  GitCommandError,
  type GitHost,
  HostAuthenticationError,
  HostNotFoundError,
  HostPermissionError,
  PathError,
  type ReadRequest,
  ReleaseConflictError,
  type RepositorySnapshot,
} from '@gitops-release/core';

export interface GitHostOptions {
  /** An HTTPS or SSH URL, a `file://` URL, or a local path to a repository. */
  remote: string;
  /** For HTTPS: sent as an `http.extraHeader` through the environment, never in a URL or argv. */
  token?: string;
  /** For SSH: the private key, used through GIT_SSH_COMMAND. */
  sshKeyPath?: string;
  /** Where the temporary clone goes; default the OS temp dir. */
  tempRoot?: string;
  /**
   * The commit author (and committer) when a commit names none; default `gitops-release <>`: no
   * address rather than a made-up one that may belong to somebody's real account.
   */
  author?: { name: string; email: string };
  /** The environment git runs with (PATH, HOME, proxies); default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Resolves a local path remote; default process.cwd(). */
  cwd?: string;
}

export interface DisposableGitHost extends GitHost {
  /** Removes the temporary clone. */
  dispose(): Promise<void>;
  /** How many git commands talked to the remote (ls-remote, fetch, push). */
  readonly remoteCalls: number;
}

type ManifestFile = RepositorySnapshot['files'][number];

const MANIFEST = /\.ya?ml$/;

/** The remote with any user:password@ removed, for messages. */
export function redactRemote(remote: string): string {
  return remote.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, '$1');
}

function isUrl(remote: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(remote) || /^[^/\s]+@[^:\s]+:/.test(remote);
}

/** A page where a person opens the pull request (or merge request) for a pushed branch. */
export function compareUrlFor(remote: string, base: string, branch: string): string | undefined {
  const m = redactRemote(remote).match(
    /^(?:https?:\/\/|ssh:\/\/git@|git@)(github\.com|gitlab\.com)[/:](.+?)(?:\.git)?\/?$/,
  );
  if (!m) return undefined;
  const [, host, path] = m;
  if (host === 'github.com') {
    return `https://github.com/${path}/compare/${encodeURIComponent(base)}...${encodeURIComponent(branch)}?expand=1`;
  }
  const q = new URLSearchParams({
    'merge_request[source_branch]': branch,
    'merge_request[target_branch]': base,
  });
  return `https://gitlab.com/${path}/-/merge_requests/new?${q}`;
}

/**
 * A GitHost on the git command line: one temporary repository per host, fetched shallow (depth 1)
 * and blobless, with only the target files' blobs fetched; commits are built with plumbing and
 * pushed with --force-with-lease, so a moved branch is refused and the flow re-reads and retries.
 */
/** The GIT_AUTHOR_* / GIT_COMMITTER_* of one commit; the committer defaults to the author. */
function identityEnv(
  author: { name: string; email: string } | undefined,
  committer: { name: string; email: string } | undefined,
): Record<string, string> {
  const env: Record<string, string> = {};
  if (author) Object.assign(env, { GIT_AUTHOR_NAME: author.name, GIT_AUTHOR_EMAIL: author.email });
  const c = committer ?? author;
  if (c) Object.assign(env, { GIT_COMMITTER_NAME: c.name, GIT_COMMITTER_EMAIL: c.email });
  return env;
}

export async function createGitHost(options: GitHostOptions): Promise<DisposableGitHost> {
  const remote = isUrl(options.remote)
    ? options.remote
    : `file://${resolve(options.cwd ?? process.cwd(), options.remote)}`;
  const shown = redactRemote(isUrl(options.remote) ? options.remote : options.remote);
  const dir = await mkdtemp(join(options.tempRoot ?? tmpdir(), 'gitops-release-'));
  const secrets = options.token
    ? [options.token, Buffer.from(`x-access-token:${options.token}`).toString('base64')]
    : [];
  const baseEnv = options.env ?? process.env;
  const author = options.author ?? { name: 'gitops-release', email: '' };
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(baseEnv)) {
    if (v !== undefined && !k.startsWith('GIT_CONFIG')) env[k] = v;
  }
  Object.assign(env, {
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: author.name,
    GIT_AUTHOR_EMAIL: author.email,
    GIT_COMMITTER_NAME: author.name,
    GIT_COMMITTER_EMAIL: author.email,
    LC_ALL: 'C',
  });
  const config: [string, string][] = [['protocol.version', '2']];
  if (options.token) {
    // Through GIT_CONFIG_* so the header is in no URL, argv or .git/config that could be printed;
    // scoped to the manifest remote's origin so it never goes to another host.
    const origin = remote.match(/^(https?:\/\/[^/]+)\//i)?.[1];
    config.push([
      origin ? `http.${origin}/.extraHeader` : 'http.extraHeader',
      `Authorization: Basic ${Buffer.from(`x-access-token:${options.token}`).toString('base64')}`,
    ]);
  }
  env.GIT_CONFIG_COUNT = String(config.length);
  config.forEach(([k, v], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = k;
    env[`GIT_CONFIG_VALUE_${i}`] = v;
  });
  if (options.sshKeyPath) {
    const key = isAbsolute(options.sshKeyPath)
      ? options.sshKeyPath
      : resolve(options.cwd ?? process.cwd(), options.sshKeyPath);
    env.GIT_SSH_COMMAND = `ssh -i '${key.replace(/'/g, "'\\''")}' -o IdentitiesOnly=yes -o BatchMode=yes`;
  }

  let remoteCalls = 0;
  const fetchedBlobs = new Set<string>();
  /** File modes as read, so a commit keeps an executable bit or a symlink type. */
  const modes = new Map<string, string>();
  const redact = (text: string) => secrets.reduce((t, s) => t.split(s).join('***'), text);

  function git(
    args: string[],
    opts: { input?: string; remote?: boolean; extraEnv?: Record<string, string> } = {},
  ): Promise<string> {
    if (opts.remote) remoteCalls++;
    return new Promise((resolvePromise, reject) => {
      const child = execFile(
        'git',
        args,
        {
          cwd: dir,
          env: opts.extraEnv ? { ...env, ...opts.extraEnv } : env,
          maxBuffer: 256 * 1024 * 1024,
          encoding: 'utf8',
        },
        (err, stdout, stderr) => {
          // push --porcelain says why a ref was rejected on stdout.
          if (err) reject(gitError(args, redact(`${stderr || err.message}${stdout}`), err.code));
          else resolvePromise(stdout);
        },
      );
      if (opts.input !== undefined) child.stdin?.end(opts.input);
    });
  }

  function gitBuffer(args: string[], input: string): Promise<Buffer> {
    return new Promise((resolvePromise, reject) => {
      const child = execFile(
        'git',
        args,
        { cwd: dir, env, maxBuffer: 256 * 1024 * 1024, encoding: 'buffer' },
        (err, stdout, stderr) => {
          if (err) reject(gitError(args, redact(`${stderr.toString() || err.message}`), err.code));
          else resolvePromise(stdout);
        },
      );
      child.stdin?.end(input);
    });
  }

  function gitError(args: string[], stderr: string, exit: unknown): Error {
    const what = `git ${args[0]} ${shown}`;
    const text = stderr.trim();
    if (/401|Authentication failed|could not read Username|invalid credentials/i.test(text)) {
      return new HostAuthenticationError(
        `${what}: the remote refused the credentials (HTTP 401). Check that the token (--token-env) is set, not expired, and allowed to read and push to this repository.\n${text}`,
        { input: 'token-env' },
      );
    }
    if (/403|Permission to .* denied|permission denied/i.test(text)) {
      return new HostPermissionError(
        `${what}: the credentials may not do this (HTTP 403). The token or deploy key needs write access (push) to the repository.\n${text}`,
        { input: 'token-env' },
      );
    }
    if (
      /repository .* not found|not found|does not appear to be a git repository|404/i.test(text)
    ) {
      return new HostNotFoundError(
        `${what}: the repository was not found, or the credentials cannot see it. Check --repo and that the token has access to it.\n${text}`,
        { input: 'repo' },
      );
    }
    return new GitCommandError(`${what} failed (exit ${String(exit)}): ${text}`);
  }

  await git(['init', '-q', '--bare']);
  // A promisor remote: blobs are fetched only when read, so history and other files never come.
  // Written straight into the config file: three `git config` processes fewer per release.
  const quoted = (v: string) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  await appendFile(
    join(dir, 'config'),
    `[remote "origin"]\n\turl = ${quoted(remote)}\n\tpromisor = true\n\tpartialclonefilter = blob:none\n`,
  );

  async function listRemote(base: string | undefined, branch: string | undefined) {
    const patterns = ['HEAD'];
    if (base) patterns.push(`refs/heads/${base}`);
    if (branch) patterns.push(`refs/heads/${branch}`);
    const out = await git(['ls-remote', '--symref', 'origin', ...patterns], { remote: true });
    let defaultBranch: string | undefined;
    const heads = new Map<string, string>();
    for (const line of out.split('\n')) {
      const sym = line.match(/^ref: refs\/heads\/(\S+)\tHEAD$/);
      if (sym) defaultBranch = sym[1];
      const ref = line.match(/^([0-9a-f]{40,64})\trefs\/heads\/(\S+)$/);
      if (ref) heads.set(ref[2]!, ref[1]!);
    }
    return { defaultBranch, heads };
  }

  async function treeFiles(sha: string, paths: string[], where: string): Promise<ManifestFile[]> {
    const files: ManifestFile[] = [];
    const seen = new Set<string>();
    const oids: string[] = [];
    for (const given of paths) {
      const clean = given.replace(/^\.\/+/, '').replace(/\/+$/, '');
      const out = await git(['ls-tree', '-r', '-z', '--full-tree', sha, '--', clean || '.']);
      const entries = out
        .split('\0')
        .filter(Boolean)
        .map((line) => {
          const [meta, path] = line.split('\t') as [string, string];
          const [mode, type, oid] = meta.split(' ') as [string, string, string];
          return { mode, type, oid, path };
        })
        .filter((e) => e.type === 'blob');
      const exact = entries.find((e) => e.path === clean);
      const chosen = exact ? [exact] : entries.filter((e) => MANIFEST.test(e.path));
      if (chosen.length === 0) {
        throw new PathError(
          `${given}: no such file, or no *.yaml / *.yml below it, in ${shown} at ${where}`,
          { input: 'path' },
        );
      }
      for (const e of chosen) {
        if (seen.has(e.path)) continue;
        seen.add(e.path);
        oids.push(e.oid);
        files.push({ path: e.path, text: e.oid });
        modes.set(e.path, e.mode);
      }
    }
    if (oids.length === 0) return files;
    // One batched fetch of the blobs not fetched yet, instead of one lazy fetch per blob.
    const need = [...new Set(oids)].filter((o) => !fetchedBlobs.has(o));
    if (need.length) {
      await git(
        [
          '-c',
          'fetch.negotiationAlgorithm=noop',
          'fetch',
          '-q',
          '--no-tags',
          '--no-write-fetch-head',
          '--filter=blob:none',
          'origin',
          ...need,
        ],
        { remote: true },
      );
      for (const o of need) fetchedBlobs.add(o);
    }
    // All texts from one `cat-file --batch`: `<oid> blob <size>\n<bytes>\n` per object.
    const batch = await gitBuffer(
      ['cat-file', '--batch'],
      `${files.map((f) => f.text).join('\n')}\n`,
    );
    let at = 0;
    for (const f of files) {
      const eol = batch.indexOf(10, at);
      const header = batch.subarray(at, eol).toString('latin1').split(' ');
      const size = Number(header[2]);
      if (header[1] !== 'blob' || !Number.isFinite(size)) {
        throw new GitCommandError(`git cat-file could not read ${f.path} (${header.join(' ')})`);
      }
      f.text = decodeManifestText(batch.subarray(eol + 1, eol + 1 + size), f.path);
      at = eol + 1 + size + 1;
    }
    return files;
  }

  let fetchedOnce = false;
  const appFetched = new Set<string>();

  const host: DisposableGitHost = {
    kind: 'git',
    repository: shown,
    supportsPullRequests: false,
    get remoteCalls() {
      return remoteCalls;
    },

    async read(request: ReadRequest): Promise<RepositorySnapshot> {
      const listed = await listRemote(request.base, request.branch);
      const defaultBranch = listed.defaultBranch ?? request.base ?? 'main';
      const base = request.base ?? defaultBranch;
      if (!listed.heads.has(base) && request.base === undefined && !listed.defaultBranch) {
        throw new HostNotFoundError(`${shown} has no default branch (HEAD); pass --base`, {
          input: 'base',
        });
      }
      if (!listed.heads.has(base)) {
        const again = request.base ? listed : await listRemote(base, request.branch);
        if (!again.heads.has(base)) {
          throw new HostNotFoundError(`${shown} has no branch "${base}"; check --base`, {
            input: 'base',
          });
        }
        for (const [k, v] of again.heads) listed.heads.set(k, v);
      }
      const refspecs = [`+refs/heads/${base}:refs/remotes/origin/${base}`];
      const hasBranch = request.branch !== undefined && listed.heads.has(request.branch);
      if (hasBranch)
        refspecs.push(`+refs/heads/${request.branch}:refs/remotes/origin/${request.branch}`);
      await git(
        ['fetch', '-q', '--no-tags', '--depth=1', '--filter=blob:none', 'origin', ...refspecs],
        {
          remote: true,
        },
      );
      fetchedOnce = true;
      const baseSha = (await git(['rev-parse', `refs/remotes/origin/${base}`])).trim();
      const snapshot: RepositorySnapshot = {
        defaultBranch,
        base: { name: base, sha: baseSha },
        files: await treeFiles(baseSha, request.paths, base),
      };
      if (hasBranch) {
        const sha = (await git(['rev-parse', `refs/remotes/origin/${request.branch}`])).trim();
        const files = await treeFiles(sha, request.paths, request.branch!).catch(() => []);
        const commit = await git(['cat-file', 'commit', sha]);
        const parents = [...commit.matchAll(/^parent ([0-9a-f]+)$/gm)].map((m) => m[1]!);
        snapshot.branch = { name: request.branch!, sha, files, parents };
      }
      return snapshot;
    },

    async commit(request: CommitRequest): Promise<CommitResult> {
      if (!fetchedOnce)
        throw new GitCommandError('commit before read: the release flow reads first');
      const index = join(dir, `index-${process.pid}-${Date.now()}`);
      const indexEnv = { GIT_INDEX_FILE: index };
      try {
        // A private index built from the parent's tree: other files' blobs are never needed.
        await git(['read-tree', request.parent], { extraEnv: indexEnv });
        for (const file of request.files) {
          const oid = (await git(['hash-object', '-w', '--stdin'], { input: file.text })).trim();
          const mode = modes.get(file.path) ?? '100644';
          await git(['update-index', '--add', '--cacheinfo', `${mode},${oid},${file.path}`], {
            extraEnv: indexEnv,
          });
        }
        const tree = (await git(['write-tree'], { extraEnv: indexEnv })).trim();
        const sha = (
          await git(['commit-tree', tree, '-p', request.parent, '-F', '-'], {
            input: `${request.message}\n`,
            extraEnv: identityEnv(request.author ?? request.committer, request.committer),
          })
        ).trim();
        const lease = `--force-with-lease=refs/heads/${request.branch}:${request.observed ?? ''}`;
        try {
          await git(
            ['push', '-q', '--porcelain', lease, 'origin', `${sha}:refs/heads/${request.branch}`],
            {
              remote: true,
            },
          );
        } catch (err) {
          const text = err instanceof Error ? err.message : String(err);
          // The branch moved (the lease or a concurrent push): re-read and retry.
          if (
            /stale info|non-fast-forward|fetch first|failed to update ref|cannot lock ref/i.test(
              text,
            )
          ) {
            throw new ReleaseConflictError(request.branch, 'the push was rejected', err);
          }
          // Refused for good (a protected branch, a hook): retrying cannot help.
          if (/remote rejected|hook declined|protected/i.test(text)) {
            throw new HostPermissionError(
              `${shown} refused the push to ${request.branch}: ${redact(text).trim()}\nThe branch is protected or a server hook refused it: allow this token or key to push there, or use --mode pull-request.`,
              { input: 'mode' },
            );
          }
          throw err;
        }
        return { sha };
      } finally {
        await rm(index, { force: true });
      }
    },

    async compareCommits(request: CompareRequest): Promise<CommitComparison | undefined> {
      // The application repository's commits only (no trees, no blobs), to order the two tags.
      const appDir = join(dir, 'app.git');
      const appRemote = isUrl(request.repository)
        ? request.repository
        : `file://${resolve(options.cwd ?? process.cwd(), request.repository)}`;
      if (!appFetched.has(appRemote)) {
        await git(['init', '-q', '--bare', appDir]);
        for (const [k, v] of [
          ['remote.app.url', appRemote],
          ['remote.app.promisor', 'true'],
          ['remote.app.partialclonefilter', 'tree:0'],
        ] as const) {
          await git(['--git-dir', appDir, 'config', k, v]);
        }
        await git(
          [
            '--git-dir',
            appDir,
            'fetch',
            '-q',
            '--no-tags',
            '--filter=tree:0',
            'app',
            '+refs/heads/*:refs/remotes/app/*',
          ],
          { remote: true },
        );
        appFetched.add(appRemote);
      }
      const commit = async (rev: string) =>
        (
          await git([
            '--git-dir',
            appDir,
            'rev-parse',
            '--verify',
            '--quiet',
            `${rev}^{commit}`,
          ]).catch(() => '')
        ).trim();
      const base = await commit(request.base);
      const head = await commit(request.head);
      if (!base || !head) return undefined;
      const isAncestor = (a: string, b: string) =>
        git(['--git-dir', appDir, 'merge-base', '--is-ancestor', a, b]).then(
          () => true,
          () => false,
        );
      let status: CommitComparison['status'];
      if (base === head) status = 'identical';
      else if (await isAncestor(head, base)) status = 'behind';
      else if (await isAncestor(base, head)) status = 'ahead';
      else status = 'diverged';
      const out =
        status === 'ahead' || status === 'diverged'
          ? await git(['--git-dir', appDir, 'log', '--format=%H%x00%an%x00%s', `${base}..${head}`])
          : '';
      const commits = out
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          const [sha, author, message] = line.split('\0') as [string, string, string];
          return { sha, author, message };
        });
      return { status, commits };
    },

    compareUrl(base: string, branch: string) {
      return compareUrlFor(options.remote, base, branch);
    },

    async dispose() {
      await rm(dir, { recursive: true, force: true });
    },
  };
  return host;
}
