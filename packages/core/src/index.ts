export * from './errors.js';
export * from './image/reference.js';
