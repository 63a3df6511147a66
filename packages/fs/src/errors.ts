import { PathError } from '@gitops-release/core';

// What a system call's errno means for the user, in words; the path is always named.
const REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a part of the path is not a directory',
  EISDIR: 'is a directory',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'the name is too long',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exceeded',
  EMFILE: 'too many open files',
  EBUSY: 'the file is busy',
  EIO: 'an input/output error',
  EXDEV: 'the file is on another device',
  ERR_FS_FILE_TOO_LARGE: 'the file is too large to read into memory',
};

/** A file system failure as a PathError that names the path and says what is wrong with it. */
export function pathError(shown: string, err: unknown, doing: string): PathError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  let reason = code ? REASONS[code] : undefined;
  if (!reason && err instanceof RangeError) reason = 'the file is too large to read into memory';
  reason ??= err instanceof Error ? err.message : String(err);
  return new PathError(`${shown}: cannot ${doing}: ${reason}`, { input: 'PATH', cause: err });
}

/** What a path that is neither a regular file nor a directory is, for the message. */
export function describeSpecial(info: {
  isFIFO(): boolean;
  isSocket(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
}): string {
  if (info.isFIFO()) return 'a named pipe (FIFO)';
  if (info.isSocket()) return 'a socket';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}
