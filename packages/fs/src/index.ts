import { randomBytes } from 'node:crypto';
import { lstat, open, readdir, readFile, realpath, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { type ManifestFile, PathError } from '@gitops-release/core';

const MANIFEST_EXTENSIONS = ['.yaml', '.yml'];
const SKIPPED_DIRECTORIES = new Set(['.git']);

function isManifestName(name: string): boolean {
  return MANIFEST_EXTENSIONS.some((ext) => name.endsWith(ext));
}

function isInside(root: string, target: string): boolean {
  const rel = relative(root, target);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/**
 * Reads the manifest files named by `paths` (files, or directories searched recursively for
 * *.yaml and *.yml, skipping .git). Each file keeps the path as the user gave it, joined with its
 * place below a directory. A symlink found inside a directory that leads outside it is refused.
 */
export async function readManifestFiles(paths: string[], cwd: string): Promise<ManifestFile[]> {
  const files: FoundFile[] = [];
  const seen = new Set<string>();
  for (const given of paths.length ? paths : ['.']) {
    const absolute = resolve(cwd, given);
    const info = await stat(absolute).catch(() => undefined);
    if (!info) throw new PathError(`${given}: no such file or directory`, { input: 'PATH' });
    if (info.isFile()) {
      const real = await realpath(absolute);
      if (seen.has(real)) continue;
      seen.add(real);
      files.push({ path: given, absolute });
      continue;
    }
    const root = await realpath(absolute);
    await walk(root, absolute, given, root, files, seen);
  }
  // Concurrent reads: sequential awaits leave the process idle on I/O for most of a big tree.
  return mapConcurrently(files, IO_CONCURRENCY, async (f) => ({
    path: f.path,
    text: await readFile(f.absolute, 'utf8'),
  }));
}

interface FoundFile {
  path: string;
  absolute: string;
}

const IO_CONCURRENCY = 32;

/**
 * Maps with at most `limit` calls in flight. On a failure it starts nothing new and waits for the
 * calls in flight before rejecting, so a caller's cleanup sees everything that was done.
 */
async function mapConcurrently<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i] as T);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const settled = await Promise.allSettled(
    Array.from({ length: Math.min(limit, items.length) }, worker),
  );
  const failure = settled.find((r) => r.status === 'rejected');
  if (failure) throw failure.reason;
  return results;
}

async function walk(
  treeRoot: string,
  absolute: string,
  shown: string,
  realDir: string,
  files: FoundFile[],
  seen: Set<string>,
): Promise<void> {
  const entries = await readdir(absolute, { withFileTypes: true });
  // By name, symlinks last: a file reached both directly and through a link keeps its own name.
  entries.sort(
    (a, b) =>
      Number(a.isSymbolicLink()) - Number(b.isSymbolicLink()) ||
      (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  for (const entry of entries) {
    const childAbsolute = join(absolute, entry.name);
    const childShown = shown === '.' ? entry.name : join(shown, entry.name);
    if (entry.isDirectory()) {
      if (SKIPPED_DIRECTORIES.has(entry.name)) continue;
      await walk(treeRoot, childAbsolute, childShown, join(realDir, entry.name), files, seen);
    } else if (entry.isSymbolicLink()) {
      const target = await realpath(childAbsolute).catch(() => undefined);
      if (!target) continue; // a dangling link holds nothing to edit
      const targetInfo = await stat(target);
      if (!targetInfo.isFile() && !targetInfo.isDirectory()) continue;
      if (targetInfo.isFile() && !isManifestName(entry.name)) continue;
      if (!isInside(treeRoot, target)) {
        throw new PathError(
          `${childShown} is a symlink to ${target}, outside ${treeRoot}; refusing to edit files outside the tree`,
          { input: 'PATH' },
        );
      }
      if (seen.has(target)) continue;
      if (targetInfo.isDirectory()) {
        seen.add(target);
        await walk(treeRoot, childAbsolute, childShown, target, files, seen);
      } else {
        seen.add(target);
        files.push({ path: childShown, absolute: target });
      }
    } else if (entry.isFile() && isManifestName(entry.name)) {
      const real = join(realDir, entry.name);
      if (seen.has(real)) continue;
      seen.add(real);
      files.push({ path: childShown, absolute: childAbsolute });
    }
  }
}

export interface FileWrite {
  /** The path as readManifestFiles returned it (relative to cwd or absolute). */
  path: string;
  /** The text the file held when it was read; the write is refused if the file changed since. */
  before: string;
  after: string;
}

/**
 * Writes every file or none: each new text goes to a temporary file beside its target (with the
 * target's mode) first, and only when all are written are they renamed over their targets.
 * A symlink is kept: its target file is replaced.
 */
export async function writeFilesAtomically(writes: FileWrite[], cwd: string): Promise<void> {
  const staged: { temp: string; target: string }[] = [];
  try {
    await mapConcurrently(writes, IO_CONCURRENCY, async (write) => {
      const target = await realpath(resolve(cwd, write.path));
      const current = await readFile(target, 'utf8');
      if (current !== write.before) {
        throw new PathError(`${write.path} changed while it was being edited; run again`, {
          input: 'PATH',
        });
      }
      const { mode } = await lstat(target);
      const temp = join(
        dirname(target),
        `.${basename(target)}.gitops-release-${randomBytes(4).toString('hex')}.tmp`,
      );
      const handle = await open(temp, 'wx', mode & 0o7777);
      staged.push({ temp, target });
      try {
        await handle.writeFile(write.after, 'utf8');
        await handle.chmod(mode & 0o7777); // open()'s mode is filtered by the umask
      } finally {
        await handle.close();
      }
    });
  } catch (err) {
    await Promise.all(staged.map(({ temp }) => unlink(temp).catch(() => undefined)));
    throw err;
  }
  // The renames come only after every file is staged; no fsync, as git itself does not by default.
  for (const { temp, target } of staged) await rename(temp, target);
}
