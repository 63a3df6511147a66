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

const pod = (image: string) =>
  `apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n    - name: web\n      image: ${image}\n`;

interface Case {
  name: string;
  tree?: Record<string, Entry>;
  argv: string[];
  refusal: Refusal;
  unprivileged?: boolean;
}

const cases: Case[] = [
  {
    name: 'a PATH that does not exist',
    argv: ['missing/'],
    refusal: { code: 1, names: ['missing/: no such file or directory'] },
  },
  {
    name: 'a FIFO among the PATHs',
    tree: { 'ok.yaml': pod('a:1'), fifo: { fifo: true } },
    argv: ['ok.yaml', 'fifo'],
    refusal: { code: 1, names: ['fifo is a named pipe (FIFO)'] },
  },
  {
    name: 'a socket-like device: /dev/tty or /dev/null',
    argv: ['/dev/null'],
    refusal: { code: 1, names: ['/dev/null is a character device'] },
  },
  {
    name: 'a directory of no YAML files',
    tree: { 'charts/README.md': '#\n', 'charts/values.json': '{}' },
    argv: ['charts'],
    refusal: { code: 1, names: ['charts: no YAML files'] },
  },
  {
    name: 'a symlink out of the tree',
    tree: { 'hosts.yaml': { symlink: '/etc/hosts' } },
    argv: ['hosts.yaml'],
    refusal: { code: 1, names: ['hosts.yaml is a symlink to /etc/hosts'] },
  },
  {
    name: 'a symlink loop',
    tree: { 'a.yaml': { symlink: 'b.yaml' }, 'b.yaml': { symlink: 'a.yaml' } },
    argv: ['a.yaml'],
    refusal: { code: 1, names: ['a.yaml', 'too many levels of symbolic links'] },
  },
  {
    name: 'bytes that are not UTF-8',
    tree: { 'pod.yaml': Buffer.concat([Buffer.from(pod('a:1')), Buffer.from([0xff, 0xfe, 0x0a])]) },
    argv: ['pod.yaml'],
    refusal: { code: 1, names: ['pod.yaml:9: not UTF-8 text (byte 0xff'] },
  },
  {
    name: 'a file that is not YAML at all (JSON with a trailing comma is fine YAML, this is not)',
    tree: { 'x.yaml': '{"a": [1, 2,, 3]}\n' },
    argv: ['x.yaml'],
    refusal: { code: 1, names: [/x\.yaml:1:\d+: /] },
  },
  {
    name: 'a document that is only an unterminated block scalar header',
    tree: { 'x.yaml': 'a: |0\n  b\n' },
    argv: ['x.yaml'],
    refusal: { code: 1, names: [/x\.yaml:1:\d+: /] },
  },
  {
    name: 'an undefined alias',
    tree: { 'x.yaml': 'a: *b\n' },
    argv: ['x.yaml'],
    refusal: { code: 1, names: ['x.yaml:1:4: the alias *b refers to no anchor'] },
  },
  {
    name: 'an unknown flag',
    argv: ['--jsn'],
    refusal: { code: 2, names: ['--jsn'] },
  },
  {
    name: 'a file name with a carriage return and invalid YAML',
    tree: { 'over\rwrite.yaml': 'a: [\n' },
    argv: ['.'],
    refusal: { code: 1, names: ['over\\u000dwrite.yaml'] },
  },
];

const permissionCases: Case[] = [
  {
    name: 'a file nobody may read',
    tree: { 'pod.yaml': { text: pod('a:1'), mode: 0o000 } },
    argv: ['pod.yaml'],
    refusal: { code: 1, names: ['pod.yaml: cannot read it: permission denied'] },
    unprivileged: true,
  },
  {
    name: 'a directory that may be listed but not entered',
    tree: { 'base/pod.yaml': pod('a:1'), base: { dir: true, mode: 0o744 } },
    argv: ['base'],
    refusal: { code: 1, names: ['base/pod.yaml', 'permission denied'] },
    unprivileged: true,
  },
];

describe('find-images refuses hostile and unusual input, changing nothing', () => {
  it.each([...cases, ...permissionCases].map((c) => [c.name, c] as const))(
    `%s`,
    async (_name, c) => {
      const dir = tempDir('find-images');
      writeTree(dir, c.tree ?? {});
      const before = snapshot(dir);
      const out = await cli(['find-images', ...c.argv], {
        cwd: dir,
        ...(c.unprivileged && RUN_AS ? { unprivileged: true } : {}),
      });
      expectRefused(out, c.refusal);
      expect(snapshot(dir)).toEqual(before);
    },
  );
});

describe('find-images prints what files hold without letting it drive the terminal', () => {
  const hostile = 'ghcr.io/acme/web:1 \u001b]0;owned\u0007\u001b[2J\r\u202e';

  it('escapes control characters of values in the listing', async () => {
    const dir = tempDir('find-images-ok');
    writeTree(dir, { 'pod.yaml': pod(JSON.stringify(hostile)) });
    const out = await cli(['find-images', 'pod.yaml'], { cwd: dir });
    expectDone(out);
    expect(out.stdout).toContain('\\u001b]0;owned\\u0007\\u001b[2J\\u000d\\u202e');
  });

  it('prints valid JSON that reads back as the file value', async () => {
    const dir = tempDir('find-images-ok');
    writeTree(dir, { 'pod.yaml': pod(JSON.stringify(hostile)) });
    const out = await cli(['find-images', '.', '--json'], { cwd: dir });
    expectDone(out);
    expect(JSON.parse(out.stdout).images[0].value).toBe(hostile);
  });

  it('lists a huge list of containers (20,000) in bounded time', async () => {
    const dir = tempDir('find-images-ok');
    const items = Array.from(
      { length: 20_000 },
      (_, i) => `    - name: c${i}\n      image: ghcr.io/acme/c${i}:1\n`,
    );
    writeTree(dir, {
      'pod.yaml': `apiVersion: v1\nkind: Pod\nspec:\n  containers:\n${items.join('')}`,
    });
    const out = await cli(['find-images', 'pod.yaml', '--json'], { cwd: dir });
    expectDone(out);
    expect(JSON.parse(out.stdout).images).toHaveLength(20_000);
  });
});
