/** What a builder is asked to do: build one image from a context and push all its tags. */
export interface BuildSpec {
  /** Directory sent as the build context. */
  context: string;
  /** Path to the Dockerfile; undefined means `Dockerfile` in the context. */
  dockerfile?: string;
  target?: string;
  buildArgs: Readonly<Record<string, string>>;
  labels: Readonly<Record<string, string>>;
  /** Full references to tag and push, e.g. `gcr.io/p/app:abc1234`; the first is the primary one. */
  references: readonly string[];
  platforms: readonly string[];
  cacheFrom: readonly string[];
  cacheTo: readonly string[];
  /** False: build only (pull-request CI); the tags stay in the builder's local store. */
  push: boolean;
  /**
   * Build secrets (BuildKit `--secret`, `RUN --mount=type=secret,id=ID`). The values never go into
   * arguments, build args, labels or logs: builders hand them over as private files.
   */
  secrets: readonly BuildSecret[];
  /** Build every step again, ignoring the layer cache. */
  noCache: boolean;
  /** Pull newer versions of the base images even when a copy is present. */
  pull: boolean;
}

/** A secret for `RUN --mount=type=secret,id=ID`; `value` must never be printed. */
export interface BuildSecret {
  id: string;
  value: string;
}

export interface BuildOutcome {
  /** Digest of the pushed manifest, when the builder reported it. */
  digest?: string;
}

/** An image builder (docker, buildah, podman). The Node package implements it over processes. */
export interface Builder {
  readonly name: string;
  buildAndPush(spec: BuildSpec): Promise<BuildOutcome>;
}

export interface TagLocation {
  /** Registry host as written in the image name; undefined for Docker Hub shorthand. */
  registry?: string;
  repository: string;
  tag: string;
}

/** The few questions asked of a registry over the OCI distribution API. */
export interface Registry {
  /** Digest of the manifest the tag points at, or undefined when the tag is not there. */
  tagDigest(location: TagLocation): Promise<string | undefined>;
  /** Throws a named error when the registry cannot be reached or refuses the login. */
  checkAccess(location: Omit<TagLocation, 'tag'>): Promise<void>;
}
