import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
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
import {
  LooseObjectWriter,
  parentDirs,
  parseTree,
  type TreeEntry,
  writeCommit,
} from './objects.js';
import { SmartHttpProtocolError, SmartHttpStatusError, UploadPackV2 } from './smart-http.js';

export interface GitHostOptions {
  /** An HTTPS or SSH URL, a `file://` URL, or a local path to a repository. */
  remote: string;
  /** For HTTPS: sent as an `http.extraHeader` through the environment, never in a URL or argv. */
  token?: string;
  /**
   * The user name the HTTPS token goes with (default `x-access-token`): GitLab takes
   * `gitlab-ci-token` for a job token, `oauth2` for an access token, a deploy token's own name.
   */
  httpUser?: string;
  /**
   * `git push -o` options sent with every push: GitLab's `merge_request.create`, `.target`, …
   * (https://docs.gitlab.com/topics/git/commit/#push-options), or any the remote understands.
   */
  pushOptions?: string[];
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

/**
 * Whether the fast path may talk to this remote itself: plain HTTP(S) without a proxy, a client
 * certificate or switched-off verification (git's settings). A CA bundle only git trusts makes
 * Node's request fail, and that falls back to the command line.
 */
function smartHttpEligible(remote: string, env: Readonly<Record<string, string | undefined>>) {
  if (!/^https?:\/\//i.test(remote)) return false;
  const tls = /^https:/i.test(remote);
  return !Object.keys(env).some(
    (k) =>
      /^(https?|all)_proxy$/i.test(k) ||
      (tls && ['GIT_SSL_NO_VERIFY', 'GIT_SSL_CERT', 'GIT_SSL_KEY'].includes(k)),
  );
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
export async function createGitHost(options: GitHostOptions): Promise<DisposableGitHost> {
  const remote = isUrl(options.remote)
    ? options.remote
    : `file://${resolve(options.cwd ?? process.cwd(), options.remote)}`;
  const shown = redactRemote(isUrl(options.remote) ? options.remote : options.remote);
  const dir = await mkdtemp(join(options.tempRoot ?? tmpdir(), 'gitops-release-'));
  const httpUser = options.httpUser ?? 'x-access-token';
  const secrets = options.token
    ? [options.token, Buffer.from(`${httpUser}:${options.token}`).toString('base64')]
    : [];
  const baseEnv = options.env ?? process.env;
  const pushOptions = (options.pushOptions ?? []).flatMap((o) => ['-o', o]);
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
      `Authorization: Basic ${Buffer.from(`${httpUser}:${options.token}`).toString('base64')}`,
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

  function gitBuffer(args: string[], input: string | Buffer): Promise<Buffer> {
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

  // The temporary bare repository, written directly rather than by `git init` (one process fewer).
  // Its remote is a promisor: blobs are fetched only when read, so history and other files never come.
  const quoted = (v: string) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  await Promise.all(
    ['objects/pack', 'objects/info', 'refs/heads', 'refs/tags'].map((d) =>
      mkdir(join(dir, d), { recursive: true }),
    ),
  );
  await writeFile(join(dir, 'HEAD'), 'ref: refs/heads/main\n');
  await writeFile(
    join(dir, 'config'),
    `[core]\n\trepositoryformatversion = 0\n\tbare = true\n[remote "origin"]\n\turl = ${quoted(remote)}\n\tpromisor = true\n\tpartialclonefilter = blob:none\n`,
  );

  // The fast path (smart HTTP v2 from Node) is for plain https:// and http:// remotes. Proxies,
  // custom TLS settings and credential helpers are git's business: those go through the command line.
  const fetchedCommits = new Set<string>();
  let upload: UploadPackV2 | undefined | null = smartHttpEligible(remote, baseEnv)
    ? null
    : undefined;

  async function smartHttp(): Promise<UploadPackV2 | undefined> {
    if (upload !== null) return upload;
    const url = new URL(remote);
    const headers: Record<string, string> = { 'User-Agent': 'git/2.0 (gitops-release)' };
    if (options.token) {
      headers.Authorization = `Basic ${Buffer.from(`${httpUser}:${options.token}`).toString('base64')}`;
    }
    const credentials = Boolean(options.token || url.username);
    if (!options.token && url.username) {
      const user = decodeURIComponent(url.username);
      const password = decodeURIComponent(url.password);
      secrets.push(password, Buffer.from(`${user}:${password}`).toString('base64'));
      headers.Authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    }
    url.username = '';
    url.password = '';
    remoteCalls++;
    try {
      upload = await UploadPackV2.connect(url.href.replace(/\/+$/, ''), headers);
    } catch (err) {
      // 401 without a token: a credential helper may know better. A CA only git trusts, a network
      // error, a server error: the command line either manages or says why in git's words.
      const refused = err instanceof SmartHttpStatusError && [401, 403, 404].includes(err.status);
      if (refused && (credentials || err.status !== 401)) rethrowHttp(err);
      upload = undefined;
    }
    return upload;
  }

  /** HTTP refusals as the same named errors the command line's messages map to. */
  function rethrowHttp(err: unknown): never {
    if (err instanceof SmartHttpStatusError) {
      throw gitError(['fetch'], redact(`HTTP ${err.status}: ${err.message}`), err.status);
    }
    if (err instanceof SmartHttpProtocolError) {
      throw new GitCommandError(`git fetch ${shown}: the server refused: ${redact(err.message)}`);
    }
    throw err;
  }

  /** Branch heads and the default branch; on the fast path from one `ls-refs`. */
  async function listRemote(base: string | undefined, branch: string | undefined) {
    const patterns = ['HEAD'];
    if (base) patterns.push(`refs/heads/${base}`);
    if (branch) patterns.push(`refs/heads/${branch}`);
    let defaultBranch: string | undefined;
    const heads = new Map<string, string>();
    const up = await smartHttp();
    if (up) {
      remoteCalls++;
      const { refs, symrefs } = await up.lsRefs(patterns).catch(rethrowHttp);
      for (const [name, oid] of refs) {
        const m = name.match(/^refs\/heads\/(.+)$/);
        if (m) heads.set(m[1]!, oid);
      }
      defaultBranch = symrefs.get('HEAD')?.match(/^refs\/heads\/(.+)$/)?.[1];
      const head = refs.get('HEAD');
      // HEAD's object is the default branch's head: no second listing to learn it.
      if (defaultBranch && head && !heads.has(defaultBranch)) heads.set(defaultBranch, head);
      return { defaultBranch, heads };
    }
    const out = await git(['ls-remote', '--symref', 'origin', ...patterns], { remote: true });
    for (const line of out.split('\n')) {
      const sym = line.match(/^ref: refs\/heads\/(\S+)\tHEAD$/);
      if (sym) defaultBranch = sym[1];
      const ref = line.match(/^([0-9a-f]{40,64})\trefs\/heads\/(\S+)$/);
      if (ref) heads.set(ref[2]!, ref[1]!);
    }
    return { defaultBranch, heads };
  }

  /**
   * The commits (depth 1) and their trees without blobs. On the fast path one `fetch` of the
   * commits not already here; else `git fetch` into remote-tracking refs.
   */
  async function fetchCommits(wanted: [name: string, sha: string][]): Promise<void> {
    const up = await smartHttp();
    if (up) {
      const missing = wanted.map(([, sha]) => sha).filter((sha) => !fetchedCommits.has(sha));
      if (missing.length === 0) return;
      remoteCalls++;
      const got = await up
        .fetchPack(['deepen 1', 'filter blob:none', ...missing.map((sha) => `want ${sha}`)])
        .catch(rethrowHttp);
      await storePack(got.pack, got.shallow);
      for (const sha of missing) fetchedCommits.add(sha);
      return;
    }
    const refspecs = wanted.map(([name]) => `+refs/heads/${name}:refs/remotes/origin/${name}`);
    await git(
      ['fetch', '-q', '--no-tags', '--depth=1', '--filter=blob:none', 'origin', ...refspecs],
      {
        remote: true,
      },
    );
    // What was fetched, which may be newer than what was listed.
    for (const entry of wanted) {
      entry[1] = (await git(['rev-parse', `refs/remotes/origin/${entry[0]}`])).trim();
    }
  }

  /** Writes a fetched pack into the object store, marked as from the promisor remote. */
  async function storePack(pack: Buffer, shallow: string[]): Promise<void> {
    if (pack.length > 0) {
      const out = (await gitBuffer(['index-pack', '--stdin'], pack)).toString('latin1');
      const name = out.match(/^(?:pack|keep)\t([0-9a-f]+)/)?.[1];
      if (!name) throw new GitCommandError(`git index-pack stored no pack (${out.trim()})`);
      // A .promisor pack: git may then miss the objects it references without complaint.
      await writeFile(join(dir, 'objects', 'pack', `pack-${name}.promisor`), '');
    }
    if (shallow.length > 0) {
      const file = join(dir, 'shallow');
      const known = await readFile(file, 'utf8').catch(() => '');
      const all = new Set([...known.split('\n').filter(Boolean), ...shallow]);
      await writeFile(file, `${[...all].join('\n')}\n`);
    }
  }

  /** The target files of a commit, with each file's blob id in `text` until readTexts. */
  async function listTargets(sha: string, paths: string[], where: string): Promise<ManifestFile[]> {
    const cleaned = paths.map((given) => given.replace(/^\.\/+/, '').replace(/\/+$/, ''));
    // One ls-tree for every path; each path then takes its exact file or the manifests below it.
    const out = await git([
      'ls-tree',
      '-r',
      '-z',
      '--full-tree',
      sha,
      '--',
      ...cleaned.map((c) => c || '.'),
    ]);
    const entries = out
      .split('\0')
      .filter(Boolean)
      .map((line) => {
        const [meta, path] = line.split('\t') as [string, string];
        const [mode, type, oid] = meta.split(' ') as [string, string, string];
        return { mode, type, oid, path };
      })
      .filter((e) => e.type === 'blob');
    const files: ManifestFile[] = [];
    const seen = new Set<string>();
    paths.forEach((given, i) => {
      const clean = cleaned[i]!;
      const exact = entries.find((e) => e.path === clean);
      const chosen = exact
        ? [exact]
        : entries.filter(
            (e) => (!clean || e.path.startsWith(`${clean}/`)) && MANIFEST.test(e.path),
          );
      if (chosen.length === 0) {
        throw new PathError(
          `${given}: no such file, or no *.yaml / *.yml below it, in ${shown} at ${where}`,
          { input: 'path' },
        );
      }
      for (const e of chosen) {
        if (seen.has(e.path)) continue;
        seen.add(e.path);
        files.push({ path: e.path, text: e.oid });
        modes.set(e.path, e.mode);
      }
    });
    return files;
  }

  /** One batched fetch of the blobs not fetched yet, instead of one lazy fetch per blob. */
  async function fetchBlobs(oids: string[]): Promise<void> {
    const need = [...new Set(oids)].filter((o) => !fetchedBlobs.has(o));
    if (need.length === 0) return;
    const up = await smartHttp();
    if (up) {
      remoteCalls++;
      const got = await up.fetchPack(need.map((o) => `want ${o}`)).catch(rethrowHttp);
      await storePack(got.pack, []);
    } else {
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
    }
    for (const o of need) fetchedBlobs.add(o);
  }

  /** Objects' bytes from one `cat-file --batch`: `<oid> <type> <size>\n<bytes>\n` per object. */
  async function readObjects(
    revs: string[],
    type: string,
    { missingOk = false } = {},
  ): Promise<(Buffer | undefined)[]> {
    if (revs.length === 0) return [];
    const batch = await gitBuffer(['cat-file', '--batch'], `${revs.join('\n')}\n`);
    const objects: (Buffer | undefined)[] = [];
    let at = 0;
    for (const rev of revs) {
      const eol = batch.indexOf(10, at);
      const header = batch.subarray(at, eol).toString('latin1').split(' ');
      if (missingOk && header.at(-1) === 'missing') {
        objects.push(undefined);
        at = eol + 1;
        continue;
      }
      const size = Number(header[2]);
      if (header[1] !== type || !Number.isFinite(size)) {
        throw new GitCommandError(`git cat-file could not read ${rev} (${header.join(' ')})`);
      }
      objects.push(batch.subarray(eol + 1, eol + 1 + size));
      at = eol + 1 + size + 1;
    }
    return objects;
  }

  async function readTexts(files: ManifestFile[]): Promise<void> {
    const texts = await readObjects(
      files.map((f) => f.text),
      'blob',
    );
    files.forEach((f, i) => {
      f.text = decodeManifestText(texts[i]!, f.path);
    });
  }

  /**
   * `git push` of one commit to a branch, leased on where the branch was read (absent: null), so a
   * branch that moved is refused. Push options (GitLab's merge_request.create, …) go in `extra`.
   */
  async function push(sha: string, branch: string, observed: string | null, extra: string[] = []) {
    const lease = `--force-with-lease=refs/heads/${branch}:${observed ?? ''}`;
    try {
      await git(
        [
          'push',
          '-q',
          '--porcelain',
          lease,
          ...extra,
          ...pushOptions,
          'origin',
          `${sha}:refs/heads/${branch}`,
        ],
        {
          remote: true,
        },
      );
    } catch (err) {
      const text = err instanceof Error ? err.message : String(err);
      // The branch moved (the lease or a concurrent push): re-read and retry.
      if (
        /stale info|non-fast-forward|fetch first|failed to update ref|cannot lock ref/i.test(text)
      ) {
        throw new ReleaseConflictError(branch, 'the push was rejected', err);
      }
      // Refused for good (a protected branch, a hook): retrying cannot help.
      if (/remote rejected|hook declined|protected/i.test(text)) {
        throw new HostPermissionError(
          `${shown} refused the push to ${branch}: ${redact(text).trim()}\nThe branch is protected or a server hook refused it: allow this token or key to push there, or use --mode pull-request.`,
          { input: 'mode' },
        );
      }
      throw err;
    }
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
      const wanted: [string, string][] = [[base, listed.heads.get(base)!]];
      const branchName = request.branch;
      const hasBranch = branchName !== undefined && listed.heads.has(branchName);
      if (hasBranch) wanted.push([branchName, listed.heads.get(branchName)!]);
      await fetchCommits(wanted);
      fetchedOnce = true;
      const baseSha = wanted[0]![1];
      const files = await listTargets(baseSha, request.paths, base);
      const branchSha = hasBranch ? wanted[1]![1] : undefined;
      const branchFiles = branchSha
        ? await listTargets(branchSha, request.paths, branchName!).catch(() => [])
        : [];
      await fetchBlobs([...files, ...branchFiles].map((f) => f.text));
      await readTexts([...files, ...branchFiles]);
      const snapshot: RepositorySnapshot = {
        defaultBranch,
        base: { name: base, sha: baseSha },
        files,
      };
      if (branchSha) {
        const [commit] = await readObjects([branchSha], 'commit');
        const parents = [...commit!.toString('utf8').matchAll(/^parent ([0-9a-f]+)$/gm)].map(
          (m) => m[1]!,
        );
        snapshot.branch = { name: branchName!, sha: branchSha, files: branchFiles, parents };
      }
      return snapshot;
    },
    async commit(request: CommitRequest): Promise<CommitResult> {
      if (!fetchedOnce)
        throw new GitCommandError('commit before read: the release flow reads first');
      // The parent's trees along the changed paths; the commit is then built in Node.
      const dirs = [...new Set(request.files.flatMap((f) => parentDirs(f.path)))];
      const found = await readObjects(
        dirs.map((d) => (d ? `${request.parent}:${d}` : `${request.parent}^{tree}`)),
        'tree',
        { missingOk: true },
      );
      const trees = new Map<string, TreeEntry[]>();
      dirs.forEach((d, i) => {
        const bytes = found[i];
        if (bytes) trees.set(d, parseTree(bytes));
      });
      const now = new Date();
      const sha = await writeCommit(new LooseObjectWriter(dir), {
        parent: request.parent,
        trees,
        files: request.files.map((f) => ({ ...f, mode: modes.get(f.path) ?? '100644' })),
        message: request.message,
        // The release's own identities when it names them (--author, GIT_AUTHOR_*, the CI user).
        author: request.author ?? request.committer ?? author,
        committer: request.committer ?? request.author ?? author,
        when: {
          seconds: Math.floor(now.getTime() / 1000),
          offsetMinutes: -now.getTimezoneOffset(),
        },
      });
      await push(sha, request.branch, request.observed);
      return { sha };
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
        try {
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
        } catch (err) {
          // The failing remote is the application repository: say --app-repo, not --repo.
          if (err instanceof HostNotFoundError) {
            throw new HostNotFoundError(
              `--app-repo: ${err.message.replace('Check --repo', 'Check --app-repo')}`,
              { input: 'app-repo', cause: err },
            );
          }
          throw err;
        }
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
      if (upload) upload.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return host;
}
