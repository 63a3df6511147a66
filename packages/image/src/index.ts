export * from './aws.js';
export * from './builders.js';
export * from './credentials.js';
export * from './docker-trust.js';
export * from './process.js';
export * from './registry-client.js';
export * from './registry-tls.js';
