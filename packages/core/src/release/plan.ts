import {
  canonicalImageName,
  formatImageReference,
  type ImageReference,
} from '../image/reference.js';
import { findImages, planImageEdits } from '../manifest/editor.js';
import type {
  ImageEditPlan,
  ManifestFile,
  PlanImagesRequest,
  PlannedEdit,
} from '../manifest/types.js';
import type { ReleasedChange, ReleaseOptions, ReleaseRequest } from './create-release-pr.js';
import type { ComparisonCache, GuardOutcome } from './guard.js';
import { guardOlder } from './guard.js';
import type { GitHost, RepositorySnapshot } from './host.js';
import {
  formatPullRequestBody,
  parseMarker,
  type ReleaseMarker,
  renderTemplate,
  type TemplateValues,
} from './text.js';

// Step 2 of a release: from what was read to what is to be written — the edits, the branch to
// build on, the title, the commit message and the body. Pure: no host call but the guard's compare.

export const DEFAULT_BRANCH_TEMPLATE = 'release-{sha}';
export const DEFAULT_TITLE_TEMPLATE = 'Release {app} {sha}';

function firstTag(image: ImageReference): string {
  return image.tag ?? image.digest?.replace(/^[^:]*:/, '').slice(0, 12) ?? '';
}

export function templateValues(request: ReleaseRequest, base: string): TemplateValues {
  const first = request.images[0]!;
  const tag = firstTag(first);
  const app =
    request.app ??
    request.appRepository?.split('/').pop() ??
    first.repository.split('/').pop() ??
    first.repository;
  return { sha: request.sha ?? tag, app, tag, image: formatImageReference(first), base };
}

export function applyEdits(files: ManifestFile[], edits: PlannedEdit[]): ManifestFile[] {
  const after = new Map(edits.map((e) => [e.path, e.after]));
  return files.map((f) => ({ path: f.path, text: after.get(f.path) ?? f.text }));
}

/** Images whose value differs between the base's and the branch's version of each file. */
export function imageRows(
  baseFiles: ManifestFile[],
  branchFiles: ManifestFile[],
): ReleasedChange[] {
  const before = new Map(baseFiles.map((f) => [f.path, f.text]));
  const rows: ReleasedChange[] = [];
  for (const file of branchFiles) {
    const old = before.get(file.path);
    if (old === undefined || old === file.text) continue;
    const at = (text: string) => {
      try {
        return findImages(text, { file: file.path });
      } catch {
        return []; // a file another writer broke: its rows are left out, the edit itself is not
      }
    };
    const was = new Map(at(old).map((i) => [`${i.document}|${i.path}`, i.value]));
    for (const image of at(file.text)) {
      const from = was.get(`${image.document}|${image.path}`);
      if (from !== undefined && from !== image.value) {
        rows.push({ path: file.path, line: image.line, from, to: image.value });
      }
    }
  }
  return rows;
}

export function changesOf(edits: PlannedEdit[]): ReleasedChange[] {
  return edits.flatMap((e) =>
    e.changes.map((c) => ({ path: e.path, line: c.line, from: c.from, to: c.to })),
  );
}

export interface ReleasePlan {
  snapshot: RepositorySnapshot;
  base: string;
  /** The edits against the base. */
  basePlan: ImageEditPlan;
  /** Nothing to release: the base already deploys the images. */
  upToDate: boolean;
  guard: GuardOutcome | undefined;
  title: string;
  message: string;
  marker: ReleaseMarker;
  /** Pull-request mode: the release branch, whether to add to it, and the edits on it. */
  branch?: string;
  accumulate: boolean;
  branchPlan: ImageEditPlan;
  rows: ReleasedChange[];
  body: string;
  bodyFor: (rows: ReleasedChange[]) => string;
}

export async function planRelease(
  request: ReleaseRequest,
  host: GitHost,
  snapshot: RepositorySnapshot,
  branch: string | undefined,
  options: ReleaseOptions,
  comparisons: ComparisonCache,
): Promise<ReleasePlan> {
  const base = snapshot.base.name;
  const values = templateValues(request, base);
  const planRequest: PlanImagesRequest = {
    images: request.images,
    ...(request.key === undefined ? {} : { key: request.key }),
    ...(request.addMissing === undefined ? {} : { addMissing: request.addMissing }),
  };
  const plan = options.plan ?? planImageEdits;
  const basePlan = plan(snapshot.files, planRequest);
  const marker: ReleaseMarker = {
    images: request.images.map((i) => canonicalImageName(i)).sort(),
    paths: [...request.paths].sort(),
  };
  const title = renderTemplate(request.titleTemplate ?? DEFAULT_TITLE_TEMPLATE, values);
  const message = renderTemplate(
    request.messageTemplate ?? request.titleTemplate ?? DEFAULT_TITLE_TEMPLATE,
    values,
  );
  const upToDate = basePlan.edits.length === 0;
  const guard = upToDate ? undefined : await guardOlder(request, host, basePlan, comparisons);
  // The user's own text (a template) first, then what the caller generated (promote's summary).
  const intro = [
    request.bodyTemplate ? renderTemplate(request.bodyTemplate, values).trimEnd() : '',
    request.description?.trimEnd() ?? '',
  ]
    .filter(Boolean)
    .join('\n\n');
  const bodyFor = (tableRows: ReleasedChange[]) =>
    formatPullRequestBody({
      rows: tableRows,
      marker,
      ...(guard?.comparison ? { comparison: guard.comparison } : {}),
      ...(request.appRepository ? { appRepository: request.appRepository } : {}),
      ...(intro ? { intro } : {}),
    });
  const result: ReleasePlan = {
    snapshot,
    base,
    basePlan,
    upToDate,
    guard,
    title,
    message,
    marker,
    accumulate: false,
    branchPlan: basePlan,
    rows: changesOf(basePlan.edits),
    body: '',
    bodyFor,
  };
  if (branch === undefined || upToDate || guard?.older) return result;

  result.branch = branch;
  // A branch with an open release pull request, or one just made on the current base by a
  // concurrent pipeline, is live: add to it, so pipelines sharing a branch all land. Any other
  // existing branch is a leftover of an earlier release: rebuild it from the base.
  const found = snapshot.branch;
  result.accumulate =
    found !== undefined &&
    (snapshot.pullRequest !== undefined ||
      found.sha === snapshot.base.sha ||
      (found.parents ?? []).includes(snapshot.base.sha));
  if (result.accumulate) {
    result.branchPlan = plan(found!.files, planRequest);
    // The table says what the branch changes against the base, whoever wrote it: computed from
    // the files, not from an earlier body, so concurrent pipelines sharing it cannot drop rows.
    result.rows = imageRows(snapshot.files, applyEdits(found!.files, result.branchPlan.edits));
    const previous = snapshot.pullRequest ? parseMarker(snapshot.pullRequest.body) : undefined;
    if (previous) marker.images = [...new Set([...previous.images, ...marker.images])].sort();
  }
  result.body = bodyFor(result.rows);
  return result;
}
