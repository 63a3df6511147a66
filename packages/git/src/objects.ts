// Git objects written from Node: the release commit's blobs, the trees along their paths, and the
// commit, as loose objects. Five git processes per release fewer (read-tree, hash-object,
// update-index, write-tree, commit-tree), and no index, so no other file's blob is ever needed.
// Formats: https://git-scm.com/book/en/v2/Git-Internals-Git-Objects
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';

export interface TreeEntry {
  mode: string;
  name: string;
  /** 40 hex digits. */
  oid: string;
}

/** Parses a tree object's bytes: `<mode> <name>\0<20-byte id>` per entry. */
export function parseTree(bytes: Buffer): TreeEntry[] {
  const entries: TreeEntry[] = [];
  let at = 0;
  while (at < bytes.length) {
    const space = bytes.indexOf(0x20, at);
    const nul = bytes.indexOf(0, space);
    entries.push({
      mode: bytes.subarray(at, space).toString('latin1'),
      name: bytes.subarray(space + 1, nul).toString('utf8'),
      oid: bytes.subarray(nul + 1, nul + 21).toString('hex'),
    });
    at = nul + 21;
  }
  return entries;
}

const isTree = (e: TreeEntry) => e.mode === '40000';

/** git's order: by name bytes, a tree's name compared as if it ended in '/'. */
function compareEntries(a: TreeEntry, b: TreeEntry): number {
  return Buffer.compare(
    Buffer.from(isTree(a) ? `${a.name}/` : a.name),
    Buffer.from(isTree(b) ? `${b.name}/` : b.name),
  );
}

export function serializeTree(entries: TreeEntry[]): Buffer {
  const sorted = [...entries].sort(compareEntries);
  return Buffer.concat(
    sorted.flatMap((e) => [Buffer.from(`${e.mode} ${e.name}\0`), Buffer.from(e.oid, 'hex')]),
  );
}

export class LooseObjectWriter {
  constructor(private readonly gitDir: string) {}

  /** Writes one object (if new) and returns its id. */
  async write(type: 'blob' | 'tree' | 'commit', body: Buffer): Promise<string> {
    const raw = Buffer.concat([Buffer.from(`${type} ${body.length}\0`), body]);
    const oid = createHash('sha1').update(raw).digest('hex');
    const dir = join(this.gitDir, 'objects', oid.slice(0, 2));
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, oid.slice(2)), deflateSync(raw), { flag: 'wx' }).catch(
      (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      },
    );
    return oid;
  }
}

export interface CommitPlan {
  parent: string;
  /** The trees along the changed paths as they are in the parent: '' is the root. */
  trees: Map<string, TreeEntry[]>;
  files: { path: string; text: string; mode: string }[];
  message: string;
  author: { name: string; email: string };
  /** Default: the author. */
  committer?: { name: string; email: string };
  /** Seconds since the epoch and the zone offset in minutes east of UTC. */
  when: { seconds: number; offsetMinutes: number };
}

/** The directories a path sits in, deepest last: 'a/b/c.yaml' → ['', 'a', 'a/b']. */
export function parentDirs(path: string): string[] {
  const parts = path.split('/').slice(0, -1);
  return ['', ...parts.map((_, i) => parts.slice(0, i + 1).join('/'))];
}

function zone(offsetMinutes: number): string {
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}${String(abs % 60).padStart(2, '0')}`;
}

/** Writes the blobs, the changed trees bottom up, and the commit; returns the commit's id. */
export async function writeCommit(store: LooseObjectWriter, plan: CommitPlan): Promise<string> {
  const trees = new Map([...plan.trees].map(([dir, entries]) => [dir, [...entries]]));
  const set = (dir: string, entry: TreeEntry) => {
    const entries = trees.get(dir) ?? [];
    trees.set(dir, entries);
    const i = entries.findIndex((e) => e.name === entry.name);
    if (i === -1) entries.push(entry);
    else entries[i] = entry;
  };
  for (const file of plan.files) {
    for (const dir of parentDirs(file.path)) if (!trees.has(dir)) trees.set(dir, []);
  }
  for (const file of plan.files) {
    const oid = await store.write('blob', Buffer.from(file.text, 'utf8'));
    const dirs = parentDirs(file.path);
    set(dirs.at(-1)!, { mode: file.mode, name: file.path.split('/').at(-1)!, oid });
  }
  // Deepest directories first, so each parent gets its child's new id.
  const dirs = [...trees.keys()].sort(
    (a, b) => b.split('/').length - a.split('/').length || (b > a ? 1 : -1),
  );
  for (const dir of dirs.filter((d) => d !== '')) {
    const oid = await store.write('tree', serializeTree(trees.get(dir)!));
    const cut = dir.lastIndexOf('/');
    set(cut === -1 ? '' : dir.slice(0, cut), { mode: '40000', name: dir.slice(cut + 1), oid });
  }
  const root = await store.write('tree', serializeTree(trees.get('') ?? []));
  const stamp = `${plan.when.seconds} ${zone(plan.when.offsetMinutes)}`;
  const who = (p: { name: string; email: string }) => `${p.name} <${p.email}> ${stamp}`;
  const body = `tree ${root}\nparent ${plan.parent}\nauthor ${who(plan.author)}\ncommitter ${who(plan.committer ?? plan.author)}\n\n${plan.message}\n`;
  return store.write('commit', Buffer.from(body, 'utf8'));
}
