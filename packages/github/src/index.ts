export {
  createGitHubClient,
  type GitHubClient,
  type GitHubClientOptions,
  restBaseUrl,
} from './client.js';
export { redact, toHostError } from './errors.js';
export { createGitHubHost, type GitHubHost, type GitHubHostOptions } from './host.js';
