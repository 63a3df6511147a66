export * from './errors.js';
export * from './image/reference.js';
// --- release flow ---
export * from './release/index.js';
