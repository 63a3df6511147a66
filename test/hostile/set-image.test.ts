import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  cli,
  type Entry,
  expectDone,
  expectRefused,
  type Refusal,
  RUN_AS,
  snapshot,
  tempDir,
  writeTree,
} from './harness.js';

const SHA = `sha256:${'b'.repeat(64)}`;
const deploy = (image: string) =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: ${image}\n`;
const GOOD = { 'deploy.yaml': deploy('ghcr.io/acme/web:1.0.0') };

interface Case {
  name: string;
  tree?: Record<string, Entry>;
  argv: string[];
  refusal: Refusal;
  unprivileged?: boolean;
  env?: Record<string, string>;
}

// Nested 20,000 deep: a recursive parser or walker would overflow its stack.
const deep = `a: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`;
// The "billion laughs": nine levels of aliases, each nine times the one before.
const laughs = [
  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  ...'bcdefghi'
    .split('')
    .map((c, i) => `${c}: &${c} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(',')}]`),
  'image: ghcr.io/acme/web:1.0.0',
].join('\n');

const cases: Case[] = [
  // --- the image argument ---
  { name: 'no IMAGE at all', argv: [], refusal: { code: 2, names: ['IMAGE is required'] } },
  {
    name: 'IMAGE with no tag or digest',
    argv: ['ghcr.io/acme/web'],
    refusal: { code: 2, names: ['ghcr.io/acme/web', 'no tag or digest'] },
  },
  {
    name: 'IMAGE in uppercase',
    argv: ['ghcr.io/Acme/Web:1'],
    refusal: { code: 2, names: ['IMAGE', 'must be lowercase'] },
  },
  {
    name: 'a digest one hex digit short',
    argv: [`ghcr.io/acme/web@sha256:${'b'.repeat(63)}`],
    refusal: { code: 2, names: ['IMAGE', 'has 64 hex digits, this one has 63'] },
  },
  {
    name: 'a digest of an unknown algorithm',
    argv: [`ghcr.io/acme/web@md5:${'b'.repeat(32)}`],
    refusal: { code: 2, names: ['"md5" is not a registered digest algorithm'] },
  },
  {
    name: 'a digest in uppercase hex',
    argv: [`ghcr.io/acme/web@sha256:${'B'.repeat(64)}`],
    refusal: { code: 2, names: ['must be lowercase'] },
  },
  {
    name: 'a sha512 digest of sha256 length',
    argv: [`ghcr.io/acme/web@sha512:${'b'.repeat(64)}`],
    refusal: { code: 2, names: ['a sha512 digest has 128 hex digits'] },
  },
  {
    name: 'a tag of 129 characters',
    argv: [`ghcr.io/acme/web:${'x'.repeat(129)}`],
    refusal: { code: 2, names: ['not a valid tag'] },
  },
  {
    name: 'a tag holding a terminal escape sequence',
    argv: ['ghcr.io/acme/web:v1\u001b[2J'],
    refusal: { code: 2, names: ['\\u001b[2J', 'not a valid tag'] },
  },
  {
    name: 'IMAGE with a leading space',
    argv: [' ghcr.io/acme/web:1'],
    refusal: { code: 2, names: ['whitespace'] },
  },
  {
    name: 'IMAGE that is a URL',
    argv: ['https://ghcr.io/acme/web:1'],
    refusal: { code: 2, names: ['IMAGE', 'https://ghcr.io/acme/web:1'] },
  },
  // --- paths that are not files ---
  {
    name: 'a PATH that does not exist',
    argv: ['ghcr.io/acme/web:2', 'nope.yaml'],
    refusal: { code: 1, names: ['nope.yaml: no such file or directory'] },
  },
  {
    name: 'a dangling symlink as PATH',
    tree: { 'gone.yaml': { symlink: 'missing.yaml' } },
    argv: ['ghcr.io/acme/web:2', 'gone.yaml'],
    refusal: { code: 1, names: ['gone.yaml: no such file', 'symlink'] },
  },
  {
    name: 'a FIFO as PATH (reading it would hang)',
    tree: { 'pipe.yaml': { fifo: true } },
    argv: ['ghcr.io/acme/web:2', 'pipe.yaml'],
    refusal: { code: 1, names: ['pipe.yaml is a named pipe (FIFO)'] },
  },
  {
    name: 'a character device as PATH',
    argv: ['ghcr.io/acme/web:2', '/dev/zero'],
    refusal: { code: 1, names: ['/dev/zero is a character device'] },
  },
  {
    name: 'a directory with no YAML files',
    tree: { 'docs/README.md': 'no yaml here\n' },
    argv: ['ghcr.io/acme/web:2', 'docs'],
    refusal: { code: 1, names: ['docs: no YAML files (*.yaml, *.yml) in this directory'] },
  },
  {
    name: 'a symlink given directly that leads out of the tree',
    tree: { 'values.yaml': { symlink: '/etc/hostname' } },
    argv: ['ghcr.io/acme/web:2', 'values.yaml'],
    refusal: { code: 1, names: ['values.yaml is a symlink to /etc/hostname', 'outside'] },
  },
  {
    name: 'a symlink inside a directory that leads out of it',
    tree: {
      ...GOOD,
      'base/kustomization.yaml': 'resources: []\n',
      'base/x.yaml': { symlink: '../deploy.yaml' },
    },
    argv: ['ghcr.io/acme/web:2', 'base'],
    refusal: { code: 1, names: ['base/x.yaml is a symlink to', 'outside'] },
  },
  {
    name: 'a path through a symlinked directory that leads out of the tree',
    tree: { etc: { symlink: '/etc' } },
    argv: ['ghcr.io/acme/web:2', 'etc/hostname'],
    refusal: { code: 1, names: ['etc/hostname is a symlink to /etc/hostname', 'outside'] },
  },
  {
    name: 'a file with a Latin-1 byte in a comment',
    tree: {
      'deploy.yaml': Buffer.concat([
        Buffer.from('# caf'),
        Buffer.from([0xe9]),
        Buffer.from(`\n${deploy('ghcr.io/acme/web:1.0.0')}`),
      ]),
    },
    argv: ['ghcr.io/acme/web:2', 'deploy.yaml'],
    refusal: { code: 1, names: ['deploy.yaml:1', 'not UTF-8 text (byte 0xe9'] },
  },
  {
    name: 'a UTF-16 file',
    tree: { 'deploy.yaml': Buffer.from(`\ufeff${deploy('ghcr.io/acme/web:1.0.0')}`, 'utf16le') },
    argv: ['ghcr.io/acme/web:2', 'deploy.yaml'],
    refusal: { code: 1, names: ['deploy.yaml:1', 'not UTF-8 text'] },
  },
  // --- YAML that does not parse ---
  {
    name: 'an unclosed double quote',
    tree: { 'deploy.yaml': deploy('"ghcr.io/acme/web:1.0.0') },
    argv: ['ghcr.io/acme/web:2', 'deploy.yaml'],
    refusal: { code: 1, names: [/deploy\.yaml:1\d:\d+: /, 'not valid YAML'] },
  },
  {
    name: 'a tab used for indentation',
    tree: { 'deploy.yaml': 'spec:\n\tcontainers: []\n' },
    argv: ['ghcr.io/acme/web:2', 'deploy.yaml'],
    refusal: { code: 1, names: [/deploy\.yaml:2:\d+: /, 'not valid YAML'] },
  },
  {
    name: 'a key given twice',
    tree: { 'deploy.yaml': 'image: a:1\nimage: ghcr.io/acme/web:1.0.0\n' },
    argv: ['ghcr.io/acme/web:2', 'deploy.yaml'],
    refusal: { code: 1, names: [/deploy\.yaml:2:\d+: .*unique/] },
  },
  {
    name: 'an unclosed flow sequence',
    tree: { 'deploy.yaml': 'images: [ghcr.io/acme/web:1.0.0\nother: 1\n' },
    argv: ['ghcr.io/acme/web:2', 'deploy.yaml'],
    refusal: { code: 1, names: [/deploy\.yaml:\d+:\d+: /, 'not valid YAML'] },
  },
  {
    name: 'a broken second document',
    tree: { 'all.yaml': `${deploy('ghcr.io/acme/web:1.0.0')}---\nkind: [\n` },
    argv: ['ghcr.io/acme/web:2', 'all.yaml'],
    refusal: { code: 1, names: [/all\.yaml:1[23]:\d+: /] },
  },
  {
    name: 'an alias to an undefined anchor',
    tree: { 'deploy.yaml': deploy('*nowhere') },
    argv: ['ghcr.io/acme/web:2', 'deploy.yaml'],
    refusal: { code: 1, names: [/deploy\.yaml:10:18: the alias \*nowhere refers to no anchor/] },
  },
  {
    name: 'nesting 20,000 levels deep',
    tree: { 'deep.yaml': deep },
    argv: ['ghcr.io/acme/web:2', 'deep.yaml'],
    refusal: { code: 1, names: [/deep\.yaml:1:\d+: collections are nested too deeply/] },
  },
  {
    name: 'a billion laughs of aliases',
    tree: { 'values.yaml': laughs },
    argv: ['ghcr.io/acme/other:2', 'values.yaml'],
    refusal: { code: 1, names: ['ghcr.io/acme/other:2', 'was not found in values.yaml'] },
  },
  // --- values that must not be rewritten ---
  {
    name: 'an image that is an alias of a value elsewhere',
    tree: { 'deploy.yaml': `x: &img ghcr.io/acme/web:1.0.0\n${deploy('*img')}` },
    argv: ['ghcr.io/acme/web:2', 'deploy.yaml'],
    refusal: { code: 1, names: [/deploy\.yaml:11:\d+: /, 'alias'] },
  },
  {
    name: 'an image that is a Helm template',
    tree: { 'deploy.yaml': deploy('"ghcr.io/acme/web:{{ .Values.tag }}"') },
    argv: ['ghcr.io/acme/web:2', 'deploy.yaml'],
    refusal: { code: 1, names: [/deploy\.yaml:10:\d+: /, 'template'] },
  },
  {
    name: 'an image that is a $(VAR) substitution',
    tree: { 'deploy.yaml': deploy('ghcr.io/acme/web:$(TAG)') },
    argv: ['ghcr.io/acme/web:2', 'deploy.yaml'],
    refusal: { code: 1, names: [/deploy\.yaml:10:\d+: /, 'substituted later'] },
  },
  {
    name: 'an image no file deploys',
    tree: GOOD,
    argv: ['ghcr.io/acme/api:2', '.'],
    refusal: { code: 1, names: ['ghcr.io/acme/api:2', 'ghcr.io/acme/web:1.0.0 (deploy.yaml:10)'] },
  },
  {
    name: 'an empty file',
    tree: { 'empty.yaml': '' },
    argv: ['ghcr.io/acme/web:2', 'empty.yaml'],
    refusal: { code: 1, names: ['was not found in empty.yaml'] },
  },
  {
    name: '--add-missing on a kustomization whose images: is a mapping',
    tree: { 'kustomization.yaml': 'resources:\n  - deploy.yaml\nimages:\n  name: web\n' },
    argv: ['ghcr.io/acme/web:2', 'kustomization.yaml', '--add-missing'],
    refusal: { code: 1, names: ['kustomization.yaml:3:1', 'images: is a mapping, not a list'] },
  },
  {
    name: 'a digest-only release into a map with no digest key',
    tree: { 'values.yaml': 'image:\n  repository: ghcr.io/acme/web\n  tag: 1.0.0\n' },
    argv: [`ghcr.io/acme/web@${SHA}`, 'values.yaml'],
    refusal: { code: 1, names: ['values.yaml:3', 'keeps no "digest"', '--add-missing'] },
  },
  // --- --key ---
  {
    name: '--key to a path that is not there',
    tree: GOOD,
    argv: ['ghcr.io/acme/web:2', 'deploy.yaml', '--key', '.spec.template.spec.containers[3].image'],
    refusal: {
      code: 1,
      names: ['deploy.yaml', 'key ".spec.template.spec.containers[3].image"', 'has 1 items'],
    },
  },
  {
    name: '--key that is not a path',
    tree: GOOD,
    argv: ['ghcr.io/acme/web:2', 'deploy.yaml', '--key', '.spec[[name='],
    refusal: { code: 1, names: ['.spec[[name='] },
  },
  {
    name: '--key to a value that is not an image reference',
    tree: GOOD,
    argv: ['ghcr.io/acme/web:2', 'deploy.yaml', '--key', '.metadata.name'],
    refusal: {
      code: 1,
      names: ['key ".metadata.name"', '"web", is another image than ghcr.io/acme/web', '--rename'],
    },
  },
  {
    name: '--key to a mapping',
    tree: GOOD,
    argv: ['ghcr.io/acme/web:2', 'deploy.yaml', '--key', '.metadata'],
    refusal: { code: 1, names: ['key ".metadata"', 'leads to a mapping'] },
  },
  {
    name: '--key to a tag field holding something else',
    tree: { 'values.yaml': 'image:\n  repository: ghcr.io/acme/web\n  tag: "not a tag!"\n' },
    argv: ['ghcr.io/acme/web:2', 'values.yaml', '--key', '.image.tag'],
    refusal: { code: 1, names: ['key ".image.tag"', '"not a tag!", is not an image tag'] },
  },
  {
    name: '--key that is empty',
    tree: GOOD,
    argv: ['ghcr.io/acme/web:2', 'deploy.yaml', '--key', ' '],
    refusal: { code: 2, names: ['--key must not be empty'] },
  },
  {
    name: '--rename without --key',
    tree: GOOD,
    argv: ['ghcr.io/acme/web:2', 'deploy.yaml', '--rename'],
    refusal: { code: 2, names: ['--rename applies only with --key'] },
  },
  {
    name: 'an unknown flag',
    tree: GOOD,
    argv: ['ghcr.io/acme/web:2', '--dryrun'],
    refusal: { code: 2, names: ['--dryrun', 'set-image --help'] },
  },
  // --- names from the input reach the terminal escaped ---
  {
    name: 'a file name holding an escape sequence, with invalid YAML',
    tree: { 'ev\u001b[31mil.yaml': 'a: [\n' },
    argv: ['ghcr.io/acme/web:2', '.'],
    refusal: { code: 1, names: ['ev\\u001b[31mil.yaml:'] },
  },
  {
    name: 'an image value with a bidi override, not found',
    tree: { 'deploy.yaml': deploy('"ghcr.io/acme/web:1\u202e0"') },
    argv: ['ghcr.io/acme/api:2', 'deploy.yaml'],
    refusal: { code: 1, names: ['ghcr.io/acme/api:2'] },
  },
];

const permissionCases: Case[] = [
  {
    name: 'a file the user may not read',
    tree: { 'deploy.yaml': { text: deploy('ghcr.io/acme/web:1.0.0'), mode: 0o600 } },
    argv: ['ghcr.io/acme/web:2', 'deploy.yaml'],
    refusal: { code: 1, names: ['deploy.yaml: cannot read it: permission denied'] },
    unprivileged: true,
  },
  {
    name: 'a directory the user may not list',
    tree: {
      'base/deploy.yaml': deploy('ghcr.io/acme/web:1.0.0'),
      base: { dir: true, mode: 0o700 },
    },
    argv: ['ghcr.io/acme/web:2', 'base'],
    refusal: { code: 1, names: ['base: cannot list the directory: permission denied'] },
    unprivileged: true,
  },
  {
    name: 'a read-only file',
    tree: {
      'deploy.yaml': { text: deploy('ghcr.io/acme/web:1.0.0'), mode: 0o444, owner: 'unprivileged' },
    },
    argv: ['ghcr.io/acme/web:2', 'deploy.yaml'],
    refusal: { code: 1, names: ['deploy.yaml: cannot write it: permission denied'] },
    unprivileged: true,
  },
  {
    name: 'a writable file in a read-only directory',
    tree: {
      'ro/deploy.yaml': {
        text: deploy('ghcr.io/acme/web:1.0.0'),
        mode: 0o644,
        owner: 'unprivileged',
      },
    },
    argv: ['ghcr.io/acme/web:2', 'ro/deploy.yaml'],
    refusal: {
      code: 1,
      names: ['ro/deploy.yaml: cannot write a temporary file in', 'permission denied'],
    },
    unprivileged: true,
  },
];

async function refusedCase(c: Case) {
  const dir = tempDir('set-image');
  writeTree(dir, c.tree ?? {});
  const before = snapshot(dir);
  const out = await cli(['set-image', ...c.argv], {
    cwd: dir,
    ...(c.env ? { env: c.env } : {}),
    ...(c.unprivileged ? { unprivileged: true } : {}),
  });
  expectRefused(out, c.refusal);
  expect(snapshot(dir), 'no file changed, none left behind').toEqual(before);
}

describe('set-image refuses hostile and unusual input, changing nothing', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => refusedCase(c));
  it.each(permissionCases.map((c) => [c.name, c] as const))(
    `%s (run as ${RUN_AS?.name ?? 'the current user'})`,
    async (_name, c) => refusedCase(c),
  );
});

describe('set-image on unusual input that is fine', () => {
  it('edits a CRLF file with a BOM and control characters in comments, byte for byte', async () => {
    const dir = tempDir('set-image-ok');
    const text = `\ufeff# \u0007bell \u001b[31mred\r\n${deploy('ghcr.io/acme/web:1.0.0 # \u202e').replace(/\n/g, '\r\n')}`;
    writeTree(dir, { 'deploy.yaml': text });
    const out = await cli(['set-image', 'ghcr.io/acme/web:2.0.0', 'deploy.yaml'], { cwd: dir });
    expectDone(out);
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(join(dir, 'deploy.yaml'), 'utf8')).toBe(
      text.replace('web:1.0.0', 'web:2.0.0'),
    );
  });

  it('edits a Renovate pin in its own form and says so when a digest has no place', async () => {
    const dir = tempDir('set-image-ok');
    const pinned = `image:\n  repository: ghcr.io/acme/web\n  tag: 1.0.0@sha256:${'a'.repeat(64)}\n`;
    writeTree(dir, {
      'values.yaml': pinned,
      'plain/values.yaml': 'image:\n  repository: ghcr.io/acme/web\n  tag: 1.0.0\n',
    });
    const out = await cli(['set-image', `ghcr.io/acme/web:1.1.0@${SHA}`, '.'], { cwd: dir });
    expectDone(out);
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(join(dir, 'values.yaml'), 'utf8')).toBe(
      pinned.replace(/1\.0\.0@.*/, `1.1.0@${SHA}`),
    );
    expect(readFileSync(join(dir, 'plain/values.yaml'), 'utf8')).toContain('tag: 1.1.0\n');
    expect(out.stderr).toContain('note: plain/values.yaml:3: wrote the tag only');
  });
});
