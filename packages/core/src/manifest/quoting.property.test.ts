import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { isValidTag, parseImageReference } from '../image/reference.js';
import { setImage } from './editor.js';
import { plainNeedsQuotes, renderScalar } from './scalar-style.js';

// Tags a YAML reader could take for something else: numbers in every base and notation, booleans
// and nulls of YAML 1.1, dates, plus ordinary tags. Each must come back as exactly that string.
const misreadable = fc.oneof(
  fc.stringMatching(/^[0-9]{1,12}$/),
  fc.stringMatching(/^0[0-7]{1,8}$/),
  fc.stringMatching(/^[0-9]{1,4}[eE][0-9]{1,5}$/),
  fc.stringMatching(/^[0-9]{1,4}\.[0-9]{0,4}([eE][-+]?[0-9]{1,3})?$/),
  fc.stringMatching(/^0x[0-9a-fA-F_]{1,6}$/),
  fc.stringMatching(/^0o[0-7]{1,6}$/),
  fc.stringMatching(/^0b[01_]{1,8}$/),
  fc.stringMatching(/^[1-9][0-9_]{0,6}$/),
  fc.stringMatching(/^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}$/),
  fc.constantFrom(
    'true',
    'True',
    'TRUE',
    'false',
    'y',
    'Y',
    'n',
    'N',
    'yes',
    'Yes',
    'no',
    'NO',
    'on',
    'On',
    'off',
    'OFF',
    'null',
    'Null',
    'NULL',
    '_',
    '1_000',
    '12e4567',
    '1234567',
    '0123456',
    '1.10',
  ),
  fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}$/),
);
const tags = misreadable.filter(isValidTag);

const STYLES = {
  plain: (v: string) => v,
  single: (v: string) => `'${v}'`,
  double: (v: string) => `"${v}"`,
};
type Style = keyof typeof STYLES;
const styles = fc.constantFrom<Style>('plain', 'single', 'double');

function readBoth(text: string): unknown[] {
  return [parse(text), parse(text, { version: '1.1' })];
}

describe('quoting (property tests)', () => {
  it('a kustomize newTag reads back as exactly the tag under YAML 1.2 and 1.1', () => {
    fc.assert(
      fc.property(tags, styles, (tag, style) => {
        const head =
          'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nimages:\n- name: app\n  newTag: ';
        const text = `${head}${STYLES[style]('v0')} # keep\n`;
        const out = setImage(text, { image: { repository: 'app', tag } }).text;
        expect(out.startsWith(head)).toBe(true);
        expect(out.endsWith(' # keep\n')).toBe(true);
        // A quoted value keeps its quote style.
        if (style !== 'plain') expect(out.slice(head.length)[0]).toBe(STYLES[style]('x')[0]);
        for (const doc of readBoth(out)) {
          expect((doc as { images: { newTag: unknown }[] }).images[0]!.newTag).toBe(tag);
        }
      }),
      { numRuns: 400 },
    );
  }, 60_000);

  it('a Helm values tag and an image: repo:tag string read back exactly, in flow maps too', () => {
    fc.assert(
      fc.property(tags, styles, fc.boolean(), (tag, style, flow) => {
        const text = flow
          ? `image: {repository: acme/app, tag: ${STYLES[style]('1')}}\nsidecar:\n  image: ${STYLES[style]('acme/side:1')}\n`
          : `image:\n  repository: acme/app\n  tag: ${STYLES[style]('1')}\nsidecar:\n  image: ${STYLES[style]('acme/side:1')}\n`;
        let out = setImage(text, { image: { repository: 'acme/app', tag } }).text;
        out = setImage(out, { image: { repository: 'acme/side', tag } }).text;
        for (const doc of readBoth(out)) {
          const v = doc as { image: { tag: unknown }; sidecar: { image: unknown } };
          expect(v.image.tag).toBe(tag);
          expect(v.sidecar.image).toBe(`acme/side:${tag}`);
        }
      }),
      { numRuns: 400 },
    );
  }, 60_000);

  it('renderScalar: whatever the string, the rendering reads back as that string', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 12 }), fc.string({ maxLength: 6, unit: 'binary' })),
        styles,
        (value, style) => {
          const style2 = { plain: 'PLAIN', single: 'QUOTE_SINGLE', double: 'QUOTE_DOUBLE' }[style];
          const text = `k: ${renderScalar(value, style2)}\n`;
          for (const doc of readBoth(text)) expect((doc as { k: unknown }).k).toBe(value);
        },
      ),
      { numRuns: 500 },
    );
  }, 60_000);

  it('plainNeedsQuotes leaves ordinary tags plain', () => {
    for (const tag of [
      '6.14.1',
      'v1.2.3',
      'latest',
      '1.29.1-debian-12-r0',
      'sha-abc1234',
      'main',
    ]) {
      expect(plainNeedsQuotes(tag), tag).toBe(false);
    }
  });
});

describe('layout (property tests)', () => {
  // Random but valid layouts of one Deployment: the edit must equal replacing the one image value.
  const layout = fc.record({
    indent: fc.constantFrom(2, 4),
    indentedSeq: fc.boolean(),
    flow: fc.boolean(),
    style: styles,
    comment: fc.boolean(),
    crlf: fc.boolean(),
    bom: fc.boolean(),
    before: fc.integer({ min: 0, max: 2 }),
    docs: fc.integer({ min: 0, max: 2 }),
    name: fc.constantFrom(
      'nginx',
      'docker.io/library/nginx',
      'ghcr.io/acme/app',
      'localhost:5000/app',
    ),
  });

  it('changes only the image value whatever the layout', () => {
    fc.assert(
      fc.property(layout, tags, (l, tag) => {
        const sp = (n: number) => ' '.repeat(n);
        const q = STYLES[l.style];
        const old = `${l.name}:1.0`;
        const containers: string[] = [];
        for (let i = 0; i < l.before; i++) containers.push(`other-${i}:${i}`);
        containers.push(old);
        const i3 = l.indent * 3;
        let body: string;
        if (l.flow) {
          body = `${sp(i3)}containers: [${containers.map((c, i) => `{name: c${i}, image: ${q(c)}}`).join(', ')}]`;
        } else {
          const dash = l.indentedSeq ? i3 + l.indent : i3;
          body = `${sp(i3)}containers:\n${containers
            .map(
              (c, i) =>
                `${sp(dash)}- name: c${i}\n${sp(dash + 2)}image: ${q(c)}${c === old && l.comment ? '  # the app' : ''}`,
            )
            .join('\n')}`;
        }
        const doc = `apiVersion: apps/v1\nkind: Deployment\nspec:\n${sp(l.indent)}template:\n${sp(l.indent * 2)}spec:\n${sp(i3)}# pod\n${body}\n`;
        let text = `${'kind: ConfigMap\napiVersion: v1\ndata: {a: "1"}\n---\n'.repeat(l.docs)}${doc}`;
        // The image really is where a Deployment keeps it.
        const docs = parseAllDocuments(text);
        const pod = docs[docs.length - 1]!.toJS().spec.template.spec;
        expect(pod.containers[l.before].image).toBe(old);
        if (l.crlf) text = text.replace(/\n/g, '\r\n');
        if (l.bom) text = `\uFEFF${text}`;
        const result = setImage(text, { image: { ...parseImageReference(l.name), tag } });
        const newValue = `${l.name}:${tag}`;
        const expected = text.replace(q(old), l.style === 'plain' ? newValue : q(newValue));
        expect(result.text).toBe(expected);
        expect(result.changes).toHaveLength(1);
      }),
      { numRuns: 300 },
    );
  }, 60_000);
});
