import { randomBytes } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
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
    const info = statOrUndefined(absolute);
    if (!info) throw new PathError(`${given}: no such file or directory`, { input: 'PATH' });
    if (info.isFile()) {
      const real = realpathSync(absolute);
      if (seen.has(real)) continue;
      seen.add(real);
      files.push({ path: given, absolute });
      continue;
    }
    const root = realpathSync(absolute);
    walk(root, absolute, given, root, files, seen);
  }
  // Synchronous on purpose: for thousands of small files, fs/promises' open/fstat/read/close
  // hops through the thread pool cost more than the reads themselves.
  return files.map((f) => ({ path: f.path, text: readFileSync(f.absolute, 'utf8') }));
}

function statOrUndefined(path: string) {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

interface FoundFile {
  path: string;
  absolute: string;
}

function walk(
  treeRoot: string,
  absolute: string,
  shown: string,
  realDir: string,
  files: FoundFile[],
  seen: Set<string>,
): void {
  const entries = readdirSync(absolute, { withFileTypes: true });
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
      walk(treeRoot, childAbsolute, childShown, join(realDir, entry.name), files, seen);
    } else if (entry.isSymbolicLink()) {
      const target = realpathOrUndefined(childAbsolute);
      if (!target) continue; // a dangling link holds nothing to edit
      const targetInfo = statSync(target);
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
        walk(treeRoot, childAbsolute, childShown, target, files, seen);
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

function realpathOrUndefined(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
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
    await inParallel(writes, async (write) => {
      const target = realpathSync(resolve(cwd, write.path));
      if (readFileSync(target, 'utf8') !== write.before) {
        throw new PathError(`${write.path} changed while it was being edited; run again`, {
          input: 'PATH',
        });
      }
      const mode = lstatSync(target).mode & 0o7777;
      const temp = join(
        dirname(target),
        `.${basename(target)}.gitops-release-${randomBytes(4).toString('hex')}.tmp`,
      );
      const handle = await open(temp, 'wx', mode);
      staged.push({ temp, target });
      try {
        await handle.writeFile(write.after, 'utf8');
        await handle.chmod(mode); // open()'s mode is filtered by the umask
      } finally {
        await handle.close();
      }
    });
  } catch (err) {
    await Promise.all(staged.map(({ temp }) => unlink(temp).catch(() => undefined)));
    throw err;
  }
  // The renames come only after every file is staged; no fsync, as git itself does not by default.
  await inParallel(staged, ({ temp, target }) => rename(temp, target));
}

/**
 * Runs fn over items with a few calls in flight: creating and renaming files is kernel time that
 * the thread pool overlaps. On a failure it starts nothing new and waits for the calls in flight
 * before rejecting, so the caller's cleanup sees every file that was staged.
 */
async function inParallel<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const settled = await Promise.allSettled(Array.from({ length: 8 }, worker));
  const failure = settled.find((r) => r.status === 'rejected');
  if (failure) throw failure.reason;
}
