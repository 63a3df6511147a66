import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  type Node,
  parseAllDocuments,
  type Scalar,
  type YAMLMap,
} from 'yaml';
import {
  EditVerificationError,
  ImageNotFoundError,
  InvalidImageReferenceError,
  KeyPathError,
  ManifestParseError,
  UneditableValueError,
  UsageError,
} from '../errors.js';
import {
  canonicalImageName,
  digestProblem,
  formatImageReference,
  type ImageReference,
  imageName,
  isValidDigest,
  isValidTag,
  tryParseImageReference,
} from '../image/reference.js';
import { formatStep, type KeyStep, parseKeyPath } from './key-path.js';
import { plainNeedsQuotes, renderScalar } from './scalar-style.js';
import {
  type Analysis,
  analyze,
  composeFields,
  type FieldsPlace,
  firstLine,
  keyOf,
  lineColumn,
  type Place,
  type RefPlace,
  type Slot,
  statedValue,
} from './scan.js';
import type {
  FoundImage,
  ImageChange,
  ImageEditPlan,
  ImageKind,
  ManifestFile,
  PlanImagesRequest,
  PlannedEdit,
  SetImageRequest,
  SetImageResult,
  SkippedFile,
} from './types.js';

// Edits splice the original text at the source ranges of the scalars they change; a document is
// never re-stringified, so comments, quoting, blank lines, CRLF and a BOM stay as they were.
//
// Digest policy: a request with a tag but no digest, at a place pinned by a digest, removes the
// old digest (from `repo:tag@sha256:…`, or empties the `digest` field). The old digest names the
// old build; kept, it would win over the new tag and nothing would deploy. A digest-only request
// keeps the existing tag, so `repo:1.2` becomes `repo:1.2@sha256:…`.

interface Splice {
  start: number;
  end: number;
  text: string;
}

interface Pending {
  splices: Splice[];
  changes: ImageChange[];
  matched: number;
  /** Entries added to a kustomization in this plan, so a second image joins the first. */
  added: Map<object, Splice>;
  /** What the user should know about an edit that was made differently than asked. */
  notes: string[];
}

function locate(an: Analysis, offset: number): { line: number; column: number } {
  return lineColumn(an, offset);
}

function uneditable(an: Analysis, place: { offset: number; path: string }, why: string): never {
  const { line, column } = locate(an, place.offset);
  const loc: { file?: string; line: number; column: number } = { line, column };
  if (an.file !== undefined) loc.file = an.file;
  throw new UneditableValueError(`the image at ${place.path} cannot be edited safely: ${why}`, loc);
}

function eolOf(text: string): string {
  const nl = text.indexOf('\n');
  return nl > 0 && text[nl - 1] === '\r' ? '\r\n' : '\n';
}

/** Replaces a scalar's source with `value` in the scalar's own style. */
function scalarSplice(an: Analysis, slot: Slot, value: string): Splice {
  const node = slot.node;
  const [start, end] = node.range!;
  if (node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED') {
    // One line of content: edit it in place, header and indentation untouched.
    const src = an.text.slice(start, end);
    const at = src.indexOf(slot.value, src.indexOf('\n'));
    if (at === -1 || slot.value === '') {
      uneditable(an, { offset: start, path: 'block scalar' }, 'its content could not be located');
    }
    return { start: start + at, end: start + at + slot.value.length, text: value };
  }
  const rendered = renderScalar(value, node.type);
  if (start === end) {
    // `tag:` with no value: keep one space after the colon.
    const needsSpace = an.text[start - 1] !== ' ' && an.text[start - 1] !== '\t';
    return { start, end, text: needsSpace ? ` ${rendered}` : rendered };
  }
  return { start, end, text: rendered };
}

/**
 * True when the slot must be written: its value differs, or it already states the value but plain,
 * where YAML reads it as something else (`tag: 1.10` is the number 1.1): then it gets quoted.
 */
function needsWrite(slot: Slot, value: string): boolean {
  if (slot.value !== value) return true;
  return slot.node.type === 'PLAIN' && value !== '' && plainNeedsQuotes(value);
}

function validateImage(image: ImageReference): void {
  const shown = formatImageReference(image);
  if (image.tag === undefined && image.digest === undefined) {
    throw new InvalidImageReferenceError(
      shown,
      'it names no tag or digest to set; give IMAGE:TAG, IMAGE@sha256:… or both',
      'image',
    );
  }
  if (image.tag !== undefined && !isValidTag(image.tag)) {
    throw new InvalidImageReferenceError(shown, `"${image.tag}" is not a valid tag`, 'image');
  }
  const problem = image.digest === undefined ? undefined : digestProblem(image.digest);
  if (problem) {
    throw new InvalidImageReferenceError(
      shown,
      `"${image.digest}" is not a digest: ${problem}`,
      'image',
    );
  }
}

function change(
  an: Analysis,
  kind: ImageKind,
  offset: number,
  from: string,
  to: string,
): ImageChange {
  const { line, column } = locate(an, offset);
  const c: ImageChange = { line, column, kind, from, to };
  if (an.file !== undefined) c.file = an.file;
  return c;
}

function editRefPlace(an: Analysis, place: RefPlace, image: ImageReference, out: Pending): void {
  const body = place.body!;
  const next: ImageReference = { ...body };
  // `repo@sha256:…` names no tag: a release with a digest keeps that form.
  const digestOnly = body.tag === undefined && body.digest !== undefined;
  if (image.tag !== undefined && !(digestOnly && image.digest !== undefined)) {
    next.tag = image.tag;
    if (image.digest === undefined) delete next.digest;
  }
  if (image.digest !== undefined) next.digest = image.digest;
  const to = place.prefix + formatImageReference(next);
  const slot = place.slot!;
  if (!needsWrite(slot, to)) return;
  out.splices.push(scalarSplice(an, slot, to));
  out.changes.push(change(an, place.kind, slot.node.range![0], place.value, to));
}

/** A new `key: value` line (or `, key: value` in a flow map) after the map's last entry. */
function insertField(an: Analysis, map: YAMLMap, key: string, value: string): Splice {
  const last = map.items[map.items.length - 1];
  const rendered = renderScalar(value, 'PLAIN');
  const lastNode = (last?.value ?? last?.key) as Node | undefined;
  const end = lastNode?.range?.[1];
  if (end === undefined) throw new Error('cannot add a field to an empty map');
  if (map.flow) return { start: end, end, text: `, ${key}: ${rendered}` };
  const first = map.items[0]!.key as Node;
  const column = locate(an, first.range![0]).column - 1;
  return lineAfter(an, end, `${' '.repeat(column)}${key}: ${rendered}`);
}

/** Inserts `line` as a new line after the line holding `offset`. */
function lineAfter(an: Analysis, offset: number, line: string): Splice {
  const text = an.text;
  const eol = eolOf(text);
  if (offset > 0 && text[offset - 1] === '\n')
    return { start: offset, end: offset, text: line + eol };
  const nl = text.indexOf('\n', offset);
  if (nl === -1) return { start: text.length, end: text.length, text: eol + line };
  return { start: nl + 1, end: nl + 1, text: line + eol };
}

/** `1.2@sha256:…` in a tag field: the combined pin Renovate writes into Helm values. */
function splitCombinedTag(value: string | undefined): { tag: string; digest: string } | undefined {
  if (value === undefined) return undefined;
  const at = value.indexOf('@');
  if (at === -1) return undefined;
  return { tag: value.slice(0, at), digest: value.slice(at + 1) };
}

/**
 * Kustomize reads a `digest` in every images: entry, so one may be added there; a Helm chart or an
 * Argo CD parameter list reads only the keys its templates name, so a new one is added on request.
 */
function mayAddField(place: FieldsPlace, addMissing: boolean): boolean {
  return place.kind === 'kustomize' || addMissing;
}

function editFieldsPlace(
  an: Analysis,
  place: FieldsPlace,
  image: ImageReference,
  out: Pending,
  addMissing = false,
) {
  const splices: Splice[] = [];
  let tag = place.tag?.value;
  let digest = place.digest?.value;
  const setField = (slot: Slot | undefined, key: string, value: string) => {
    if (slot) {
      if (needsWrite(slot, value)) splices.push(scalarSplice(an, slot, value));
    } else if (place.map) {
      splices.push(insertField(an, place.map, key, value));
    } else {
      uneditable(an, place, `it has no "${key}" to set; add it, then retry`);
    }
  };
  const combined = splitCombinedTag(tag);
  if (combined) {
    // Keep the file's form: the pin stays inside the tag field, no digest key is added.
    const nextTag = image.tag ?? combined.tag;
    const nextDigest = image.digest ?? (image.tag === undefined ? combined.digest : undefined);
    const value = nextDigest === undefined ? nextTag : `${nextTag}@${nextDigest}`;
    setField(place.tag, place.tagKey, value);
    tag = value;
    if (image.digest === undefined && digest) {
      setField(place.digest, place.digestKey, '');
      digest = '';
    }
  } else {
    if (image.tag !== undefined) {
      setField(place.tag, place.tagKey, image.tag);
      tag = image.tag;
      if (image.digest === undefined && digest) {
        setField(place.digest, place.digestKey, '');
        digest = '';
      }
    }
    if (image.digest !== undefined) {
      if (place.digest || (place.map && mayAddField(place, addMissing))) {
        setField(place.digest, place.digestKey, image.digest);
        digest = image.digest;
      } else if (image.tag === undefined) {
        uneditable(
          an,
          place,
          `it keeps no "${place.digestKey}" for this image, and a new key would be one the chart may not read; add "${place.digestKey}:" where the chart reads it, or pass --add-missing`,
        );
      } else {
        out.notes.push(
          `${where(an, place)}: wrote the tag only: ${place.name} has no "${place.digestKey}" here, and a new key would be one the chart may not read (pass --add-missing to add it)`,
        );
      }
    }
  }
  if (splices.length === 0) return;
  const from = place.value;
  const to = composeFields(place, tag, digest);
  out.splices.push(...splices);
  const first = Math.min(...splices.map((s) => s.start));
  out.changes.push(change(an, place.kind, first, from, to));
}

function where(an: Analysis, place: { offset: number }): string {
  const { line } = locate(an, place.offset);
  return `${an.file ?? '(input)'}:${line}`;
}

function matches(place: Place, canonical: string): boolean {
  place.canonical ??= place.names.map(canonicalImageName);
  return place.canonical.includes(canonical);
}

/** Applies one image to every matching place of an analysed file. */
function applyImage(
  an: Analysis,
  image: ImageReference,
  addMissing: boolean,
  out: Pending,
  claimed: Set<Node>,
): void {
  const canonical = canonicalImageName(image);
  const aliases: RefPlace[] = [];
  const matchedDocs = new Set<number>();
  for (const place of an.places) {
    if (!matches(place, canonical)) continue;
    out.matched++;
    if (place.kind === 'kustomize') matchedDocs.add(place.document);
    if (place.shape === 'ref' && place.aliasOf) {
      aliases.push(place);
      continue;
    }
    if (place.uneditable) uneditable(an, place, place.uneditable);
    if (place.shape === 'ref') {
      claimed.add(place.slot!.node);
      editRefPlace(an, place, image, out);
    } else {
      editFieldsPlace(an, place, image, out, addMissing);
    }
  }
  // An alias is fine when its anchor is itself a matching place we edited (or found up to date).
  for (const place of aliases) {
    if (!claimed.has(place.aliasOf!)) uneditable(an, place, place.uneditable!);
  }
  if (addMissing) {
    for (const k of an.kustomizations) {
      if (matchedDocs.has(k.document)) continue;
      const prior = out.added.get(k);
      const splice = addKustomizeEntry(an, k, image, prior);
      if (splice) {
        out.splices.push(splice);
        out.added.set(k, splice);
      }
      const { line, column } = locate(an, (splice ?? prior!).start);
      const c: ImageChange = {
        line,
        column,
        kind: 'kustomize',
        from: '',
        to: formatImageReference(image),
      };
      if (an.file !== undefined) c.file = an.file;
      out.changes.push(c);
      out.matched++;
    }
  }
}

/**
 * Adds an `images:` entry in the indentation style the file already uses. A second image added to
 * the same kustomization in one plan joins the first one's insertion (one `images:` key, one list).
 */
function addKustomizeEntry(
  an: Analysis,
  k: Analysis['kustomizations'][number],
  image: ImageReference,
  prior: Splice | undefined,
): Splice | undefined {
  const fields: [string, string][] = [['name', imageName(image)]];
  if (image.tag !== undefined) fields.push(['newTag', image.tag]);
  if (image.digest !== undefined) fields.push(['digest', image.digest]);
  const render = (v: string) => renderScalar(v, 'PLAIN');
  const seq = k.imagesPair?.value;
  if (k.imagesPair && !isSeq(seq) && !isBareNull(seq)) {
    // Appending a second images: key would leave a file no YAML reader accepts.
    const what = isMap(seq)
      ? 'a mapping'
      : isAlias(seq)
        ? 'an alias'
        : `"${String((seq as Scalar).value)}"`;
    uneditable(
      an,
      { offset: (k.imagesPair.key as Node).range![0], path: 'images' },
      `images: is ${what}, not a list of entries; make it a list (images: [] or "- name: …" items), then retry`,
    );
  }
  if (isSeq(seq) && seq.flow) {
    const entry = `{${fields.map(([f, v]) => `${f}: ${render(v)}`).join(', ')}}`;
    if (prior) {
      prior.text += `, ${entry}`;
      return undefined;
    }
    const last = seq.items[seq.items.length - 1] as Node | undefined;
    if (last?.range) return { start: last.range[1], end: last.range[1], text: `, ${entry}` };
    const close = an.text.lastIndexOf(']', seq.range![1]);
    return { start: close, end: close, text: entry };
  }
  const lines = (dash: number, key: number) =>
    fields.map(
      ([f, v], i) =>
        `${i === 0 ? `${' '.repeat(dash)}-${' '.repeat(key - dash - 1)}` : ' '.repeat(key)}${f}: ${render(v)}`,
    );
  const eol = eolOf(an.text);
  const append = (entry: string[]): undefined => {
    const text = entry.join(eol);
    if (prior!.text.endsWith(eol)) prior!.text += text + eol;
    else prior!.text += eol + text;
    return undefined;
  };
  if (isSeq(seq) && seq.items.length > 0) {
    const first = seq.items[0] as Node;
    const last = seq.items[seq.items.length - 1] as Node;
    const keyCol = locate(an, first.range![0]).column - 1;
    const dashAt = an.text.lastIndexOf('-', first.range![0]);
    const dashCol = locate(an, dashAt).column - 1;
    if (prior) return append(lines(dashCol, keyCol));
    return lineAfter(an, last.range![1], lines(dashCol, keyCol).join(eol));
  }
  // No entries yet: follow how the file indents its other lists (`- ` under or beside the key).
  const root = k.root;
  const keyCol = locate(an, (root.items[0]!.key as Node).range![0]).column - 1;
  let dashIndent = 0;
  for (const pair of root.items) {
    const v = pair.value;
    if (isSeq(v) && !v.flow && v.items.length > 0) {
      const at = an.text.lastIndexOf('-', (v.items[0] as Node).range![0]);
      dashIndent = locate(an, at).column - 1 - keyCol;
      break;
    }
  }
  const entry = lines(keyCol + dashIndent, keyCol + dashIndent + 2);
  if (prior) return append(entry);
  const pair = k.imagesPair;
  if (pair && isBareNull(pair.value)) {
    // `images:` with nothing under it: the entry goes on the following lines.
    const keyEnd = (pair.key as Node).range![1];
    const colon = an.text.indexOf(':', keyEnd);
    return lineAfter(an, colon + 1, entry.join(eol));
  }
  const lastPair = root.items[root.items.length - 1]!;
  const end = ((lastPair.value ?? lastPair.key) as Node).range![1];
  return lineAfter(an, end, [`${' '.repeat(keyCol)}images:`, ...entry].join(eol));
}

/** `images:` with nothing after it (not `~` or `null` written out, which a splice cannot extend). */
function isBareNull(node: unknown): boolean {
  return isScalar(node) && node.value === null && node.range![0] === node.range![1];
}

function applySplices(text: string, splices: Splice[]): string {
  if (splices.length === 0) return text;
  const sorted = splices
    .map((s, i) => ({ s, i }))
    .sort((a, b) => a.s.start - b.s.start || a.i - b.i)
    .map((x) => x.s);
  let out = '';
  let pos = 0;
  for (const s of sorted) {
    if (s.start < pos) continue; // the same scalar edited twice (e.g. one image listed twice)
    out += text.slice(pos, s.start) + s.text;
    pos = s.end;
  }
  return out + text.slice(pos);
}

// --- explicit key paths -------------------------------------------------------------------------

function keyError(key: string, file: string | undefined, reason: string, notFound = false) {
  const err = new KeyPathError(`${file ? `${file}: ` : ''}key "${key}": ${reason}`, {
    input: 'key',
    ...(file === undefined ? {} : { location: { file } }),
  });
  if (notFound) (err as KeyPathError & { notFound?: boolean }).notFound = true;
  return err;
}

/** Follows the steps in one document; a string naming the first step that fails when it does not lead anywhere. */
function resolveKey(root: unknown, steps: readonly KeyStep[]): Node | string {
  let node = root as Node | null | undefined;
  let walked = '';
  for (const step of steps) {
    const here = walked || '.';
    if (step.type === 'key') {
      if (!isMap(node)) return `${here} is not a mapping, so it has no key "${step.key}"`;
      const pair = node.items.find((p) => keyOf(p) === step.key);
      if (!pair) return `${here} has no key "${step.key}"`;
      node = pair.value as Node | null;
    } else if (step.type === 'index') {
      if (!isSeq(node)) return `${here} is not a list, so it has no item [${step.index}]`;
      if (step.index >= node.items.length) {
        return `${here} has ${node.items.length} items, so there is no [${step.index}]`;
      }
      node = node.items[step.index] as Node;
    } else {
      if (!isSeq(node)) return `${here} is not a list to select [${step.field}=${step.value}] in`;
      const found = node.items.find((item) => {
        if (!isMap(item)) return false;
        const v = item.items.find((p) => keyOf(p) === step.field)?.value;
        return isScalar(v) && String(v.value) === step.value;
      });
      if (!found) return `${here} has no item with ${step.field}: ${step.value}`;
      node = found as Node;
    }
    walked += formatStep(step);
    if (node === null || node === undefined) {
      return steps[steps.length - 1] === step ? `${walked} is empty` : `${walked} is empty`;
    }
  }
  return node as Node;
}

/**
 * The new value at a key, after checking that the value it replaces is what the key claims: an
 * image reference (of the same image unless `rename`), a tag or a digest — never any scalar.
 */
function keyValue(
  an: Analysis,
  key: string,
  mode: 'tag' | 'digest' | 'ref',
  stated: string,
  image: ImageReference,
  fieldValue: string,
  rename: boolean,
): string {
  const refuse = (what: string): never => {
    throw keyError(
      key,
      an.file,
      `the value there, "${stated}", is not ${what}; --key replaces only that`,
    );
  };
  if (mode === 'tag') {
    const combined = splitCombinedTag(stated);
    if (combined) {
      if (!isValidTag(combined.tag) || !isValidDigest(combined.digest)) refuse('a tag@digest pin');
      return image.digest === undefined ? fieldValue : `${fieldValue}@${image.digest}`;
    }
    if (stated !== '' && !isValidTag(stated)) refuse('an image tag');
    return fieldValue;
  }
  if (mode === 'digest') {
    if (stated !== '' && !isValidDigest(stated)) refuse('an image digest');
    return fieldValue;
  }
  // The same image keeps its name as the file spells it; another one only when asked to rename.
  const current = stated === '' ? undefined : tryParseImageReference(stated);
  if (stated !== '' && !current) refuse('an image reference');
  let ref: ImageReference;
  if (current && canonicalImageName(current) === canonicalImageName(image)) ref = { ...current };
  else if (current && !rename) {
    throw keyError(
      key,
      an.file,
      `the value there, "${stated}", is another image than ${imageName(image)}; pass --rename to replace it`,
    );
  } else ref = { ...image };
  if (image.tag !== undefined) {
    ref.tag = image.tag;
    if (image.digest === undefined) delete ref.digest;
  }
  if (image.digest !== undefined) ref.digest = image.digest;
  return formatImageReference(ref);
}

function applyKey(
  an: Analysis,
  key: string,
  image: ImageReference,
  out: Pending,
  rename = false,
): void {
  const steps = parseKeyPath(key, an.file);
  const last = steps[steps.length - 1];
  const lastKey = last?.type === 'key' ? last.key : '';
  // A key to a tag field sets the tag; to a digest field the digest; otherwise the whole reference.
  const mode = /tag$/i.test(lastKey) ? 'tag' : /digest$/i.test(lastKey) ? 'digest' : 'ref';
  const fieldValue = mode === 'tag' ? image.tag : mode === 'digest' ? image.digest : '';
  if (fieldValue === undefined) {
    throw keyError(
      key,
      an.file,
      `it leads to a ${mode} field, but "${formatImageReference(image)}" has no ${mode}`,
    );
  }
  let firstProblem: string | undefined;
  for (let d = 0; d < an.docs.length; d++) {
    const target = resolveKey(an.docs[d]!.contents, steps);
    if (typeof target === 'string') {
      firstProblem ??= target;
      continue;
    }
    const place = { offset: target.range?.[0] ?? 0, path: key };
    if (isAlias(target)) uneditable(an, place, 'it is an alias; edit the anchor it refers to');
    if (isMap(target)) {
      // A key to a Helm image map (`.api.image`) edits the map's tag/digest fields.
      const map = an.places.find((p) => p.shape === 'fields' && p.map === target);
      if (map?.shape === 'fields') {
        if (map.uneditable) uneditable(an, map, map.uneditable);
        out.matched++;
        editFieldsPlace(an, { ...map, kind: 'key' }, image, out);
        continue;
      }
    }
    if (!isScalar(target) || !target.range) {
      throw keyError(
        key,
        an.file,
        `it leads to a ${isSeq(target) ? 'list' : 'mapping'}, not a value`,
      );
    }
    const scalar = target as Scalar;
    const stated = scalar.value === null ? '' : (statedValue(an.text, scalar) ?? '');
    const value = keyValue(an, key, mode, stated, image, fieldValue, rename);
    out.matched++;
    const slot = { node: scalar, value: stated };
    if (!needsWrite(slot, value)) continue;
    out.splices.push(scalarSplice(an, slot, value));
    out.changes.push(change(an, 'key', scalar.range![0], stated, value));
  }
  if (out.matched === 0) {
    throw keyError(key, an.file, `${firstProblem ?? 'the file has no documents'}`, true);
  }
}

// --- public API ---------------------------------------------------------------------------------

function toFound(an: Analysis, place: Place): FoundImage {
  const { line, column } = locate(an, place.offset);
  const f: FoundImage = {
    line,
    column,
    kind: place.kind,
    value: place.value,
    path: place.path,
    document: place.document,
  };
  if (an.file !== undefined) f.file = an.file;
  if (place.uneditable) f.uneditable = place.uneditable;
  return f;
}

/** Every image reference in a YAML text, in file order. Throws ManifestParseError on invalid YAML. */
export function findImages(text: string, options: { file?: string } = {}): FoundImage[] {
  const an = analyze(text, options.file);
  return an.places
    .map((p) => toFound(an, p))
    .sort((a, b) => a.line - b.line || a.column - b.column);
}

function run(
  an: Analysis,
  images: readonly ImageReference[],
  key: string | undefined,
  addMissing: boolean,
  rename = false,
): Pending {
  const out: Pending = { splices: [], changes: [], matched: 0, added: new Map(), notes: [] };
  if (key !== undefined) {
    applyKey(an, key, images[0]!, out, rename);
    return out;
  }
  const claimed = new Set<Node>();
  for (const image of images) applyImage(an, image, addMissing, out, claimed);
  return out;
}

/**
 * Sets the tag and/or digest of `request.image` at every place in `text` that names it (or at
 * `request.key` only). Returns the new text, identical outside the edited scalars.
 */
export function setImage(text: string, request: SetImageRequest): SetImageResult {
  validateImage(request.image);
  const an = analyze(text, request.file);
  const out = run(
    an,
    [request.image],
    request.key,
    request.addMissing ?? false,
    request.rename ?? false,
  );
  out.changes.sort((a, b) => a.line - b.line || a.column - b.column);
  const result: SetImageResult = {
    text: applySplices(text, out.splices),
    changes: out.changes,
    matched: out.matched,
  };
  if (out.notes.length > 0) result.notes = out.notes;
  return result;
}

/**
 * Plans the edits of every file at once: each is parsed and edited in memory before anything is
 * written. Throws ImageNotFoundError (unless allowNoMatch) when an image is found in no file.
 */
export function planImageEdits(files: ManifestFile[], request: PlanImagesRequest): ImageEditPlan {
  const { key } = request;
  // One image given twice is one release; given twice with different tags it is a mistake.
  const byName = new Map<string, ImageReference>();
  for (const image of request.images) {
    const name = canonicalImageName(image);
    const seen = byName.get(name);
    if (!seen) byName.set(name, image);
    else if (seen.tag !== image.tag || seen.digest !== image.digest) {
      throw new UsageError(
        `the image ${imageName(image)} is given twice, as "${formatImageReference(seen)}" and "${formatImageReference(image)}"; give it once`,
        { input: 'image' },
      );
    }
  }
  const images = [...byName.values()];
  if (images.length === 0) {
    throw new InvalidImageReferenceError('', 'no image was given to release', 'image');
  }
  for (const image of images) validateImage(image);
  if (key !== undefined && images.length > 1) {
    throw new UsageError(
      `key "${key}" edits one place, so give exactly one image (${images.length} were given)`,
      { input: 'key' },
    );
  }
  const addMissing = request.addMissing ?? false;
  const edits: PlannedEdit[] = [];
  // What each file holds, for the not-found message; plain values so parsed documents can be
  // collected as soon as their file is planned (5,000 live documents cost the GC dearly).
  const seen: { file: string; text: string; values: string[]; offsets: number[] }[] = [];
  const perImage = new Map<string, number>(images.map((i) => [canonicalImageName(i), 0]));
  let matched = 0;
  let keyMisses: KeyPathError | undefined;
  const skipped: SkippedFile[] = [];
  const notes: string[] = [];
  for (const file of files) {
    let an: Analysis;
    try {
      an = analyze(file.text, file.path);
    } catch (err) {
      if (err instanceof ManifestParseError && file.text.includes('{{')) {
        skipped.push({ path: file.path, reason: `a template, not YAML (${err.message})` });
        continue;
      }
      throw err;
    }
    seen.push({
      file: file.path,
      text: file.text,
      values: an.places.map((p) => p.value),
      offsets: an.places.map((p) => p.offset),
    });
    let out: Pending;
    if (key !== undefined) {
      try {
        out = run(an, images, key, false, request.rename ?? false);
      } catch (err) {
        // A key that leads nowhere in this file is fine while another file has it.
        if (err instanceof KeyPathError && (err as { notFound?: boolean }).notFound) {
          keyMisses ??= err;
          continue;
        }
        throw err;
      }
    } else {
      out = { splices: [], changes: [], matched: 0, added: new Map(), notes: [] };
      const claimed = new Set<Node>();
      for (const image of images) {
        const before = out.matched;
        applyImage(an, image, addMissing, out, claimed);
        const c = canonicalImageName(image);
        perImage.set(c, perImage.get(c)! + out.matched - before);
      }
    }
    matched += out.matched;
    notes.push(...out.notes);
    const after = applySplices(file.text, out.splices);
    if (after !== file.text) {
      assertStillYaml(after, file.path);
      out.changes.sort((a, b) => a.line - b.line || a.column - b.column);
      edits.push({ path: file.path, before: file.text, after, changes: out.changes });
    }
  }
  if (key !== undefined) {
    if (matched === 0 && keyMisses) {
      if (files.length === 1) throw keyMisses;
      throw keyError(key, undefined, `it leads to a value in none of the ${files.length} files`);
    }
    return withSkipped({ edits, matched }, skipped, notes);
  }
  if (!request.allowNoMatch) {
    for (const image of images) {
      if (perImage.get(canonicalImageName(image)) !== 0) continue;
      const found = new Set<string>();
      for (const f of seen) {
        const an: Analysis = { text: f.text, docs: [], places: [], kustomizations: [] };
        f.values.forEach((value, i) => {
          if (value) found.add(`${value} (${f.file}:${locate(an, f.offsets[i]!).line})`);
        });
      }
      const where = files.length === 1 ? files[0]!.path : `any of the ${files.length} files given`;
      throw new ImageNotFoundError(formatImageReference(image), [...found].slice(0, 50), where);
    }
  }
  return withSkipped({ edits, matched }, skipped, notes);
}

function withSkipped(plan: ImageEditPlan, skipped: SkippedFile[], notes: string[]): ImageEditPlan {
  if (skipped.length > 0) plan.skipped = skipped;
  if (notes.length > 0) plan.notes = notes;
  return plan;
}

/**
 * Every edited text must parse again before anything is written: a splice that breaks the YAML is
 * a bug of ours, and it fails the whole plan instead of leaving a file kubectl cannot read.
 */
function assertStillYaml(after: string, file: string): void {
  for (const doc of parseAllDocuments(after)) {
    const err = doc.errors[0];
    if (err) throw new EditVerificationError(file, firstLine(err.message));
  }
}
