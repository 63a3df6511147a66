export * from './create-release-pr.js';
export * from './host.js';
export * from './text.js';
