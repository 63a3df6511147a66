import { UsageError } from '../errors.js';

export const OCI_REVISION = 'org.opencontainers.image.revision';
export const OCI_SOURCE = 'org.opencontainers.image.source';
export const OCI_CREATED = 'org.opencontainers.image.created';

export interface OciLabelRequest {
  /** Full commit SHA. */
  revision?: string;
  /** URL of the source repository, e.g. https://github.com/OWNER/REPO. */
  source?: string;
  /** The clock, passed in so that the labels are a function of their inputs. */
  created: Date;
}

/** The OCI annotations gitops-release sets by default; the user's own labels override them. */
export function ociLabels(request: OciLabelRequest): Record<string, string> {
  const labels: Record<string, string> = { [OCI_CREATED]: request.created.toISOString() };
  if (request.revision) labels[OCI_REVISION] = request.revision;
  if (request.source) labels[OCI_SOURCE] = request.source;
  return labels;
}

/** Parses `KEY=VALUE` pairs (build args, labels); the value may contain `=` and be empty. */
export function parseKeyValues(pairs: readonly string[], input: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0)
      throw new UsageError(`--${input} takes KEY=VALUE, got "${pair}"`, { input: `--${input}` });
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}
