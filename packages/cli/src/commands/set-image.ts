import {
  type ImageChange,
  InvalidImageReferenceError,
  type PlannedEdit,
  parseImageReference,
  planImageEdits,
  UsageError,
} from '@gitops-release/core';
import { readManifestFiles, writeFilesAtomically } from '@gitops-release/fs';
import { createTwoFilesPatch } from 'diff';
import { type Command, flag, stringOption } from '../command.js';

const help = `Usage: gitops-release set-image IMAGE[:TAG][@DIGEST] [PATH...] [options]

Sets the tag and/or digest of IMAGE wherever the manifests under PATH deploy it, changing those
values and nothing else: comments, quoting, key order, blank lines, CRLF and '---' stay as they are.

It edits, matched by image name (nginx is docker.io/library/nginx), never by list index:
  - image: of containers, initContainers, ephemeralContainers in any workload or custom resource
  - kustomization.yaml images: entries (newTag, digest)
  - Helm values image: maps (registry/repository/tag/digest) and image: repo:tag strings
  - Argo CD Application helm.parameters, helm.valuesObject and kustomize.images

PATH is a file or a directory, searched recursively for *.yaml and *.yml (.git skipped).
Default: the current directory. Files are all edited or none is.

Options:
  --key PATH        Edit only this place, yq-style: .spec.template.spec.containers[0].image,
                    '.spec.template.spec.containers[name=web].image', .api.image.tag
  --rename          With --key: the value there may name another image; IMAGE replaces it,
                    name included (without it, --key edits only a reference to IMAGE's image)
  --add-missing     Add an images: entry to each kustomization under PATH that has none for
                    IMAGE (so point PATH at the overlay, not at the whole tree), and a digest:
                    key to Helm image maps that have none (by default only the tag is written
                    there, with a note: a key the chart does not read would lose the pin)
  --allow-no-match  Succeed with no change when no file deploys IMAGE (default: an error that
                    lists the images the files do contain)
  --dry-run         Print the diff; write nothing
  --json            Print {"changes":[{"file","line","column","kind","from","to"}]}
  -h, --help        Show this help

Exit status: 0 changed or already up to date, 1 error (nothing written), 2 wrong usage.

Examples:
  gitops-release set-image gcr.io/my-project/app:abc1234 overlays/staging
  gitops-release set-image ghcr.io/acme/api:v1.4.2 charts/api/values.yaml --dry-run
  gitops-release set-image app:abc1234 deploy.yaml --key '.spec.template.spec.containers[name=web].image'
`;

export const setImageCommand: Command = {
  name: 'set-image',
  summary: 'Set the tag or digest of an image in manifests, changing nothing else',
  help,
  allowPositionals: true,
  options: {
    key: { type: 'string' },
    rename: { type: 'boolean' },
    'add-missing': { type: 'boolean' },
    'allow-no-match': { type: 'boolean' },
    'dry-run': { type: 'boolean' },
    json: { type: 'boolean' },
  },
  async run(args, io) {
    const [imageArg, ...paths] = args.positionals;
    if (imageArg === undefined) throw new UsageError('IMAGE is required', { input: 'IMAGE' });
    const image = asUsage(() => parseImageReference(imageArg, 'IMAGE'));
    if (image.tag === undefined && image.digest === undefined) {
      throw new UsageError(
        `IMAGE "${imageArg}" has no tag or digest to set; give IMAGE:TAG or IMAGE@sha256:...`,
        { input: 'IMAGE' },
      );
    }
    const dryRun = flag(args, 'dry-run');
    const files = await readManifestFiles(paths, io.cwd);
    const key = stringOption(args, 'key');
    if (flag(args, 'rename') && key === undefined) {
      throw new UsageError('--rename applies only with --key', { input: '--rename' });
    }
    const plan = planImageEdits(files, {
      images: [image],
      ...(key === undefined ? {} : { key }),
      rename: flag(args, 'rename'),
      addMissing: flag(args, 'add-missing'),
      allowNoMatch: flag(args, 'allow-no-match'),
    });
    if (!dryRun && plan.edits.length) {
      await writeFilesAtomically(
        plan.edits.map((e) => ({ path: e.path, before: e.before, after: e.after })),
        io.cwd,
      );
    }
    const changes = plan.edits.flatMap((e) => e.changes);
    const skipped = plan.skipped ?? [];
    const notes = plan.notes ?? [];
    if (flag(args, 'json')) {
      const result = changes.length ? 'changed' : 'unchanged';
      io.stdout(
        `${JSON.stringify({ result, dryRun, changes: changes.map(jsonChange), skipped, notes }, null, 2)}\n`,
      );
      return 0;
    }
    // Helm chart templates sit beside values files but are not YAML until rendered.
    for (const file of skipped) io.stderr(`note: skipped ${file.path}: ${file.reason}\n`);
    for (const note of notes) io.stderr(`note: ${note}\n`);
    if (dryRun) for (const edit of plan.edits) io.stdout(unifiedDiff(edit));
    io.stdout(summary(imageArg, changes, plan.matched, files.length, dryRun));
    return 0;
  },
};

/** A malformed IMAGE is wrong usage (exit 2), whatever the parser calls it. */
function asUsage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof InvalidImageReferenceError) {
      throw new UsageError(err.message, { input: 'IMAGE', cause: err });
    }
    throw err;
  }
}

function jsonChange(c: ImageChange) {
  return { file: c.file, line: c.line, column: c.column, kind: c.kind, from: c.from, to: c.to };
}

export function unifiedDiff(edit: PlannedEdit): string {
  return createTwoFilesPatch(`a/${edit.path}`, `b/${edit.path}`, edit.before, edit.after, '', '', {
    context: 3,
  })
    .split('\n')
    .filter((line) => !line.startsWith('====='))
    .join('\n');
}

function summary(
  image: string,
  changes: ImageChange[],
  matched: number,
  fileCount: number,
  dryRun: boolean,
): string {
  if (changes.length === 0) {
    return matched
      ? `Already up to date: ${image} (${plural(matched, 'place')}); nothing changed.\n`
      : `No file deploys ${image} (${plural(fileCount, 'file')} searched); nothing changed.\n`;
  }
  const files = new Set(changes.map((c) => c.file)).size;
  const where = changes.map((c) => `${c.file}:${c.line}:${c.column}`);
  const width = Math.max(...where.map((w) => w.length));
  const kindWidth = Math.max(...changes.map((c) => c.kind.length));
  const lines = changes.map(
    (c, i) => `  ${where[i]!.padEnd(width)}  ${c.kind.padEnd(kindWidth)}  ${c.from} -> ${c.to}`,
  );
  const verb = dryRun ? 'Would update' : 'Updated';
  const tail = dryRun ? '\n(dry run: nothing written)\n' : '\n';
  return `${verb} ${plural(changes.length, 'image')} in ${plural(files, 'file')}:\n${lines.join('\n')}${tail}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
