import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseImageReference } from '../image/reference.js';
import { planImageEdits } from './editor.js';

// Before/after pairs in the forms real repositories keep their pins in (Renovate's
// `tag: x@sha256:…` in Helm values, kustomize newTag + digest, Argo CD parameters, …), written
// for this test in the shapes of the corpus files: each release must give the after file exactly.

const dir = new URL('./fixtures/shapes/', import.meta.url);
const read = (name: string) => readFileSync(new URL(name, dir), 'utf8');
const rows = read('SHAPES.tsv')
  .trimEnd()
  .split('\n')
  .slice(1)
  .map((line) => line.split('\t') as [string, string, string]);

describe('an edit keeps the form the file holds its reference in', () => {
  it.each(rows)('%s → %s', (before, after, image) => {
    const plan = planImageEdits([{ path: before, text: read(before) }], {
      images: [parseImageReference(image)],
    });
    expect(plan.edits).toHaveLength(1);
    expect(plan.edits[0]!.after).toBe(read(after));
  });

  it('says so when a digest has nowhere to go, and adds the key only when asked', () => {
    const text = read('values-no-digest-key.before.yaml');
    const image = parseImageReference(
      `ghcr.io/stefanprodan/podinfo:6.14.1@sha256:${'b'.repeat(64)}`,
    );
    const plan = planImageEdits([{ path: 'values.yaml', text }], { images: [image] });
    expect(plan.notes).toEqual([expect.stringMatching(/^values\.yaml:3: wrote the tag only/)]);
    const asked = planImageEdits([{ path: 'values.yaml', text }], {
      images: [image],
      addMissing: true,
    });
    expect(asked.edits[0]!.after).toContain(`\n  digest: sha256:${'b'.repeat(64)}\n`);
    expect(asked.notes).toBeUndefined();
  });
});
