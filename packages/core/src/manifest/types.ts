import type { ImageReference } from '../image/reference.js';

/** Which kind of place in a manifest holds an image reference. */
export type ImageKind =
  /** `image:` of an item of containers / initContainers / ephemeralContainers, in any document. */
  | 'container'
  /** An entry of a kustomization's `images:` list. */
  | 'kustomize'
  /** A Helm values `image:` map (registry / repository / tag / digest) or `image: repo:tag` string. */
  | 'helm-values'
  /** An Argo CD Application source: `helm.parameters`, `helm.valuesObject` or `kustomize.images`. */
  | 'argocd'
  /** A place named explicitly with `--key`. */
  | 'key';

/** One image reference found in a file. Line and column are 1-based, of the first edited scalar. */
export interface FoundImage {
  file?: string;
  line: number;
  column: number;
  kind: ImageKind;
  /** The reference as the file states it, composed from its parts for maps: `nginx:1.27`. */
  value: string;
  /** The YAML path to it, e.g. `spec.template.spec.containers[0].image` (document index aside). */
  path: string;
  /** Zero-based index of the YAML document within the file. */
  document: number;
  /** Why it cannot be edited safely (an alias, a Helm template, a `$(VAR)`); undefined when it can. */
  uneditable?: string;
}

export interface SetImageRequest {
  /**
   * The image to release. Its name selects what to edit (compared after normalization: `nginx` is
   * `docker.io/library/nginx`); its tag and/or digest are the new values.
   */
  image: ImageReference;
  /**
   * An explicit path, yq-style: `.spec.template.spec.containers[0].image`,
   * `.spec.template.spec.containers[name=web].image`, `.api.image.tag`. When given, only that place
   * is edited, whatever it holds.
   */
  key?: string;
  /** In a kustomization, add an `images:` entry for the image when there is none. */
  addMissing?: boolean;
  /** With `key`: the place may hold another image, which `image` replaces, name included. */
  rename?: boolean;
  /** The file name used in error messages and in the changes. */
  file?: string;
}

/** One scalar edit that setImage made (or would make). */
export interface ImageChange {
  file?: string;
  line: number;
  column: number;
  kind: ImageKind;
  /** The whole reference before and after, as the file states it (`app:old` → `app:new`). */
  from: string;
  to: string;
}

export interface SetImageResult {
  /** The new text: identical to the input outside the edited scalars. */
  text: string;
  /** Edits that changed bytes. */
  changes: ImageChange[];
  /** How many places matched the image, including those already at the requested tag/digest. */
  matched: number;
  /** Edits made differently than asked, to keep the file's form (a digest with nowhere to go). */
  notes?: string[];
}

/** A file to plan edits for: its path as the user gave it, and its text. */
export interface ManifestFile {
  path: string;
  text: string;
}

export interface PlannedEdit {
  path: string;
  before: string;
  after: string;
  changes: ImageChange[];
}

/** A file planImageEdits left alone, and why. */
export interface SkippedFile {
  path: string;
  reason: string;
}

export interface ImageEditPlan {
  /** Files whose text changes; files already up to date are not listed. */
  edits: PlannedEdit[];
  /** Places that matched, changed or not. */
  matched: number;
  /**
   * Files that are not YAML but Go/Helm templates (`{{ … }}` that does not parse, such as a chart's
   * templates/): left unedited instead of failing the plan. Any other file that does not parse
   * fails the plan with ManifestParseError.
   */
  skipped?: SkippedFile[];
  /** As SetImageResult.notes, for every file. */
  notes?: string[];
}

/** Edits over many files, planned all at once: every file is parsed and edited before any is written. */
export interface PlanImagesRequest {
  /** One or more images to release, each with its new tag and/or digest. */
  images: ImageReference[];
  /** As SetImageRequest.key; only with a single image. */
  key?: string;
  addMissing?: boolean;
  /** As SetImageRequest.rename. */
  rename?: boolean;
  /** Succeed with no edits when no file holds the image (otherwise ImageNotFoundError). */
  allowNoMatch?: boolean;
}
