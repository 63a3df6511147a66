import type { RepositorySnapshot } from '@gitops-release/core';
import type { GitHubClient } from './client.js';
import type { GqlBlob } from './github-shapes.js';
import type { RefusalContext } from './refusals.js';

export type ManifestFile = RepositorySnapshot['files'][number];

/** What the host's parts share: the repository, the client, and what the read learned for the write. */
export interface HostContext {
  owner: string;
  name: string;
  repository: string;
  client: GitHubClient;
  secrets: readonly string[];
  refusals: RefusalContext;
  log: (line: string) => void;
  graphql: <T>(document: string, variables: Record<string, unknown>) => Promise<T>;
  /** The repository's node id (GraphQL), read before the write needs it. */
  repositoryId?: string;
  /** Node ids of branches, by name. */
  refIds: Map<string, string>;
  /** File modes, by path (the REST tree keeps them). */
  modes: Map<string, string>;
  /** Blob texts by object id: the branch's unchanged files are the base's, fetched once. */
  blobs: Map<string, GqlBlob>;
}
