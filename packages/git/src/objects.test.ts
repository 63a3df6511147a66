import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LooseObjectWriter, parentDirs, parseTree, writeCommit } from './objects.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const env = {
  ...process.env,
  GIT_AUTHOR_NAME: 't',
  GIT_AUTHOR_EMAIL: 't@example.test',
  GIT_COMMITTER_NAME: 't',
  GIT_COMMITTER_EMAIL: 't@example.test',
};
const git = (cwd: string, args: string[], input?: string) =>
  execFileSync('git', args, { cwd, env, encoding: 'utf8', ...(input ? { input } : {}) }).trim();

/** A repository whose tree mixes the names git orders specially ('a' the tree vs 'a.yaml'). */
function repository(): string {
  const work = mkdtempSync(join(tmpdir(), 'objects-test-'));
  dirs.push(work);
  const files: Record<string, string> = {
    'a.yaml': 'top: 1\n',
    'a/b/c.yaml': 'image: x:1\n',
    'a/b-c.yaml': 'dash: 1\n',
    'a/run.sh': '#!/bin/sh\n',
    'README.md': '# r\n',
  };
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(work, path)), { recursive: true });
    writeFileSync(join(work, path), text);
  }
  chmodSync(join(work, 'a/run.sh'), 0o755);
  git(work, ['init', '-q', '-b', 'main']);
  git(work, ['add', '.']);
  git(work, ['commit', '-q', '-m', 'init']);
  return work;
}

describe('writeCommit', () => {
  it('builds the same trees as git for edited, executable and new files, and fsck accepts them', async () => {
    const work = repository();
    const parent = git(work, ['rev-parse', 'HEAD']);
    const changes = [
      { path: 'a/b/c.yaml', text: 'image: x:2\n', mode: '100644' },
      { path: 'a/run.sh', text: '#!/bin/sh\necho 2\n', mode: '100755' },
      { path: 'z/new.yaml', text: 'new: 1\n', mode: '100644' },
    ];
    const trees = new Map();
    for (const d of new Set(changes.flatMap((c) => parentDirs(c.path)))) {
      const rev = d ? `${parent}:${d}` : `${parent}^{tree}`;
      try {
        const oid = git(work, ['rev-parse', rev]);
        trees.set(d, parseTree(execFileSync('git', ['cat-file', 'tree', oid], { cwd: work })));
      } catch {}
    }
    const sha = await writeCommit(new LooseObjectWriter(join(work, '.git')), {
      parent,
      trees,
      files: changes,
      message: 'Release x:2',
      author: { name: 'gitops-release', email: 'r@example.test' },
      when: { seconds: 1_700_000_000, offsetMinutes: 330 },
    });

    // git's own answer: the same changes through the index.
    for (const c of changes) {
      mkdirSync(dirname(join(work, c.path)), { recursive: true });
      writeFileSync(join(work, c.path), c.text);
    }
    git(work, ['add', '-A']);
    expect(git(work, ['rev-parse', `${sha}^{tree}`])).toBe(git(work, ['write-tree']));
    expect(git(work, ['cat-file', 'commit', sha])).toContain(`parent ${parent}`);
    expect(git(work, ['log', '-1', '--format=%an <%ae> %ai%n%s', sha])).toBe(
      'gitops-release <r@example.test> 2023-11-15 03:43:20 +0530\nRelease x:2',
    );
    git(work, ['fsck', '--strict', '--no-progress']);
  });
});
