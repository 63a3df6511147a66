import {
  type Alias,
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  type Node,
  type Pair,
  parseAllDocuments,
  type Scalar,
  visit,
  type YAMLMap,
  type YAMLSeq,
} from 'yaml';
import { ManifestParseError } from '../errors.js';
import { type ImageReference, tryParseImageReference } from '../image/reference.js';
import type { ImageKind } from './types.js';

// One pass over a parsed file that records every place holding an image reference, with the
// source ranges of the scalars that hold it. Editing then splices those ranges in the original text.

/** A scalar that holds (part of) an image reference, with its value as the file states it. */
export interface Slot {
  node: Scalar;
  /** The string as written: the source text for plain scalars (`1.10` stays `1.10`). */
  value: string;
}

interface PlaceBase {
  kind: ImageKind;
  document: number;
  path: string;
  /** Names that select this place (kustomize: `name` and `newName`; Argo: `old=` and new). */
  names: ImageReference[];
  /** `names` normalized, computed on first match. */
  canonical?: string[];
  /** The reference as the file states it. */
  value: string;
  /** Offset of the scalar reported as the place's position. */
  offset: number;
  uneditable?: string;
}

/** A whole reference in one scalar: `image: repo:tag`, or Argo's `[old=]new:tag`. */
export interface RefPlace extends PlaceBase {
  shape: 'ref';
  /** Undefined when the value is an alias (then `aliasOf` is its anchor's node). */
  slot?: Slot;
  aliasOf?: Node;
  /** `old=` in Argo CD kustomize images; empty elsewhere. */
  prefix: string;
  /** The part after the prefix, parsed. */
  body?: ImageReference;
}

/** A reference spread over fields: kustomize entries, Helm image maps, Argo helm parameters. */
export interface FieldsPlace extends PlaceBase {
  shape: 'fields';
  /** The name as stated, e.g. `docker.io/bitnami/nginx`, used to compose from/to. */
  name: string;
  tag?: Slot;
  digest?: Slot;
  tagKey: string;
  digestKey: string;
  /** The map to add a missing tag/digest field to; undefined when fields cannot be added. */
  map?: YAMLMap;
}

export type Place = RefPlace | FieldsPlace;

export interface KustomizationDoc {
  document: number;
  root: YAMLMap;
  imagesPair?: Pair;
}

export interface Analysis {
  text: string;
  file?: string;
  docs: Document.Parsed[];
  places: Place[];
  kustomizations: KustomizationDoc[];
  lineStarts?: number[];
}

const CONTAINER_LISTS = new Set(['containers', 'initContainers', 'ephemeralContainers']);
// Custom resources that run containers without a pod template: Tekton `steps`/`sidecars` lists,
// Argo Workflows' single `container`/`script` (and `sidecars`). Only inside Kubernetes objects.
const CR_CONTAINER_LISTS = new Set(['steps', 'sidecars']);
const CR_CONTAINER_MAPS = new Set(['container', 'script']);
const TEMPLATE = /\{\{|\$\(|\$\{/;

export function keyOf(pair: Pair): string | undefined {
  const k = pair.key;
  if (isScalar(k) && (typeof k.value === 'string' || typeof k.value === 'number')) {
    return String(k.value);
  }
  return undefined;
}

function getPair(map: YAMLMap, key: string): Pair | undefined {
  for (const pair of map.items) if (keyOf(pair) === key) return pair;
  return undefined;
}

function getNode(map: YAMLMap, key: string): Node | undefined {
  const v = getPair(map, key)?.value;
  return v == null ? undefined : (v as Node);
}

function getString(map: YAMLMap, key: string): string | undefined {
  const v = getNode(map, key);
  return isScalar(v) && typeof v.value === 'string' ? v.value : undefined;
}

export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? p : `.${p}`;
  }
  return out;
}

/** The scalar's string as written: source text for plain scalars, the value for quoted/block ones. */
export function statedValue(text: string, node: Scalar): string | undefined {
  const range = node.range;
  if (!range) return undefined;
  switch (node.type) {
    case 'PLAIN':
      return text.slice(range[0], range[1]);
    case 'QUOTE_SINGLE':
    case 'QUOTE_DOUBLE':
      return typeof node.value === 'string' ? node.value : String(node.value);
    case 'BLOCK_LITERAL':
    case 'BLOCK_FOLDED':
      return typeof node.value === 'string' ? node.value.replace(/\n+$/, '') : undefined;
    default:
      return undefined;
  }
}

function whyUneditable(node: Scalar, value: string): string | undefined {
  if (TEMPLATE.test(value)) {
    return value.includes('{{')
      ? 'it is a template ({{ … }}); edit the values the template reads instead'
      : 'it holds a variable ($(NAME) or $' +
          '{NAME}) that is substituted later; edit where the variable is set';
  }
  if ((node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED') && value.includes('\n')) {
    return 'it is a multi-line block scalar (| or >); write the image as a plain value';
  }
  if (
    node.tag !== undefined &&
    node.tag !== 'tag:yaml.org,2002:str' &&
    node.tag !== '!' &&
    node.tag !== '!!str'
  ) {
    return `it carries the explicit tag ${node.tag}`;
  }
  return undefined;
}

/** The reference name before any template or variable: `app:{{ .Values.tag }}` → `app`. */
function literalName(value: string): ImageReference | undefined {
  const m = TEMPLATE.exec(value);
  if (!m) return tryParseImageReference(value);
  const head = value.slice(0, m.index);
  const lastSlash = head.lastIndexOf('/');
  const colon = head.lastIndexOf(':');
  if (colon <= lastSlash || colon !== head.length - 1) return undefined;
  return tryParseImageReference(head.slice(0, colon));
}

interface Walker {
  an: Analysis;
  doc: Document.Parsed;
  document: number;
  path: (string | number)[];
}

function slotOf(an: Analysis, node: unknown): Slot | undefined {
  if (!isScalar(node) || !node.range) return undefined;
  if (node.value !== null && typeof node.value === 'object') return undefined;
  const value = node.value === null ? '' : statedValue(an.text, node);
  if (value === undefined) return undefined;
  return { node, value };
}

/** A single scalar (or alias) holding a whole reference. */
function addRefPlace(
  w: Walker,
  kind: ImageKind,
  node: unknown,
  pathTail: readonly (string | number)[],
  argoStyle = false,
): void {
  const path = formatPath([...w.path, ...pathTail]);
  if (isAlias(node)) {
    const target = (node as Alias).resolve(w.doc);
    const value = isScalar(target) && typeof target.value === 'string' ? target.value : undefined;
    if (value === undefined) return;
    const { prefix, names } = splitArgo(value, argoStyle);
    w.an.places.push({
      shape: 'ref',
      kind,
      document: w.document,
      path,
      names,
      value,
      offset: node.range?.[0] ?? 0,
      aliasOf: target,
      prefix,
      uneditable: `it is an alias (*${node.source}) of a value set elsewhere in the file; edit the anchor &${node.source}`,
    });
    return;
  }
  const slot = slotOf(w.an, node);
  if (!slot || slot.value === '') return;
  const { prefix, names, body } = splitArgo(slot.value, argoStyle);
  const place: RefPlace = {
    shape: 'ref',
    kind,
    document: w.document,
    path,
    names,
    value: slot.value,
    offset: slot.node.range![0],
    slot,
    prefix,
  };
  if (body) place.body = body;
  const why = whyUneditable(slot.node, slot.value);
  if (why) place.uneditable = why;
  else if (!body) {
    // A container's image that is no reference (a `<image_url>` placeholder) is still worth
    // listing; elsewhere an `image:` that is no reference is not an image at all.
    if (kind !== 'container') return;
    place.uneditable = 'it is not a valid image reference (a placeholder?)';
  }
  w.an.places.push(place);
}

/** Argo CD kustomize images are `[old=]new[:tag][@digest]`; elsewhere the whole value is the reference. */
function splitArgo(
  value: string,
  argoStyle: boolean,
): { prefix: string; names: ImageReference[]; body?: ImageReference } {
  let prefix = '';
  let rest = value;
  const names: ImageReference[] = [];
  if (argoStyle) {
    const eq = value.indexOf('=');
    if (eq !== -1) {
      prefix = value.slice(0, eq + 1);
      rest = value.slice(eq + 1);
      const old = tryParseImageReference(value.slice(0, eq));
      if (old) names.push(old);
    }
  }
  const body = TEMPLATE.test(rest) ? undefined : tryParseImageReference(rest);
  const name = body ?? literalName(rest);
  if (name) names.push(name);
  return body ? { prefix, names, body } : { prefix, names };
}

function composeRef(name: string, tag: string | undefined, digest: string | undefined): string {
  let out = name;
  if (tag) out += `:${tag}`;
  if (digest) out += `@${digest}`;
  return out;
}

export function composeFields(
  place: FieldsPlace,
  tag = place.tag?.value,
  digest = place.digest?.value,
): string {
  return composeRef(place.name, tag, digest);
}

function addFieldsPlace(
  w: Walker,
  kind: ImageKind,
  init: {
    name: string;
    names: ImageReference[];
    nameSlot?: Slot;
    tag?: Slot;
    digest?: Slot;
    tagKey: string;
    digestKey: string;
    map?: YAMLMap;
    aliased?: boolean;
  },
): void {
  const place: FieldsPlace = {
    shape: 'fields',
    kind,
    document: w.document,
    path: formatPath(w.path),
    names: init.names,
    value: '',
    offset: (init.tag ?? init.nameSlot)?.node.range?.[0] ?? 0,
    name: init.name,
    tagKey: init.tagKey,
    digestKey: init.digestKey,
  };
  if (init.tag) place.tag = init.tag;
  if (init.digest) place.digest = init.digest;
  if (init.map) place.map = init.map;
  place.value = composeFields(place);
  for (const slot of [init.nameSlot, init.tag, init.digest]) {
    if (!slot) continue;
    const why = whyUneditable(slot.node, slot.value);
    if (why) {
      place.uneditable = why;
      break;
    }
  }
  if (!place.uneditable && init.aliased) {
    place.uneditable = 'a field of it is an alias of a value set elsewhere; edit the anchor';
  }
  w.an.places.push(place);
}

/** A field of a map as a slot; `aliased` is set when it is an alias (which we never rewrite). */
function fieldSlot(
  w: Walker,
  map: YAMLMap,
  key: string,
  flags: { aliased: boolean },
): Slot | undefined {
  const v = getNode(map, key);
  if (v === undefined) {
    const pair = getPair(map, key);
    // `tag:` with nothing after it: a null scalar we can still fill in.
    return pair && isScalar(pair.value) ? slotOf(w.an, pair.value) : undefined;
  }
  if (isAlias(v)) {
    flags.aliased = true;
    return undefined;
  }
  return slotOf(w.an, v);
}

/** Helm values image maps: registry/repository/tag/digest, repository/tag, or name/tag under `image:`. */
function visitValuesMap(
  w: Walker,
  map: YAMLMap,
  parentKey: string | number | undefined,
  kind: ImageKind,
): void {
  const flags = { aliased: false };
  const repository = fieldSlot(w, map, 'repository', flags);
  const hasTag = getPair(map, 'tag') !== undefined;
  const hasDigest = getPair(map, 'digest') !== undefined;
  let nameSlot: Slot | undefined;
  let name: string | undefined;
  if (repository && repository.value !== '' && (parentKey === 'image' || hasTag || hasDigest)) {
    nameSlot = repository;
    const registry = fieldSlot(w, map, 'registry', flags);
    name =
      registry && registry.value !== ''
        ? `${registry.value}/${repository.value}`
        : repository.value;
  } else if (parentKey === 'image' && hasTag) {
    nameSlot = fieldSlot(w, map, 'name', flags);
    name = nameSlot?.value;
  }
  if (!name || !nameSlot) return;
  const ref = literalName(name);
  if (!ref && !TEMPLATE.test(name)) return; // not an image name
  const tag = fieldSlot(w, map, 'tag', flags);
  const digest = fieldSlot(w, map, 'digest', flags);
  const init: Parameters<typeof addFieldsPlace>[2] = {
    name,
    names: ref ? [ref] : [],
    nameSlot,
    tagKey: 'tag',
    digestKey: 'digest',
    map,
    aliased: flags.aliased,
  };
  if (tag) init.tag = tag;
  if (digest) init.digest = digest;
  addFieldsPlace(w, kind, init);
}

/**
 * Walks any node: container lists anywhere; in a values context (Helm values, HelmRelease
 * `spec.values`, Argo `valuesObject`) also `image:` strings and image maps.
 */
function walk(
  w: Walker,
  node: unknown,
  values: boolean,
  parentKey: string | number | undefined,
  kind: ImageKind,
): void {
  if (isMap(node)) {
    if (values) visitValuesMap(w, node, parentKey, kind);
    for (const pair of node.items) {
      const key = keyOf(pair);
      if (key === undefined) continue;
      const v = pair.value;
      if (CONTAINER_LISTS.has(key) && isSeq(v)) {
        w.path.push(key);
        visitContainers(w, v, values, kind);
        w.path.pop();
        continue;
      }
      if (!values && CR_CONTAINER_LISTS.has(key) && isSeq(v) && v.items.some(hasImage)) {
        w.path.push(key);
        visitContainers(w, v, values, kind);
        w.path.pop();
        continue;
      }
      if (!values && CR_CONTAINER_MAPS.has(key) && isMap(v) && hasImage(v)) {
        w.path.push(key);
        addRefPlace(w, 'container', getPair(v, 'image')!.value, ['image']);
        walk(w, v, values, key, kind);
        w.path.pop();
        continue;
      }
      if (values && key === 'image' && (isScalar(v) || isAlias(v))) {
        addRefPlace(w, kind, v, [key]);
        continue;
      }
      if (isMap(v) || isSeq(v)) {
        w.path.push(key);
        walk(w, v, values, key, kind);
        w.path.pop();
      }
    }
  } else if (isSeq(node)) {
    const items = node.items;
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (isMap(item) || isSeq(item)) {
        w.path.push(i);
        walk(w, item, values, i, kind);
        w.path.pop();
      }
    }
  }
}

function hasImage(item: unknown): boolean {
  if (!isMap(item)) return false;
  const v = getPair(item, 'image')?.value;
  return isScalar(v) || isAlias(v);
}

function visitContainers(w: Walker, seq: YAMLSeq, values: boolean, kind: ImageKind): void {
  const items = seq.items;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (!isMap(item)) continue;
    w.path.push(i);
    const image = getPair(item, 'image');
    // In values files a container's image is a Helm values place; in manifests a container place.
    if (image && isMap(image.value)) {
      if (values) {
        w.path.push('image');
        walk(w, image.value, values, 'image', kind);
        w.path.pop();
      }
    } else if (image) {
      addRefPlace(w, values ? kind : 'container', image.value, ['image']);
    }
    for (const pair of item.items) {
      if (pair === image) continue;
      const v = pair.value;
      const key = keyOf(pair);
      if (key !== undefined && (isMap(v) || isSeq(v))) {
        w.path.push(key);
        walk(w, v, values, key, kind);
        w.path.pop();
      }
    }
    w.path.pop();
  }
}

function visitKustomization(w: Walker, root: YAMLMap): void {
  const pair = getPair(root, 'images');
  const kd: KustomizationDoc = { document: w.document, root };
  if (pair) kd.imagesPair = pair;
  w.an.kustomizations.push(kd);
  if (!pair || !isSeq(pair.value)) return;
  w.path.push('images');
  visitImageEntries(w, pair.value);
  w.path.pop();
}

/**
 * kustomize `images:` entries (name / newName / newTag / digest). Flux uses the same entries in a
 * Kustomization's `spec.images` and a HelmRelease's `postRenderers[].kustomize.images`.
 */
function visitImageEntries(w: Walker, seq: YAMLSeq): void {
  const items = seq.items;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (!isMap(item)) continue;
    w.path.push(i);
    const flags = { aliased: false };
    const nameSlot = fieldSlot(w, item, 'name', flags);
    const newNameSlot = fieldSlot(w, item, 'newName', flags);
    const names: ImageReference[] = [];
    for (const s of [nameSlot, newNameSlot]) {
      const ref = s && s.value !== '' ? literalName(s.value) : undefined;
      if (ref) names.push(ref);
    }
    const stated = newNameSlot?.value || nameSlot?.value;
    if (stated) {
      const init: Parameters<typeof addFieldsPlace>[2] = {
        name: stated,
        names,
        nameSlot: (newNameSlot?.value ? newNameSlot : nameSlot)!,
        tagKey: 'newTag',
        digestKey: 'digest',
        map: item,
      };
      const tag = fieldSlot(w, item, 'newTag', flags);
      const digest = fieldSlot(w, item, 'digest', flags);
      if (tag) init.tag = tag;
      if (digest) init.digest = digest;
      init.aliased = flags.aliased;
      addFieldsPlace(w, 'kustomize', init);
    }
    w.path.pop();
  }
}

/** Flux: Kustomization `spec.images`, HelmRelease `spec.postRenderers[].kustomize.images`. */
function visitFluxImages(w: Walker, spec: YAMLMap, kind: string): void {
  if (kind === 'Kustomization') {
    const images = getNode(spec, 'images');
    if (isSeq(images)) {
      w.path.push('spec', 'images');
      visitImageEntries(w, images);
      w.path.length = 0;
    }
    return;
  }
  const renderers = getNode(spec, 'postRenderers');
  if (!isSeq(renderers)) return;
  renderers.items.forEach((r, i) => {
    const kustomize = isMap(r) ? getNode(r, 'kustomize') : undefined;
    const images = isMap(kustomize) ? getNode(kustomize, 'images') : undefined;
    if (!isSeq(images)) return;
    w.path.push('spec', 'postRenderers', i, 'kustomize', 'images');
    visitImageEntries(w, images);
    w.path.length = 0;
  });
}

/** An Argo CD source: helm.parameters, helm.valuesObject, kustomize.images. */
function visitArgoSource(w: Walker, source: unknown): void {
  if (!isMap(source)) return;
  const helm = getNode(source, 'helm');
  if (isMap(helm)) {
    w.path.push('helm');
    const params = getNode(helm, 'parameters');
    if (isSeq(params)) {
      w.path.push('parameters');
      visitHelmParameters(w, params);
      w.path.pop();
    }
    const embedded = getNode(helm, 'values');
    if (isScalar(embedded) && embedded.type === 'BLOCK_LITERAL') {
      w.path.push('values');
      visitEmbeddedValues(w, embedded);
      w.path.pop();
    }
    const valuesObject = getNode(helm, 'valuesObject');
    if (isMap(valuesObject)) {
      w.path.push('valuesObject');
      walk(w, valuesObject, true, 'valuesObject', 'argocd');
      w.path.pop();
    }
    w.path.pop();
  }
  const kustomize = getNode(source, 'kustomize');
  if (isMap(kustomize)) {
    const images = getNode(kustomize, 'images');
    if (isSeq(images)) {
      w.path.push('kustomize', 'images');
      images.items.forEach((item, i) => {
        addRefPlace(w, 'argocd', item, [i], true);
      });
      w.path.pop();
      w.path.pop();
    }
  }
}

/**
 * Argo CD's `helm.values: |` holds a values file as a literal block. Its content is analysed as
 * YAML on its own, and each one-line scalar found there is mapped back to its place in the file
 * (content line + the block's indentation), so the edit stays a splice of the original text.
 */
function visitEmbeddedValues(w: Walker, block: Scalar): void {
  const text = w.an.text;
  const [start, end] = block.range!;
  const src = text.slice(start, end);
  const headerEnd = src.indexOf('\n');
  // Explicit indentation indicators and CRLF are rare enough here to leave to --key.
  if (headerEnd === -1 || /^\|[0-9]|^\|[-+]?[0-9]/.test(src) || src.includes('\r')) return;
  const lines = src.slice(headerEnd + 1).split('\n');
  let indent = Number.POSITIVE_INFINITY;
  for (const line of lines) {
    if (line.trim() !== '') indent = Math.min(indent, line.length - line.trimStart().length);
  }
  if (!Number.isFinite(indent)) return;
  const contentStarts: number[] = [];
  const sourceStarts: number[] = [];
  let content = '';
  let at = start + headerEnd + 1;
  for (const line of lines) {
    contentStarts.push(content.length);
    sourceStarts.push(at + Math.min(indent, line.length));
    content += `${line.slice(indent)}\n`;
    at += line.length + 1;
  }
  let inner: Analysis;
  try {
    inner = analyze(content);
  } catch {
    return; // not YAML: Argo CD will say so; nothing of ours to edit
  }
  const toSource = (offset: number): number | undefined => {
    let lo = 0;
    let hi = contentStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (contentStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return sourceStarts[lo]! + (offset - contentStarts[lo]!);
  };
  const prefix = formatPath(w.path);
  for (const place of inner.places) {
    let ok = true;
    const slots = place.shape === 'ref' ? [place.slot] : [place.tag, place.digest];
    for (const slot of slots) {
      const r = slot?.node.range;
      if (!slot || !r) continue;
      const s0 = toSource(r[0]);
      const s1 = toSource(r[1]);
      if (s0 === undefined || s1 === undefined || s1 - s0 !== r[1] - r[0]) ok = false;
      else slot.node.range = [s0, s1, s1];
    }
    place.kind = 'argocd';
    place.path = `${prefix}|${place.path}`;
    place.offset = toSource(place.offset) ?? start;
    place.document = w.document;
    if (place.shape === 'fields') delete place.map; // no new lines inside someone else's block
    if (!ok) place.uneditable = 'it spans lines inside helm.values; edit it by hand';
    w.an.places.push(place);
  }
}

/** `image.repository` + `image.tag` (+ `image.registry`, `image.digest`) parameters, or an `image` one. */
function visitHelmParameters(w: Walker, params: YAMLSeq): void {
  const byName = new Map<string, { index: number; slot?: Slot; aliased: boolean }>();
  params.items.forEach((item, index) => {
    if (!isMap(item)) return;
    const name = getString(item, 'name');
    if (name === undefined) return;
    const flags = { aliased: false };
    w.path.push(index);
    const slot = fieldSlot(w, item, 'value', flags);
    w.path.pop();
    const entry: { index: number; slot?: Slot; aliased: boolean } = {
      index,
      aliased: flags.aliased,
    };
    if (slot) entry.slot = slot;
    byName.set(name, entry);
  });
  for (const [name, entry] of byName) {
    if (name === 'image' || name.endsWith('.image')) {
      w.path.push(entry.index, 'value');
      addRefPlace(w, 'argocd', getNode(params.items[entry.index] as YAMLMap, 'value'), []);
      w.path.pop();
      w.path.pop();
      continue;
    }
    if (!(name === 'repository' || name.endsWith('.repository')) || !entry.slot) continue;
    const prefix = name.slice(0, name.length - 'repository'.length);
    const registry = byName.get(`${prefix}registry`)?.slot?.value;
    const stated = registry ? `${registry}/${entry.slot.value}` : entry.slot.value;
    const ref = literalName(stated);
    if (!ref) continue;
    const tag = byName.get(`${prefix}tag`);
    const digest = byName.get(`${prefix}digest`);
    w.path.push(entry.index);
    const init: Parameters<typeof addFieldsPlace>[2] = {
      name: stated,
      names: [ref],
      nameSlot: entry.slot,
      tagKey: `${prefix}tag`,
      digestKey: `${prefix}digest`,
      aliased: !!(tag?.aliased || digest?.aliased || entry.aliased),
    };
    if (tag?.slot) init.tag = tag.slot;
    if (digest?.slot) init.digest = digest.slot;
    addFieldsPlace(w, 'argocd', init);
    w.path.pop();
  }
}

const KUSTOMIZATION_FILE = /(?:^|[/\\])(?:kustomization\.ya?ml|Kustomization)$/;

/** Old kustomizations have no apiVersion/kind: known by their file name or by their keys. */
function looksLikeKustomization(root: YAMLMap, file: string | undefined): boolean {
  if (file !== undefined && KUSTOMIZATION_FILE.test(file)) return true;
  if (isKustomizeImages(root)) return true;
  return (
    isSeq(getNode(root, 'images')) &&
    (isSeq(getNode(root, 'resources')) || isSeq(getNode(root, 'bases')))
  );
}

function isKustomizeImages(root: YAMLMap): boolean {
  const images = getNode(root, 'images');
  if (!isSeq(images) || images.items.length === 0) return false;
  return images.items.every(
    (item) =>
      isMap(item) &&
      getPair(item, 'name') !== undefined &&
      (getPair(item, 'newTag') !== undefined ||
        getPair(item, 'newName') !== undefined ||
        getPair(item, 'digest') !== undefined),
  );
}

export function firstLine(message: string): string {
  return (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '');
}

/** Parses every document once and records every image place. Throws ManifestParseError. */
export function analyze(text: string, file?: string): Analysis {
  const docs = parseAllDocuments(text) as Document.Parsed[];
  const an: Analysis = { text, docs: [], places: [], kustomizations: [] };
  if (file !== undefined) an.file = file;
  if (!Array.isArray(docs)) return an;
  an.docs = docs;
  for (let d = 0; d < docs.length; d++) {
    const doc = docs[d]!;
    const err = doc.errors[0];
    if (err) {
      const pos = err.linePos?.[0];
      const loc: { file?: string; line?: number; column?: number } = {};
      if (file !== undefined) loc.file = file;
      if (pos) {
        loc.line = pos.line;
        loc.column = pos.col;
      } else {
        const lc = lineColumn(an, err.pos[0]);
        loc.line = lc.line;
        loc.column = lc.column;
      }
      // The parser recurses per level: past some hundreds of levels it runs out of stack.
      const reason = /call stack/i.test(err.message)
        ? 'collections are nested too deeply to be read here'
        : firstLine(err.message);
      throw new ManifestParseError(
        `${reason} (the file is not valid YAML; fix it, then retry)`,
        loc,
        err,
      );
    }
    if (text.includes('*')) checkAliases(an, doc, file);
    const root = doc.contents;
    const w: Walker = { an, doc, document: d, path: [] };
    if (!isMap(root)) {
      walk(w, root, true, undefined, 'helm-values');
      continue;
    }
    const apiVersion = getString(root, 'apiVersion');
    const kind = getString(root, 'kind');
    const isObject = apiVersion !== undefined && kind !== undefined;
    if (
      ((kind === 'Kustomization' || kind === 'Component') &&
        (!apiVersion || apiVersion.startsWith('kustomize.config.k8s.io'))) ||
      (kind === undefined && apiVersion === undefined && looksLikeKustomization(root, file))
    ) {
      visitKustomization(w, root);
      continue;
    }
    if (isObject && apiVersion.startsWith('argoproj.io/')) {
      const spec = getNode(root, 'spec');
      const appSpec =
        kind === 'ApplicationSet' && isMap(spec) ? getNode(spec, 'template') : undefined;
      const s =
        kind === 'Application' ? spec : isMap(appSpec) ? getNode(appSpec, 'spec') : undefined;
      if (isMap(s)) {
        w.path.push(...(kind === 'Application' ? ['spec'] : ['spec', 'template', 'spec']));
        w.path.push('source');
        visitArgoSource(w, getNode(s, 'source'));
        w.path.pop();
        const sources = getNode(s, 'sources');
        if (isSeq(sources)) {
          w.path.push('sources');
          sources.items.forEach((src, i) => {
            w.path.push(i);
            visitArgoSource(w, src);
            w.path.pop();
          });
          w.path.pop();
        }
        w.path.length = 0;
      }
      if (kind === 'Application' || kind === 'ApplicationSet') continue;
    }
    if (!isObject) {
      // `.argocd-source.yaml` override files hold a source's helm/kustomize blocks at the top.
      const helm = getNode(root, 'helm');
      const kustomize = getNode(root, 'kustomize');
      if (
        (isMap(helm) && (getPair(helm, 'parameters') || getPair(helm, 'valuesObject'))) ||
        (isMap(kustomize) && getPair(kustomize, 'images'))
      ) {
        visitArgoSource(w, root);
        continue;
      }
    }
    if (
      isObject &&
      kind === 'Kustomization' &&
      apiVersion.startsWith('kustomize.toolkit.fluxcd.io')
    ) {
      const spec = getNode(root, 'spec');
      if (isMap(spec)) visitFluxImages(w, spec, kind);
      continue;
    }
    if (isObject && kind === 'HelmRelease' && apiVersion.startsWith('helm.toolkit.fluxcd.io')) {
      const spec = getNode(root, 'spec');
      if (isMap(spec)) visitFluxImages(w, spec, kind);
      const vals = isMap(spec) ? getNode(spec, 'values') : undefined;
      if (isMap(vals)) {
        w.path.push('spec', 'values');
        walk(w, vals, true, 'values', 'helm-values');
        w.path.length = 0;
      }
      continue;
    }
    // Kubernetes objects: containers at any depth. Anything else is a values file.
    walk(w, root, !isObject, undefined, 'helm-values');
  }
  return an;
}

/**
 * An alias to an anchor that does not exist (or comes later) is invalid YAML, though the parser
 * only says so when the value is read: kubectl and kustomize would refuse the file.
 */
function checkAliases(an: Analysis, doc: Document.Parsed, file: string | undefined): void {
  const anchors = new Set<string>();
  visit(doc, (_key, node) => {
    const n = node as { anchor?: string };
    if (isAlias(node)) {
      if (anchors.has(node.source)) return;
      const offset = node.range?.[0] ?? 0;
      const loc: { file?: string; line: number; column: number } = lineColumn(an, offset);
      if (file !== undefined) loc.file = file;
      throw new ManifestParseError(
        `the alias *${node.source} refers to no anchor &${node.source} before it (the file is not valid YAML; fix it, then retry)`,
        loc,
      );
    }
    if (n.anchor) anchors.add(n.anchor);
  });
}

export function lineColumn(an: Analysis, offset: number): { line: number; column: number } {
  if (!an.lineStarts) {
    const starts = [0];
    const t = an.text;
    for (let i = t.indexOf('\n'); i !== -1; i = t.indexOf('\n', i + 1)) starts.push(i + 1);
    an.lineStarts = starts;
  }
  const starts = an.lineStarts;
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, column: offset - starts[lo]! + 1 };
}
