// Builds each public npm package into its own dist/ (ESM JavaScript, .d.ts, source maps), as it is
// packed and published; the CLI's dist/ is the bundle `pnpm build` makes. The workspace itself
// runs from src/ (each package.json's `exports`); the packed package.json takes `publishConfig`'s.
//
//   node scripts/build-packages.mjs [--package NAME ...]
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** In dependency order: each library is compiled against the declarations of those before it. */
export const LIBRARIES = ['core', 'fs', 'git', 'github', 'image'];
export const PUBLIC_PACKAGES = [...LIBRARIES, 'cli'];

function buildLibrary(name) {
  const dir = join(root, 'packages', name);
  rmSync(join(dir, 'dist'), { recursive: true, force: true });
  const config = {
    extends: '../../tsconfig.package.json',
    compilerOptions: {
      rootDir: 'src',
      outDir: 'dist',
      // A sibling package is its published form: the declarations in its dist/, never its sources.
      paths: Object.fromEntries(
        LIBRARIES.filter((l) => l !== name).map((l) => [
          `@gitops-release/${l}`,
          [`../${l}/dist/index.d.ts`],
        ]),
      ),
    },
    include: ['src/**/*.ts'],
    exclude: ['src/**/*.test.ts', 'src/**/test-*.ts'],
  };
  const configFile = join(dir, 'tsconfig.build.json');
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);
  try {
    execFileSync(join(root, 'node_modules/.bin/tsc'), ['-p', configFile], { stdio: 'inherit' });
  } finally {
    rmSync(configFile, { force: true });
  }
}

/** The CLI package ships the committed bundle (`pnpm build` makes it) as its bin. */
function buildCli() {
  const dir = join(root, 'packages/cli/dist');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const file of ['cli.cjs', 'cli.licenses.txt'])
    copyFileSync(join(root, 'dist', file), join(dir, file));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const asked = process.argv.flatMap((a, i, all) => (all[i - 1] === '--package' ? [a] : []));
  const names = asked.length > 0 ? asked : PUBLIC_PACKAGES;
  for (const name of names) {
    if (!PUBLIC_PACKAGES.includes(name)) {
      console.error(`build-packages: no public package "${name}" (${PUBLIC_PACKAGES.join(', ')})`);
      process.exit(2);
    }
    // A library builds against core's declarations: built first when asked for, or when missing
    // (publishing packs each package alone, core first).
    if (LIBRARIES.includes(name) && name !== 'core' && !names.includes('core')) {
      if (!existsSync(join(root, 'packages/core/dist/index.d.ts'))) buildLibrary('core');
    }
    if (name === 'cli') buildCli();
    else buildLibrary(name);
    copyFileSync(join(root, 'LICENSE'), join(root, 'packages', name, 'LICENSE'));
    console.log(`packages/${name}/dist built`);
  }
}
