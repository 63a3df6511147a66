import {
  chmod,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PathError } from '@gitops-release/core';
import { beforeEach, describe, expect, it } from 'vitest';
import { readManifestFiles, writeFilesAtomically } from './index.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gr-fs-'));
});

async function put(path: string, text: string) {
  await mkdir(join(dir, path, '..'), { recursive: true });
  await writeFile(join(dir, path), text);
}

describe('readManifestFiles', () => {
  it('walks directories for .yaml and .yml, skipping .git, keeping paths as given', async () => {
    await put('base/deployment.yaml', 'a: 1\n');
    await put('overlays/prod/kustomization.yml', 'b: 2\n');
    await put('overlays/prod/README.md', 'no');
    await put('.git/config.yaml', 'c: 3\n');
    const files = await readManifestFiles(['.'], dir);
    expect(files.map((f) => f.path)).toEqual([
      'base/deployment.yaml',
      'overlays/prod/kustomization.yml',
    ]);
    const some = await readManifestFiles(['overlays', 'base/deployment.yaml'], dir);
    expect(some.map((f) => f.path)).toEqual([
      'overlays/prod/kustomization.yml',
      'base/deployment.yaml',
    ]);
    expect(some[1]?.text).toBe('a: 1\n');
  });

  it('names a missing path', async () => {
    await expect(readManifestFiles(['nope'], dir)).rejects.toThrow(/nope: no such file/);
  });

  it('refuses a symlink that leads outside the tree, follows one inside it', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'gr-out-'));
    await writeFile(join(outside, 'secret.yaml'), 'x: 1\n');
    await put('tree/real.yaml', 'a: 1\n');
    await symlink(join(dir, 'tree/real.yaml'), join(dir, 'tree/inside.yaml'));
    expect((await readManifestFiles(['tree'], dir)).map((f) => f.path)).toEqual(['tree/real.yaml']);
    await symlink(join(outside, 'secret.yaml'), join(dir, 'tree/escape.yaml'));
    const err = await readManifestFiles(['tree'], dir).catch((e) => e);
    expect(err).toBeInstanceOf(PathError);
    expect(err.message).toContain('tree/escape.yaml');
  });

  it('refuses a symlink given directly that leads outside the working directory', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'gr-out-'));
    await writeFile(join(outside, 'secret.yaml'), 'x: 1\n');
    await symlink(join(outside, 'secret.yaml'), join(dir, 'values.yaml'));
    await expect(readManifestFiles(['values.yaml'], dir)).rejects.toThrow(
      /values\.yaml is a symlink to .*secret\.yaml, outside/,
    );
    await put('real.yaml', 'a: 1\n');
    await symlink(join(dir, 'real.yaml'), join(dir, 'inside.yaml'));
    expect((await readManifestFiles(['inside.yaml'], dir))[0]?.text).toBe('a: 1\n');
  });

  it('refuses files that are not UTF-8, naming the line, and keeps a BOM', async () => {
    await writeFile(join(dir, 'latin1.yaml'), Buffer.from('a: 1\n# caf\xe9\nb: 2\n', 'latin1'));
    await expect(readManifestFiles(['latin1.yaml'], dir)).rejects.toThrow(
      /^latin1\.yaml:2: not UTF-8 text \(byte 0xe9 at offset 10\)/,
    );
    await writeFile(join(dir, 'bom.yaml'), '\ufeffa: 1\n');
    expect((await readManifestFiles(['bom.yaml'], dir))[0]?.text).toBe('\ufeffa: 1\n');
  });

  it('says what a path is when it is not a file or directory, and when a directory has no YAML', async () => {
    await expect(readManifestFiles(['/dev/null'], dir)).rejects.toThrow(
      /\/dev\/null is a character device, not a regular file or a directory/,
    );
    await mkdir(join(dir, 'empty'));
    await put('empty/README.md', 'no yaml\n');
    await expect(readManifestFiles(['empty'], dir)).rejects.toThrow(
      /^empty: no YAML files \(\*\.yaml, \*\.yml\) in this directory$/,
    );
  });
});

describe('writeFilesAtomically', () => {
  it('replaces the files and keeps their mode', async () => {
    await put('a.yaml', 'old\n');
    await chmod(join(dir, 'a.yaml'), 0o640);
    await writeFilesAtomically([{ path: 'a.yaml', before: 'old\n', after: 'new\n' }], dir);
    expect(await readFile(join(dir, 'a.yaml'), 'utf8')).toBe('new\n');
    expect((await stat(join(dir, 'a.yaml'))).mode & 0o777).toBe(0o640);
    expect(await readdir(dir)).toEqual(['a.yaml']);
  });

  it('writes nothing at all when one file cannot be written', async () => {
    await put('a.yaml', 'a\n');
    await put('b.yaml', 'b\n');
    await writeFile(join(dir, 'b.yaml'), 'changed by someone else\n');
    const writes = [
      { path: 'a.yaml', before: 'a\n', after: 'A\n' },
      { path: 'b.yaml', before: 'b\n', after: 'B\n' },
    ];
    await expect(writeFilesAtomically(writes, dir)).rejects.toThrow(/b.yaml changed/);
    expect(await readFile(join(dir, 'a.yaml'), 'utf8')).toBe('a\n');
    expect((await readdir(dir)).sort()).toEqual(['a.yaml', 'b.yaml']);
  });

  it('keeps a symlink and replaces its target', async () => {
    await put('real.yaml', 'old\n');
    await symlink(join(dir, 'real.yaml'), join(dir, 'link.yaml'));
    await writeFilesAtomically([{ path: 'link.yaml', before: 'old\n', after: 'new\n' }], dir);
    expect(await readFile(join(dir, 'real.yaml'), 'utf8')).toBe('new\n');
    expect((await import('node:fs')).lstatSync(join(dir, 'link.yaml')).isSymbolicLink()).toBe(true);
  });
});
