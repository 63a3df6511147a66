import { randomBytes } from 'node:crypto';
import {
  accessSync,
  constants,
  type Dirent,
  lstatSync,
  readdirSync,
  readFileSync,
  realpathSync,
  statSync,
} from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { decodeManifestText, type ManifestFile, PathError } from '@gitops-release/core';
import { describeSpecial, pathError } from './errors.js';

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
 * place below a directory. A symlink that leads outside its tree is refused, whether it was given
 * directly (the tree is the working directory) or found inside a directory (the tree is that
 * directory). Every failure is a PathError naming the path and what is wrong with it.
 */
export async function readManifestFiles(paths: string[], cwd: string): Promise<ManifestFile[]> {
  const files: FoundFile[] = [];
  const seen = new Set<string>();
  for (const given of paths.length ? paths : ['.']) {
    const absolute = resolve(cwd, given);
    const info = statGiven(given, absolute);
    const real = checkedRealpath(given, absolute, cwd);
    if (info.isFile()) {
      if (seen.has(real)) continue;
      seen.add(real);
      files.push({ path: given, absolute: real });
      continue;
    }
    if (!info.isDirectory()) {
      throw new PathError(
        `${given} is ${describeSpecial(info)}, not a regular file or a directory; give a YAML file or a directory of them`,
        { input: 'PATH' },
      );
    }
    const found = { count: 0 };
    walk(real, absolute, given, real, files, seen, found);
    if (found.count === 0) {
      throw new PathError(`${given}: no YAML files (*.yaml, *.yml) in this directory`, {
        input: 'PATH',
      });
    }
  }
  // Synchronous on purpose: for thousands of small files, fs/promises' open/fstat/read/close
  // hops through the thread pool cost more than the reads themselves.
  return files.map((f) => ({ path: f.path, text: readText(f.path, f.absolute) }));
}

function statGiven(given: string, absolute: string) {
  try {
    return statSync(absolute);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      const dangling = lstatOrUndefined(absolute)?.isSymbolicLink();
      throw new PathError(
        `${given}: no such file or directory${dangling ? ' (a symlink to a path that does not exist)' : ''}`,
        { input: 'PATH' },
      );
    }
    throw pathError(given, err, 'read it');
  }
}

/**
 * The real path of a path given directly. When a symlink is on the way, it must stay inside the
 * tree: the working directory for a path inside it, else the directory the user named.
 */
function checkedRealpath(given: string, absolute: string, cwd: string): string {
  let real: string;
  let treeRoot: string;
  try {
    real = realpathSync(absolute);
    treeRoot = realpathSync(isInside(resolve(cwd), absolute) ? cwd : dirname(absolute));
  } catch (err) {
    throw pathError(given, err, 'resolve it');
  }
  if (!isInside(treeRoot, real)) {
    throw new PathError(
      `${given} is a symlink to ${real}, outside ${treeRoot}; refusing to edit files outside the tree`,
      { input: 'PATH' },
    );
  }
  return real;
}

function realpathOrUndefined(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

function lstatOrUndefined(path: string) {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

function readText(shown: string, absolute: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(absolute);
  } catch (err) {
    throw pathError(shown, err, 'read it');
  }
  return decodeManifestText(bytes, shown);
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
  found: { count: number },
): void {
  let entries: Dirent[];
  try {
    entries = readdirSync(absolute, { withFileTypes: true });
  } catch (err) {
    throw pathError(shown, err, 'list the directory');
  }
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
      walk(treeRoot, childAbsolute, childShown, join(realDir, entry.name), files, seen, found);
    } else if (entry.isSymbolicLink()) {
      const target = realpathOrUndefined(childAbsolute);
      if (!target) continue; // a dangling link holds nothing to edit
      let targetInfo: ReturnType<typeof statSync>;
      try {
        targetInfo = statSync(target);
      } catch (err) {
        throw pathError(childShown, err, 'read it');
      }
      if (!targetInfo.isFile() && !targetInfo.isDirectory()) continue;
      if (targetInfo.isFile() && !isManifestName(entry.name)) continue;
      if (!isInside(treeRoot, target)) {
        throw new PathError(
          `${childShown} is a symlink to ${target}, outside ${treeRoot}; refusing to edit files outside the tree`,
          { input: 'PATH' },
        );
      }
      if (targetInfo.isFile()) found.count++;
      if (seen.has(target)) continue;
      if (targetInfo.isDirectory()) {
        seen.add(target);
        walk(treeRoot, childAbsolute, childShown, target, files, seen, found);
      } else {
        seen.add(target);
        files.push({ path: childShown, absolute: target });
      }
    } else if (entry.isFile() && isManifestName(entry.name)) {
      found.count++;
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
  const staged: { temp: string; target: string; path: string }[] = [];
  try {
    await inParallel(writes, async (write) => {
      const target = realpathSync(resolve(cwd, write.path));
      if (readFileSync(target, 'utf8') !== write.before) {
        throw new PathError(`${write.path} changed while it was being edited; run again`, {
          input: 'PATH',
        });
      }
      try {
        // Renaming over a read-only file would succeed; the user's chmod says not to.
        accessSync(target, constants.W_OK);
      } catch (err) {
        throw pathError(write.path, err, 'write it');
      }
      const mode = lstatSync(target).mode & 0o7777;
      const temp = join(
        dirname(target),
        `.${basename(target)}.gitops-release-${randomBytes(4).toString('hex')}.tmp`,
      );
      let handle: Awaited<ReturnType<typeof open>>;
      try {
        handle = await open(temp, 'wx', mode);
      } catch (err) {
        throw pathError(write.path, err, `write a temporary file in ${dirname(target)}`);
      }
      staged.push({ temp, target, path: write.path });
      try {
        await handle.writeFile(write.after, 'utf8');
        await handle.chmod(mode); // open()'s mode is filtered by the umask
      } catch (err) {
        throw pathError(write.path, err, 'write it');
      } finally {
        await handle.close();
      }
    });
  } catch (err) {
    await removeTemps(staged);
    throw err;
  }
  // The renames come only after every file is staged; no fsync, as git itself does not by default.
  const renamed: string[] = [];
  try {
    await inParallel(staged, async ({ temp, target, path }) => {
      try {
        await rename(temp, target);
      } catch (err) {
        throw pathError(path, err, 'replace it');
      }
      renamed.push(path);
    });
  } catch (err) {
    await removeTemps(staged);
    // Rare (the temporary file sat in the same directory), but then say exactly what was written.
    const written = renamed.length
      ? `; already written: ${renamed.join(', ')}`
      : '; nothing was written';
    throw new PathError(`${(err as Error).message}${written}`, { input: 'PATH', cause: err });
  }
}

async function removeTemps(staged: readonly { temp: string }[]): Promise<void> {
  await Promise.all(staged.map(({ temp }) => unlink(temp).catch(() => undefined)));
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
