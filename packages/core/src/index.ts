// --- build and push ---
export * from './build/index.js';
export * from './errors.js';
export * from './image/reference.js';
// --- manifest editor ---
export { findImages, planImageEdits, setImage } from './manifest/editor.js';
export { formatStep, type KeyStep, parseKeyPath } from './manifest/key-path.js';
export { plainNeedsQuotes, renderScalar } from './manifest/scalar-style.js';
export type * from './manifest/types.js';
export { decodeManifestText } from './manifest/utf8.js';
// --- promote ---
export * from './promote/index.js';
// --- release flow ---
export * from './release/index.js';
