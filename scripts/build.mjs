// Bundles every entry point into one committed file in dist/. `--check` rebuilds into memory and
// fails when the committed dist/ differs, so a stale bundle cannot land.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');
const version = JSON.parse(readFileSync(join(root, 'packages/cli/package.json'), 'utf8')).version;

/** Entry points: source → committed bundle. Later features add theirs here. */
export const entries = [
  { in: 'packages/cli/src/index.ts', out: 'dist/cli.cjs' },
  { in: 'packages/action/src/index.ts', out: 'dist/action.cjs' },
];

const outputs = new Map();
for (const entry of entries) {
  const result = await esbuild
    .build({
      absWorkingDir: root,
      entryPoints: [entry.in],
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      minify: true,
      legalComments: 'none',
      charset: 'utf8',
      banner: { js: '#!/usr/bin/env node' },
      define: { GITOPS_RELEASE_VERSION: JSON.stringify(version) },
      metafile: true,
      write: false,
      logLevel: 'warning',
    })
    .catch(() => process.exit(1)); // esbuild has already printed the errors
  outputs.set(entry.out, result.outputFiles[0].text);
  for (const [file, text] of licensesFor(result.metafile, entry.out)) outputs.set(file, text);
}

/** The licence texts of the npm packages a bundle contains, as licenses.txt beside it. */
function licensesFor(metafile, out) {
  const packages = new Map();
  for (const input of Object.keys(metafile.inputs)) {
    const m = input.match(
      /^(.*node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+))\//,
    );
    if (!m) continue;
    const [, dir, name] = m;
    if (packages.has(name)) continue;
    const pkg = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
    const licenseFile = ['LICENSE', 'LICENSE.md', 'LICENSE.txt', 'license', 'LICENCE'].find((f) =>
      existsSync(join(root, dir, f)),
    );
    packages.set(name, {
      version: pkg.version,
      license: pkg.license ?? 'UNKNOWN',
      text: licenseFile ? readFileSync(join(root, dir, licenseFile), 'utf8').trim() : '',
    });
  }
  const body = [...packages.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, p]) => `${name}@${p.version}\n${p.license}\n${p.text}\n`)
    .join('\n-----\n\n');
  return [
    [out.replace(/\.cjs$/, '.licenses.txt'), body || 'No third-party packages are bundled.\n'],
  ];
}

// The Action's metadata (action.yml and the sub-directory actions), from the one spec of the inputs.
for (const [file, text] of await (await import('./action-yml.mjs')).actionFiles(root))
  outputs.set(file, text);

let drift = 0;
for (const [file, text] of outputs) {
  const path = join(root, file);
  if (check) {
    const committed = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
    if (committed !== text) {
      console.error(`${file} differs from what its sources build: run 'pnpm build' and commit it.`);
      drift++;
    }
  } else {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text, { mode: file.endsWith('.cjs') ? 0o755 : 0o644 });
  }
}
if (drift) process.exit(1);
if (check) console.log(`dist/ is up to date (${outputs.size} files).`);

// The CircleCI orb carries dist/cli.cjs: repack orb/orb.yml from the bundle just built (or check it).
if (!(await import('./pack-orb.mjs')).packAfterBuild({ check, cli: outputs.get('dist/cli.cjs') })) {
  process.exit(1);
}
