export * from './create-release-pr.js';
export * from './host.js';
export * from './identity.js';
export * from './outputs.js';
export * from './text.js';
