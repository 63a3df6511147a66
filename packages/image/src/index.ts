export * from './aws.js';
export * from './builders.js';
export * from './credentials.js';
export * from './process.js';
export * from './registry-client.js';
