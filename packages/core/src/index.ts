// --- build and push ---
export * from './build/index.js';
export * from './errors.js';
export * from './image/reference.js';
export type * from './manifest/types.js';
