export * from './plan.js';
export * from './promote.js';
export * from './text.js';
