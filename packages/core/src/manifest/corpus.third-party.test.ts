import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Lexer, parseAllDocuments } from 'yaml';
import { ManifestParseError } from '../errors.js';
import { type ImageReference, parseImageReference } from '../image/reference.js';
import { findImages, planImageEdits } from './editor.js';
import type { FoundImage } from './types.js';

// Real manifest files from public GitOps repositories (../shared/corpus): third-party data, so
// .ci/run runs this when ../shared is beside the clone, not `npm test` (vitest project third-party).
// Every image in every file is set to a new tag; the edit must touch those values and nothing else.

function findCorpus(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'shared', 'corpus');
    if (existsSync(join(candidate, 'IMAGES.tsv'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(
        'the real-world corpus was not found: no shared/corpus in any directory above this test; ' +
          'in CI it must sit beside the clone (../shared/corpus)',
      );
    }
    dir = parent;
  }
}

const CORPUS = findCorpus();

function tsv(name: string): Record<string, string>[] {
  const [head, ...rows] = readFileSync(join(CORPUS, name), 'utf8').trimEnd().split('\n');
  const cols = head!.split('\t');
  return rows.map((row) => {
    const cells = row.split('\t');
    return Object.fromEntries(cols.map((c, i) => [c, cells[i] ?? '']));
  });
}

function corpusFiles(): string[] {
  const out: string[] = [];
  const files = join(CORPUS, 'files');
  for (const repo of readdirSync(files).sort()) {
    for (const f of readdirSync(join(files, repo)).sort()) out.push(`files/${repo}/${f}`);
  }
  return out;
}

const read = (p: string) => readFileSync(join(CORPUS, p), 'utf8');

/** The image a found place names (Argo's `old=new:tag` → new), or undefined. */
function nameOf(found: FoundImage): ImageReference | undefined {
  const value = found.value.includes('=')
    ? found.value.slice(found.value.indexOf('=') + 1)
    : found.value;
  try {
    const ref = parseImageReference(value);
    delete ref.tag;
    delete ref.digest;
    return ref;
  } catch {
    return undefined;
  }
}

/** Source tokens of a text, without the lexer's control markers. */
const tokens = (text: string) =>
  [...new Lexer().lex(text)].filter(
    (t) => !(t.length === 1 && t < ' ' && t !== '\n' && t !== '\t'),
  );

const INSERTED = /^\s*(?:newTag|tag|digest): \S+\r?$/;

/** Pairs up lines; returns how many differ. Fails on a difference that is not an image edit. */
function compareLines(before: string, after: string, path: string): number {
  const a = before.split('\n');
  const b = after.split('\n');
  let i = 0;
  let j = 0;
  let changed = 0;
  while (i < a.length || j < b.length) {
    if (a[i] === b[j]) {
      i++;
      j++;
      continue;
    }
    changed++;
    if (b[j] !== undefined && INSERTED.test(b[j]!) && a[i] === b[j + 1]) {
      j++;
      continue;
    }
    const ta = tokens(a[i] ?? '');
    const tb = tokens(b[j] ?? '');
    expect(tb.length, `${path}:${i + 1}: ${a[i]} → ${b[j]}`).toBe(ta.length);
    i++;
    j++;
  }
  return changed;
}

/** Tokens that differ between two texts whose lines pair up (inserted tag lines skipped). */
function changedTokensOf(before: string, after: string): [string, string][] {
  const a = before.split('\n');
  const b = after.split('\n');
  const out: [string, string][] = [];
  let j = 0;
  for (let i = 0; i < a.length; i++, j++) {
    if (a[i] === b[j]) continue;
    if (INSERTED.test(b[j]!) && a[i] === b[j + 1]) {
      const t = tokens(b[j]!.trim());
      out.push(['', t[t.length - 1]!.replace(/\r$/, '')]);
      j++;
      continue;
    }
    const ta = tokens(a[i]!);
    const tb = tokens(b[j]!);
    ta.forEach((t, k) => {
      if (t !== tb[k]) out.push([t, tb[k]!]);
    });
  }
  return out;
}

const roundtrip = tsv('ROUNDTRIP.tsv');
const broken = new Set(roundtrip.filter((r) => r.yaml_errors !== '0').map((r) => r.local_path!));
const files = corpusFiles();

describe('the real-world corpus', () => {
  it('is complete: every listed file is there', () => {
    expect(files.length).toBeGreaterThan(150);
    expect(new Set(files)).toEqual(new Set(roundtrip.map((r) => r.local_path)));
  });

  it('invalid files raise ManifestParseError with file, line and column', () => {
    expect(broken.size).toBeGreaterThan(0);
    for (const path of broken) {
      let error: unknown;
      try {
        findImages(read(path), { file: path });
      } catch (err) {
        error = err;
      }
      expect(error, path).toBeInstanceOf(ManifestParseError);
      expect((error as ManifestParseError).location).toMatchObject({
        file: path,
        line: 1,
        column: 1,
      });
    }
  });

  // The all-digit tag must be quoted where it stands alone and may stay plain inside `repo:tag`.
  for (const tag of ['1234567', 'v9.9.9-corpus']) {
    it(`setting every image to :${tag} changes only the image values, byte for byte`, () => {
      let edited = 0;
      let places = 0;
      for (const path of files) {
        if (broken.has(path)) continue;
        const text = read(path);
        const found = findImages(text, { file: path });
        const editable = found.filter((f) => !f.uneditable);
        const names = new Map<string, ImageReference>();
        for (const f of editable) {
          const ref = nameOf(f);
          if (ref) names.set(`${ref.registry ?? ''}/${ref.repository}`, ref);
        }
        // Leave out images that are also at an uneditable place of the same file.
        for (const f of found.filter((x) => x.uneditable)) {
          const ref = nameOf(f);
          if (ref) names.delete(`${ref.registry ?? ''}/${ref.repository}`);
        }
        if (names.size === 0) continue;
        const images = [...names.values()].map((r) => ({ ...r, tag }));
        const plan = planImageEdits([{ path, text }], { images });
        // Every editable place of a requested image matched, none skipped.
        const expected = editable.filter((f) => {
          const ref = nameOf(f);
          return ref !== undefined && names.has(`${ref.registry ?? ''}/${ref.repository}`);
        }).length;
        expect(plan.matched, path).toBeGreaterThanOrEqual(expected);
        places += plan.matched;
        if (plan.edits.length === 0) continue;
        edited++;
        const after = plan.edits[0]!.after;

        // Bytes: equal lines, lines whose only different tokens are image scalars, and (where a
        // tag field was missing) whole inserted `tag:` lines.
        const changed = compareLines(text, after, path);
        expect(changed, path).toBeGreaterThan(0);
        for (const [from, to] of changedTokensOf(text, after)) {
          const unquoted = to.replace(/\r$/, '').replace(/^["']|["']$/g, '');
          expect(
            unquoted === tag || unquoted.endsWith(`:${tag}`) || unquoted === '',
            `${path}: ${from} → ${to}`,
          ).toBe(true);
        }
        expect(plan.edits[0]!.changes.length, path).toBeGreaterThan(0);

        // Meaning: under YAML 1.2 and 1.1 the documents are equal except at the edited values.
        for (const version of ['1.2', '1.1'] as const) {
          const a = parseAllDocuments(text, { version }).map((d) => d.toJS());
          const b = parseAllDocuments(after, { version }).map((d) => d.toJS());
          const diffs: [string, unknown, unknown][] = [];
          diffLeaves(a, b, '', diffs);
          expect(diffs.length, path).toBeGreaterThan(0);
          for (const [where, from, to] of diffs) {
            expect(typeof to, `${path} ${where}`).toBe('string');
            const s = to as string;
            const ok =
              s === tag ||
              s.endsWith(`:${tag}`) ||
              (s === '' && typeof from === 'string' && from.startsWith('sha256:'));
            expect(ok, `${path} ${where}: ${String(from)} → ${s} (YAML ${version})`).toBe(true);
          }
        }
      }
      expect(edited).toBeGreaterThan(100);
      expect(places).toBeGreaterThan(150);
      // Parsing the corpus four times over takes seconds on a busy machine; not a speed test.
    }, 120_000);
  }

  it('findImages finds the container, kustomize, Helm and Argo CD images IMAGES.tsv lists', () => {
    // Deliberate differences, each checked to really be absent:
    // - `image` rows: `image:` outside container lists in Kubernetes objects (a Ceph RBD volume's
    //   image, a Prometheus CR's spec.image) are not container images; edit those with --key.
    //   A single `container:`/`script:` map (Knative runLatest, Argo Workflows) is one, and found.
    // - a tag with no repository beside it (Argo's single-global-helm `image.tag` parameter and
    //   values file) names no image to match; only --key can edit it.
    // - `regex.*` rows come from files a strict parser rejects.
    const notFound = (row: Record<string, string>) =>
      (row.ref_type === 'image' && !/\.(?:container|script)\.image$/.test(row.yaml_path!)) ||
      row.ref_type!.startsWith('regex') ||
      row.local_path!.includes('single-global-helm');
    const rows = tsv('IMAGES.tsv');
    const byFile = new Map<string, FoundImage[]>();
    const places = (path: string) => {
      if (!byFile.has(path)) byFile.set(path, findImages(read(path), { file: path }));
      return byFile.get(path)!;
    };
    let checked = 0;
    for (const row of rows) {
      const found = places(row.local_path!);
      const doc = Number(row.doc_index);
      const yamlPath = row.yaml_path!;
      const type = row.ref_type!.replace(/\[.*$/, '');
      let hit: FoundImage | undefined;
      if (type === 'container.image' || type === 'argocd.kustomize.images' || type === 'image') {
        hit = found.find((f) => f.document === doc && f.path === yamlPath);
        if (hit && type === 'container.image') {
          expect([hit.line, hit.column], yamlPath).toEqual([Number(row.line), Number(row.col)]);
          expect(hit.value).toBe(row.value);
        }
      } else if (type.startsWith('image-map.') || type.startsWith('kustomize.images.')) {
        const mapPath = yamlPath.slice(0, yamlPath.lastIndexOf('.'));
        hit = found.find((f) => f.document === doc && f.path === mapPath);
      } else if (type === 'argocd.helm.parameter') {
        hit = found.find((f) => f.document === doc && f.kind === 'argocd');
      }
      if (notFound(row)) {
        expect(hit, `${row.local_path} ${yamlPath} is a deliberate miss`).toBeUndefined();
      } else {
        expect(hit, `${row.local_path} ${yamlPath} (${row.ref_type}) not found`).toBeDefined();
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(300);
  }, 60_000);

  it('PAIRS.tsv: applying the same image change to .before gives .after byte for byte', () => {
    const pairs = tsv('PAIRS.tsv');
    expect(pairs.length).toBeGreaterThan(10);
    for (const pair of pairs) {
      const before = read(pair.before!);
      const after = read(pair.after!);
      const a = findImages(before);
      const b = findImages(after);
      expect(b.map((f) => f.path)).toEqual(a.map((f) => f.path));
      const images: ImageReference[] = [];
      a.forEach((f, i) => {
        if (f.value !== b[i]!.value) images.push(parseImageReference(b[i]!.value));
      });
      expect(images.length, pair.before).toBeGreaterThan(0);
      const plan = planImageEdits([{ path: pair.path_in_repo!, text: before }], { images });
      expect(plan.edits[0]?.after, pair.before).toBe(after);
    }
  });
});

function diffLeaves(a: unknown, b: unknown, path: string, out: [string, unknown, unknown][]): void {
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    if (Array.isArray(a) !== Array.isArray(b)) {
      out.push([path, a, b]);
      return;
    }
    const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
    for (const k of keys) {
      diffLeaves(
        (a as Record<string, unknown>)[k],
        (b as Record<string, unknown>)[k],
        `${path}/${k}`,
        out,
      );
    }
    return;
  }
  if (!Object.is(a, b) && !(a instanceof Date && b instanceof Date && +a === +b)) {
    out.push([path, a, b]);
  }
}
