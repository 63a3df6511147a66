// Git plumbing over a bare repository: every object the simulator makes is a real git object,
// written with `git` itself so tests can clone the repository and read what the product wrote.
import { execFile } from 'node:child_process';

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

/** One bare repository on disk. */
export class BareRepo {
  constructor(readonly path: string) {}

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

  /** The commit a ref points to, or undefined when it does not exist. */
  async resolveRef(ref: string): Promise<string | undefined> {
    try {
      const oid = await this.text(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
      return OID.test(oid) ? oid : undefined;
    } catch {
      return undefined;
    }
  }

  /** Resolves a sha, a short sha, a branch or a tag to a commit. */
  async resolveCommitish(value: string): Promise<string | undefined> {
    if (OID.test(value)) return (await this.objectType(value)) === 'commit' ? value : undefined;
    for (const candidate of [`refs/heads/${value}`, `refs/tags/${value}`, value]) {
      if (candidate.startsWith('-')) return undefined;
      const oid = await this.resolveRef(candidate);
      if (oid) return oid;
    }
    return undefined;
  }

  async objectType(oid: string): Promise<string | undefined> {
    if (!/^[0-9a-f]{4,40}$/.test(oid)) return undefined;
    try {
      return await this.text(['cat-file', '-t', oid]);
    } catch {
      return undefined;
    }
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
    return this.text(['hash-object', '-w', '--stdin'], content);
  }

  async readBlob(oid: string): Promise<Buffer> {
    return this.run(['cat-file', 'blob', oid]);
  }

  async blobSize(oid: string): Promise<number> {
    return Number(await this.text(['cat-file', '-s', oid]));
  }

  async readCommit(oid: string): Promise<CommitInfo> {
    const raw = (await this.run(['cat-file', 'commit', oid])).toString('utf8');
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
    return { oid, tree, parents, author, committer, message };
  }

  /** Entries of one tree (not recursive). */
  async lsTree(treeOid: string): Promise<TreeEntry[]> {
    const out = (await this.run(['ls-tree', '-z', treeOid])).toString('utf8');
    return parseLsTree(out);
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
    const input = entries
      .map((e) => `${e.mode} ${e.type} ${e.oid}\t${e.name}`)
      .sort()
      .join('\0');
    return this.text(['mktree', '-z'], entries.length ? `${input}\0` : '');
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

  async commitTree(
    tree: string,
    parents: string[],
    message: string,
    author: GitIdentity,
    committer: GitIdentity = author,
  ): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const args = ['commit-tree', tree];
    for (const p of parents) args.push('-p', p);
    return (
      await this.run(args, message, {
        GIT_AUTHOR_NAME: author.name,
        GIT_AUTHOR_EMAIL: author.email,
        GIT_AUTHOR_DATE: `${author.date ?? now} +0000`,
        GIT_COMMITTER_NAME: committer.name,
        GIT_COMMITTER_EMAIL: committer.email,
        GIT_COMMITTER_DATE: `${committer.date ?? now} +0000`,
      })
    )
      .toString('utf8')
      .trim();
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

function parseLsTree(out: string): TreeEntry[] {
  return out
    .split('\0')
    .filter(Boolean)
    .map((record) => {
      const tab = record.indexOf('\t');
      const [mode, type, oid] = record.slice(0, tab).split(' ');
      return {
        mode: mode!,
        type: type as TreeEntry['type'],
        oid: oid!,
        name: record.slice(tab + 1),
      };
    });
}
