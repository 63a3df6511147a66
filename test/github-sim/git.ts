// Git plumbing over a bare repository: every object the simulator makes is a real git object,
// written with `git` itself so tests can clone the repository and read what the product wrote.
import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const ZERO_OID = '0000000000000000000000000000000000000000';
const OID = /^[0-9a-f]{40}$/;

export interface GitIdentity {
  name: string;
  email: string;
  /** Seconds since the epoch; defaults to now. */
  date?: number;
}

export interface TreeEntry {
  mode: string;
  type: 'blob' | 'tree' | 'commit';
  oid: string;
  name: string;
}

export interface CommitInfo {
  oid: string;
  tree: string;
  parents: string[];
  author: GitIdentity & { date: number };
  committer: GitIdentity & { date: number };
  message: string;
}

/** A change to one path: new bytes (with an optional mode), an existing blob, or a deletion. */
export type PathChange =
  | { content: Buffer; mode?: string }
  | { oid: string; mode?: string; type?: 'blob' | 'tree' | 'commit' }
  | null;

export class GitError extends Error {
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'GitError';
  }
}

interface CatFileObject {
  oid: string;
  type: string;
  content: Buffer;
}

/** One running `git cat-file --batch`, with its own queue of answers. */
class CatFileWorker {
  readonly child: ChildProcessWithoutNullStreams;
  private buffer = Buffer.alloc(0);
  private readonly waiting: {
    resolve: (o: CatFileObject | undefined) => void;
    reject: (e: Error) => void;
  }[] = [];

  constructor(gitDir: string, onExit: (w: CatFileWorker) => void) {
    this.child = spawn('git', ['--git-dir', gitDir, 'cat-file', '--batch'], {
      env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', LC_ALL: 'C' },
    });
    this.child.stdout.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.drain();
    });
    this.child.stdin.on('error', () => {});
    const fail = (error: Error) => {
      onExit(this);
      for (const w of this.waiting.splice(0)) w.reject(error);
    };
    this.child.on('error', fail);
    this.child.on('exit', () => fail(new Error('git cat-file --batch exited')));
  }

  read(name: string): Promise<CatFileObject | undefined> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.child.stdin.write(`${name}\n`);
    });
  }

  private drain(): void {
    while (this.waiting.length) {
      const nl = this.buffer.indexOf(10);
      if (nl === -1) return;
      const header = this.buffer.subarray(0, nl).toString('utf8');
      if (header.endsWith(' missing') || header.endsWith(' ambiguous')) {
        this.buffer = this.buffer.subarray(nl + 1);
        this.waiting.shift()!.resolve(undefined);
        continue;
      }
      const [oid, type, size] = header.split(' ');
      const length = Number(size);
      if (this.buffer.length < nl + 1 + length + 1) return;
      const content = Buffer.from(this.buffer.subarray(nl + 1, nl + 1 + length));
      this.buffer = this.buffer.subarray(nl + 1 + length + 1);
      this.waiting.shift()!.resolve({ oid: oid!, type: type!, content });
    }
  }
}

/**
 * One long-lived `git cat-file --batch` per repository: objects are immutable, so reading them
 * through one process is exact and spares a process per read (the simulator reads a lot).
 */
class CatFileBatch {
  private worker: CatFileWorker | undefined;

  constructor(private readonly gitDir: string) {}

  /**
   * A miss is asked again of a fresh process: a running cat-file never rereads
   * objects/info/alternates, and a test may add one (or objects) after it started.
   */
  async read(name: string): Promise<CatFileObject | undefined> {
    if (/[\n\0]/.test(name)) return undefined;
    const first = this.start();
    const found = await first.read(name);
    if (found) return found;
    if (this.worker === first) this.close();
    return this.start().read(name);
  }

  close(): void {
    this.worker?.child.stdin.end();
    this.worker = undefined;
  }

  private start(): CatFileWorker {
    this.worker ??= new CatFileWorker(this.gitDir, (w) => {
      if (this.worker === w) this.worker = undefined;
    });
    return this.worker;
  }
}

/**
 * A long-lived git command that answers one line per request (`hash-object --stdin-paths`,
 * `mktree --batch`): one process per repository instead of one per object.
 */
class LineProcess {
  private child: ChildProcessWithoutNullStreams | undefined;
  private buffer = '';
  private stderr = '';
  private readonly waiting: { resolve: (line: string) => void; reject: (e: Error) => void }[] = [];

  constructor(
    private readonly gitDir: string,
    private readonly args: string[],
  ) {}

  ask(input: string): Promise<string> {
    const child = this.start();
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      child.stdin.write(input);
    });
  }

  close(): void {
    this.child?.stdin.end();
    this.child = undefined;
  }

  private start(): ChildProcessWithoutNullStreams {
    if (this.child) return this.child;
    const child = spawn('git', ['--git-dir', this.gitDir, ...this.args], {
      env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', LC_ALL: 'C' },
    });
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      this.buffer += chunk;
      let nl = this.buffer.indexOf('\n');
      while (nl !== -1 && this.waiting.length) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        this.waiting.shift()!.resolve(line);
        nl = this.buffer.indexOf('\n');
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    child.stdin.on('error', () => {});
    const fail = (error: Error) => {
      if (this.child === child) this.child = undefined;
      for (const w of this.waiting.splice(0)) w.reject(error);
    };
    child.on('error', fail);
    child.on('exit', () =>
      fail(new GitError(`git ${this.args[0]} exited: ${this.stderr.trim()}`, this.stderr)),
    );
    this.child = child;
    return child;
  }
}

/** One bare repository on disk. */
export class BareRepo {
  private readonly batch: CatFileBatch;
  private readonly blobs: LineProcess;
  private readonly commits: LineProcess;
  private readonly trees: LineProcess;
  private temp = 0;

  constructor(readonly path: string) {
    this.batch = new CatFileBatch(path);
    this.blobs = new LineProcess(path, ['hash-object', '-w', '--no-filters', '--stdin-paths']);
    this.commits = new LineProcess(path, ['hash-object', '-t', 'commit', '-w', '--stdin-paths']);
    this.trees = new LineProcess(path, ['mktree', '-z', '--batch']);
  }

  close(): void {
    for (const p of [this.batch, this.blobs, this.commits, this.trees]) p.close();
  }

  /** Hashes bytes through a long-lived `git hash-object --stdin-paths` (it reads a file). */
  private async hashFile(hasher: LineProcess, content: Buffer): Promise<string> {
    const dir = join(this.path, 'github-sim-tmp');
    await mkdir(dir, { recursive: true });
    const file = join(dir, `${process.pid}-${++this.temp}`);
    await writeFile(file, content);
    try {
      const oid = await hasher.ask(`${file}\n`);
      if (!OID.test(oid)) throw new GitError(`git hash-object answered ${oid}`, '');
      return oid;
    } finally {
      await rm(file, { force: true });
    }
  }

  run(args: string[], input?: string | Buffer, env?: Record<string, string>): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const child = execFile(
        'git',
        ['--git-dir', this.path, ...args],
        {
          encoding: 'buffer',
          maxBuffer: 512 * 1024 * 1024,
          env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', LC_ALL: 'C', ...env },
        },
        (error, stdout, stderr) => {
          if (error) {
            reject(
              new GitError(
                `git ${args[0]} failed: ${stderr.toString().trim() || error.message}`,
                stderr.toString(),
              ),
            );
          } else {
            resolve(stdout);
          }
        },
      );
      // git may exit before reading its input (a failed update-ref): that is not our error.
      child.stdin?.on('error', () => {});
      if (input === undefined) child.stdin?.end();
      else child.stdin?.end(input);
    });
  }

  async text(args: string[], input?: string | Buffer): Promise<string> {
    return (await this.run(args, input)).toString('utf8').trim();
  }

  static async init(path: string, defaultBranch: string): Promise<BareRepo> {
    const repo = new BareRepo(path);
    await new Promise<void>((resolve, reject) => {
      execFile(
        'git',
        ['init', '--bare', '--quiet', `--initial-branch=${defaultBranch}`, path],
        (e) => (e ? reject(e) : resolve()),
      );
    });
    return repo;
  }

  /**
   * The commit a ref points to, or undefined. Read from the ref files themselves (loose, then
   * packed): refs change under us, objects do not, so refs are never read through the batch.
   */
  async resolveRef(ref: string): Promise<string | undefined> {
    if (!/^(HEAD|refs\/[^\0\s~^:?*[\\]+)$/.test(ref) || ref.includes('..')) return undefined;
    let target = ref;
    for (let depth = 0; depth < 5; depth++) {
      const loose = await readFile(join(this.path, target), 'utf8').catch(() => undefined);
      let oid: string | undefined;
      if (loose?.startsWith('ref: ')) {
        target = loose.slice(5).trim();
        continue;
      }
      if (loose && OID.test(loose.trim())) oid = loose.trim();
      else {
        const packed = await readFile(join(this.path, 'packed-refs'), 'utf8').catch(() => '');
        const line = packed.split('\n').find((l) => l.endsWith(` ${target}`) && !l.startsWith('#'));
        oid = line?.split(' ')[0];
      }
      if (!oid) return undefined;
      const object = await this.batch.read(`${oid}^{commit}`);
      return object?.type === 'commit' ? object.oid : undefined;
    }
    return undefined;
  }

  /** Resolves a sha, a short sha, HEAD, a branch or a tag to a commit. */
  async resolveCommitish(value: string): Promise<string | undefined> {
    if (value.startsWith('-') || value === '') return undefined;
    if (OID.test(value)) return (await this.objectType(value)) === 'commit' ? value : undefined;
    const candidates =
      value.startsWith('refs/') || value === 'HEAD'
        ? [value]
        : [`refs/heads/${value}`, `refs/tags/${value}`];
    for (const candidate of candidates) {
      const oid = await this.resolveRef(candidate);
      if (oid) return oid;
    }
    if (/^[0-9a-f]{4,39}$/.test(value)) {
      const object = await this.batch.read(`${value}^{commit}`);
      return object?.type === 'commit' ? object.oid : undefined;
    }
    return undefined;
  }

  async objectType(oid: string): Promise<string | undefined> {
    if (!/^[0-9a-f]{4,40}$/.test(oid)) return undefined;
    return (await this.batch.read(oid))?.type;
  }

  async refs(prefix = 'refs/'): Promise<{ ref: string; oid: string }[]> {
    const out = await this.text(['for-each-ref', '--format=%(refname) %(objectname)', prefix]);
    return out
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [ref, oid] = line.split(' ');
        return { ref: ref!, oid: oid! };
      });
  }

  /**
   * Moves a ref only if it still holds `expected` (ZERO_OID: only if it does not exist yet).
   * Returns false when another writer got there first: git's own compare-and-swap.
   */
  async compareAndSwapRef(ref: string, next: string, expected: string): Promise<boolean> {
    try {
      await this.run(['update-ref', ref, next, expected]);
      return true;
    } catch (error) {
      if (error instanceof GitError) return false;
      throw error;
    }
  }

  async deleteRef(ref: string, expected: string): Promise<boolean> {
    try {
      await this.run(['update-ref', '-d', ref, expected]);
      return true;
    } catch (error) {
      if (error instanceof GitError) return false;
      throw error;
    }
  }

  async writeBlob(content: Buffer): Promise<string> {
    return this.hashFile(this.blobs, content);
  }

  async readBlob(oid: string): Promise<Buffer> {
    const object = await this.batch.read(oid);
    if (object?.type !== 'blob') throw new GitError(`not a blob: ${oid}`, '');
    return object.content;
  }

  async blobSize(oid: string): Promise<number> {
    return (await this.readBlob(oid)).length;
  }

  async readCommit(oid: string): Promise<CommitInfo> {
    const object = await this.batch.read(oid);
    if (object?.type !== 'commit') throw new GitError(`not a commit: ${oid}`, '');
    const raw = object.content.toString('utf8');
    const split = raw.indexOf('\n\n');
    const header = split === -1 ? raw : raw.slice(0, split);
    const message = split === -1 ? '' : raw.slice(split + 2);
    const parents: string[] = [];
    let tree = '';
    let author: CommitInfo['author'] = { name: '', email: '', date: 0 };
    let committer: CommitInfo['committer'] = { name: '', email: '', date: 0 };
    for (const line of header.split('\n')) {
      const space = line.indexOf(' ');
      const key = line.slice(0, space);
      const value = line.slice(space + 1);
      if (key === 'tree') tree = value;
      else if (key === 'parent') parents.push(value);
      else if (key === 'author') author = parseIdentity(value);
      else if (key === 'committer') committer = parseIdentity(value);
    }
    return { oid: object.oid, tree, parents, author, committer, message };
  }

  /** Entries of one tree (not recursive), parsed from the raw tree object. */
  async lsTree(treeOid: string): Promise<TreeEntry[]> {
    const object = await this.batch.read(treeOid);
    if (object?.type !== 'tree') throw new GitError(`not a tree: ${treeOid}`, '');
    const raw = object.content;
    const entries: TreeEntry[] = [];
    let at = 0;
    while (at < raw.length) {
      const space = raw.indexOf(32, at);
      const nul = raw.indexOf(0, space);
      const mode = raw.subarray(at, space).toString('utf8').padStart(6, '0');
      const name = raw.subarray(space + 1, nul).toString('utf8');
      const oid = raw.subarray(nul + 1, nul + 21).toString('hex');
      const type = mode === '040000' ? 'tree' : mode === '160000' ? 'commit' : 'blob';
      entries.push({ mode, type, oid, name });
      at = nul + 21;
    }
    return entries;
  }

  /** All entries under a tree, recursively, with full paths (trees included, like GitHub's). */
  async lsTreeRecursive(
    treeOid: string,
  ): Promise<(TreeEntry & { path: string; size: number | undefined })[]> {
    const out = (await this.run(['ls-tree', '-r', '-t', '-l', '-z', treeOid])).toString('utf8');
    return out
      .split('\0')
      .filter(Boolean)
      .map((record) => {
        const tab = record.indexOf('\t');
        const [mode, type, oid, size] = record.slice(0, tab).split(/\s+/);
        const path = record.slice(tab + 1);
        return {
          mode: mode!,
          type: type as TreeEntry['type'],
          oid: oid!,
          name: path.split('/').pop()!,
          path,
          size: size === '-' ? undefined : Number(size),
        };
      });
  }

  /** The entry at `path` inside a commit's tree ('' is the root tree). */
  async entryAt(commitOid: string, path: string): Promise<TreeEntry | undefined> {
    const commit = await this.readCommit(commitOid);
    const clean = path.replace(/^\/+|\/+$/g, '');
    if (clean === '') return { mode: '040000', type: 'tree', oid: commit.tree, name: '' };
    let tree = commit.tree;
    const parts = clean.split('/');
    for (let i = 0; i < parts.length; i++) {
      const entry = (await this.lsTree(tree)).find((e) => e.name === parts[i]);
      if (!entry) return undefined;
      if (i === parts.length - 1) return entry;
      if (entry.type !== 'tree') return undefined;
      tree = entry.oid;
    }
    return undefined;
  }

  async mktree(entries: TreeEntry[]): Promise<string> {
    for (const e of entries) {
      if (/[\0/]/.test(e.name) || e.name === '' || e.name === '.' || e.name === '..') {
        throw new GitError(`invalid path component: ${JSON.stringify(e.name)}`, '');
      }
    }
    // mktree sorts the entries itself; an empty record ends one tree of the batch.
    const input = entries.map((e) => `${e.mode} ${e.type} ${e.oid}\t${e.name}\0`).join('');
    const oid = await this.trees.ask(`${input}\0`);
    if (!OID.test(oid)) throw new GitError(`git mktree answered ${oid}`, '');
    return oid;
  }

  /**
   * A new tree: `base` (or empty) with `changes` applied by path. Directories left empty
   * disappear, as on GitHub.
   */
  async writeTree(base: string | undefined, changes: Map<string, PathChange>): Promise<string> {
    const here = new Map<string, PathChange>();
    const below = new Map<string, Map<string, PathChange>>();
    for (const [path, change] of changes) {
      const clean = path.replace(/^\/+/, '');
      const slash = clean.indexOf('/');
      if (slash === -1) {
        here.set(clean, change);
      } else {
        const dir = clean.slice(0, slash);
        if (!below.has(dir)) below.set(dir, new Map());
        below.get(dir)!.set(clean.slice(slash + 1), change);
      }
    }
    const entries = new Map<string, TreeEntry>();
    if (base) for (const e of await this.lsTree(base)) entries.set(e.name, e);
    for (const [name, change] of here) {
      if (change === null) {
        entries.delete(name);
      } else if ('content' in change) {
        const oid = await this.writeBlob(change.content);
        entries.set(name, { mode: change.mode ?? '100644', type: 'blob', oid, name });
      } else {
        const type = change.type ?? (change.mode === '040000' ? 'tree' : 'blob');
        entries.set(name, { mode: change.mode ?? '100644', type, oid: change.oid, name });
      }
    }
    for (const [dir, sub] of below) {
      const existing = entries.get(dir);
      const subBase = existing?.type === 'tree' ? existing.oid : undefined;
      const subTree = await this.writeTree(subBase, sub);
      const empty = (await this.lsTree(subTree)).length === 0;
      if (empty) entries.delete(dir);
      else entries.set(dir, { mode: '040000', type: 'tree', oid: subTree, name: dir });
    }
    return this.mktree([...entries.values()]);
  }

  /** A commit object, written by `git hash-object -t commit` (which checks its format). */
  async commitTree(
    tree: string,
    parents: string[],
    message: string,
    author: GitIdentity,
    committer: GitIdentity = author,
  ): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const who = (p: GitIdentity) => {
      const clean = (v: string) => v.replace(/[<>\n]/g, '').trim();
      return `${clean(p.name)} <${clean(p.email)}> ${p.date ?? now} +0000`;
    };
    const lines = [`tree ${tree}`, ...parents.map((p) => `parent ${p}`)];
    lines.push(`author ${who(author)}`, `committer ${who(committer)}`);
    const body = message.endsWith('\n') ? message : `${message}\n`;
    return this.hashFile(this.commits, Buffer.from(`${lines.join('\n')}\n\n${body}`));
  }

  /**
   * One root commit holding `files`, written by a single `git fast-import` (a repository of many
   * files costs one process, not one per file). Returns the commit.
   */
  async importSnapshot(
    ref: string,
    files: Record<string, string | Buffer>,
    message: string,
    author: GitIdentity,
  ): Promise<string> {
    const date = author.date ?? Math.floor(Date.now() / 1000);
    const who = `${author.name} <${author.email}> ${date} +0000`;
    const msg = Buffer.from(message);
    const parts: Buffer[] = [
      Buffer.from(`commit ${ref}\nmark :1\nauthor ${who}\ncommitter ${who}\ndata ${msg.length}\n`),
      msg,
      Buffer.from('\n'),
    ];
    for (const [path, content] of Object.entries(files)) {
      const bytes = Buffer.isBuffer(content) ? content : Buffer.from(content);
      const clean = path.replace(/^\/+/, '');
      if (/[\n"]/.test(clean)) throw new Error(`unsupported path: ${JSON.stringify(path)}`);
      parts.push(
        Buffer.from(`M 100644 inline ${clean}\ndata ${bytes.length}\n`),
        bytes,
        Buffer.from('\n'),
      );
    }
    parts.push(Buffer.from('\n'));
    await this.run(['fast-import', '--quiet', '--date-format=raw'], Buffer.concat(parts));
    return (await this.resolveRef(ref))!;
  }

  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    try {
      await this.run(['merge-base', '--is-ancestor', ancestor, descendant]);
      return true;
    } catch {
      return false;
    }
  }

  async mergeBase(a: string, b: string): Promise<string | undefined> {
    try {
      return await this.text(['merge-base', a, b]);
    } catch {
      return undefined;
    }
  }

  /** Commits reachable from `head` but not from `base`, oldest first (like GitHub's compare). */
  async commitsBetween(base: string, head: string): Promise<string[]> {
    const out = await this.text(['rev-list', '--reverse', '--topo-order', `${base}..${head}`]);
    return out.split('\n').filter(Boolean);
  }

  async countBetween(base: string, head: string): Promise<number> {
    return Number(await this.text(['rev-list', '--count', `${base}..${head}`]));
  }

  /** Files changed between two commits with their status, for compare's `files`. */
  async diffNameStatus(
    base: string,
    head: string,
  ): Promise<{ status: string; path: string; additions: number; deletions: number }[]> {
    const numstat = await this.text(['diff', '--numstat', '-z', '--no-renames', base, head]);
    const status = await this.text(['diff', '--name-status', '-z', '--no-renames', base, head]);
    const counts = new Map<string, [number, number]>();
    for (const rec of numstat.split('\0').filter(Boolean)) {
      const [add, del, path] = rec.split('\t');
      counts.set(path!, [Number(add) || 0, Number(del) || 0]);
    }
    const parts = status.split('\0').filter(Boolean);
    const result: { status: string; path: string; additions: number; deletions: number }[] = [];
    for (let i = 0; i + 1 < parts.length; i += 2) {
      const path = parts[i + 1]!;
      const [additions, deletions] = counts.get(path) ?? [0, 0];
      result.push({ status: parts[i]!, path, additions, deletions });
    }
    return result;
  }
}

function parseIdentity(value: string): GitIdentity & { date: number } {
  const match = /^(.*) <(.*)> (\d+) ([+-]\d{4})$/.exec(value);
  if (!match) return { name: value, email: '', date: 0 };
  return { name: match[1]!, email: match[2]!, date: Number(match[3]) };
}
