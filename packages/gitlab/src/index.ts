export {
  createGitLabClient,
  GitLabApiError,
  type GitLabClient,
  type GitLabClientOptions,
  instanceUrl,
} from './client.js';
export { isRace, redact, toHostError } from './errors.js';
export { createGitLabHost, type GitLabHost, type GitLabHostOptions } from './host.js';
