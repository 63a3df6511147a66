import { type FoundImage, findImages, ManifestParseError } from '@gitops-release/core';
import { readManifestFiles } from '@gitops-release/fs';
import { type Command, flag } from '../command.js';

const help = `Usage: gitops-release find-images [PATH...] [--json]

Lists every image reference the manifests under PATH deploy, with file, line and kind: the places
set-image can edit. Values that cannot be edited safely (a YAML alias, a Helm template, a $(VAR))
are listed with the reason.

PATH is a file or a directory, searched recursively for *.yaml and *.yml (.git skipped).
Default: the current directory.

Options:
  --json      Print {"images":[{"file","line","column","kind","value","path","document"}]}
  -h, --help  Show this help

Examples:
  gitops-release find-images overlays/production
  gitops-release find-images . --json
`;

export const findImagesCommand: Command = {
  name: 'find-images',
  summary: 'List the image references in manifests, with file, line and kind',
  help,
  allowPositionals: true,
  options: { json: { type: 'boolean' } },
  async run(args, io) {
    const files = await readManifestFiles(args.positionals, io.cwd);
    const images: FoundImage[] = [];
    const skipped: { path: string; reason: string }[] = [];
    for (const f of files) {
      try {
        images.push(...findImages(f.text, { file: f.path }));
      } catch (err) {
        // A Helm chart template is not YAML until rendered; set-image skips it the same way.
        if (!(err instanceof ManifestParseError && f.text.includes('{{'))) throw err;
        skipped.push({ path: f.path, reason: `a template, not YAML (${err.message})` });
      }
    }
    if (flag(args, 'json')) {
      io.stdout(`${JSON.stringify({ images, skipped }, null, 2)}\n`);
      return 0;
    }
    for (const file of skipped) io.stderr(`note: skipped ${file.path}: ${file.reason}\n`);
    if (images.length === 0) {
      io.stdout(`No image references found in ${files.length} file(s).\n`);
      return 0;
    }
    const width = Math.max(...images.map((i) => `${i.file}:${i.line}:${i.column}`.length));
    for (const i of images) {
      const where = `${i.file}:${i.line}:${i.column}`.padEnd(width);
      const note = i.uneditable ? `  (not editable: ${i.uneditable})` : '';
      io.stdout(`${where}  ${i.kind.padEnd(11)}  ${i.value}${note}\n`);
    }
    return 0;
  },
};
