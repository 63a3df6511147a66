export * from './build-and-push.js';
export * from './image-name.js';
export * from './labels.js';
export * from './ports.js';
export * from './tag.js';
