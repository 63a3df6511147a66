// Packs orb/src into the single orb/orb.yml that CircleCI publishes, by the rules of
// `circleci orb pack` (its CLI cannot be installed here), and first regenerates the pieces of the
// CLI bundle the orb carries in orb/src/scripts/cli/. `--check` rebuilds in memory and fails on
// drift, like `pnpm check-dist`.
//
//   node scripts/pack-orb.mjs [--check]
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import YAML from 'yaml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const ORB_SRC = join(root, 'orb/src');
export const ORB_FILE = join(root, 'orb/orb.yml');
export const CLI_PIECES_DIR = join(ORB_SRC, 'scripts/cli');

/**
 * One environment string may hold at most MAX_ARG_STRLEN = 32 pages = 131,072 bytes, NAME= and
 * the closing NUL included (measured: scripts/measure-orb-limits.mjs). 100,000 characters a part
 * leaves room for the name and for kernels with the same limit counted differently.
 */
export const PART_SIZE = 100_000;
/** commands/install_cli.yml names this many GITOPS_RELEASE_CLI_PART_n variables; spare ones are empty. */
export const PART_SLOTS = 6;

/** A whole value `<<include(path)>>`, as orb pack accepts it. */
const INCLUDE = /^<<\s*include\(([^()]+)\)\s*>>$/;
const INCLUDE_ANYWHERE = /<<\s*include\(/;

export class OrbPackError extends Error {}

/**
 * The CLI bundle as the orb carries it: gzip (level 9, so the same input gives the same bytes),
 * then base64, cut into PART_SLOTS parts of at most PART_SIZE characters.
 */
export function cliPieces(cliText) {
  const bytes = Buffer.from(cliText, 'utf8');
  const encoded = gzipSync(bytes, { level: 9 }).toString('base64');
  const parts = [];
  for (let i = 0; i < encoded.length; i += PART_SIZE) parts.push(encoded.slice(i, i + PART_SIZE));
  if (parts.length > PART_SLOTS) {
    throw new OrbPackError(
      `dist/cli.cjs packs to ${encoded.length} base64 characters, more than ${PART_SLOTS} parts of ${PART_SIZE}: raise PART_SLOTS in scripts/pack-orb.mjs and add the GITOPS_RELEASE_CLI_PART_n variables to orb/src/commands/install_cli.yml.`,
    );
  }
  while (parts.length < PART_SLOTS) parts.push('');
  return {
    sha256: createHash('sha256').update(bytes).digest('hex'),
    bundleBytes: bytes.length,
    gzipBytes: Buffer.from(encoded, 'base64').length,
    base64Chars: encoded.length,
    parts,
  };
}

/** Decodes the pieces back into the CLI text (what scripts/unpack-cli.js does on the executor). */
export function decodeCliPieces(parts) {
  return gunzipSync(Buffer.from(parts.join(''), 'base64')).toString('utf8');
}

/** The generated files of orb/src/scripts/cli/, relative to the repository root. */
export function cliPieceFiles(cliText) {
  const pieces = cliPieces(cliText);
  const files = new Map();
  pieces.parts.forEach((part, i) => {
    files.set(`orb/src/scripts/cli/part_${i}.b64`, part);
  });
  files.set('orb/src/scripts/cli/sha256.txt', pieces.sha256);
  return files;
}

function readYamlFile(file) {
  const text = readFileSync(file, 'utf8');
  const doc = YAML.parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const line = e.linePos?.[0]?.line;
    throw new OrbPackError(
      `${relative(root, file)}${line ? `:${line}` : ''}: not valid YAML: ${e.message.split('\n')[0]}`,
    );
  }
  return doc.toJS() ?? {};
}

/**
 * Merges a directory tree into one map, as orb pack does: `name.yml` becomes key `name`, a
 * directory becomes a key holding its files, and `@name.yml` merges into the directory that holds
 * it. Directories without YAML (scripts/) contribute nothing.
 */
function mergeTree(dir) {
  const result = {};
  const entries = readdirSync(dir).sort();
  for (const entry of entries) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) {
      const sub = mergeTree(path);
      if (Object.keys(sub).length > 0) result[entry] = sub;
      continue;
    }
    const m = entry.match(/^(@?)(.+)\.ya?ml$/);
    if (!m) continue;
    const value = readYamlFile(path);
    if (m[1] === '@') {
      if (typeof value !== 'object' || Array.isArray(value)) {
        throw new OrbPackError(`${relative(root, path)}: must be a map of keys`);
      }
      Object.assign(result, value);
    } else {
      if (m[2] in result)
        throw new OrbPackError(`${relative(root, path)}: ${m[2]} is defined twice`);
      result[m[2]] = value;
    }
  }
  return result;
}

/** Replaces every whole-value `<<include(path)>>` with the file's text, relative to srcDir. */
export function resolveIncludes(value, srcDir, where = '') {
  if (typeof value === 'string') {
    const m = value.match(INCLUDE);
    if (m) {
      const file = join(srcDir, m[1].trim());
      if (!existsSync(file) || !statSync(file).isFile()) {
        throw new OrbPackError(`${where}: <<include(${m[1]})>>: no file ${relative(root, file)}`);
      }
      return readFileSync(file, 'utf8');
    }
    if (INCLUDE_ANYWHERE.test(value)) {
      throw new OrbPackError(
        `${where}: <<include(...)>> must be the whole value of a key, not part of it`,
      );
    }
    return value;
  }
  if (Array.isArray(value))
    return value.map((v, i) => resolveIncludes(v, srcDir, `${where}[${i}]`));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        resolveIncludes(v, srcDir, where ? `${where}.${k}` : k),
      ]),
    );
  }
  return value;
}

/** Key order of the packed file: @orb.yml's own keys first, then the component maps. */
const COMPONENTS = ['orbs', 'commands', 'executors', 'jobs', 'examples'];

/** The orb as one object. `includes: false` keeps the `<<include()>>` strings (for review rules). */
export function packOrb(srcDir = ORB_SRC, { includes = true } = {}) {
  if (!existsSync(join(srcDir, '@orb.yml'))) {
    throw new OrbPackError(`${relative(root, srcDir) || srcDir}: no @orb.yml`);
  }
  const tree = mergeTree(srcDir);
  const ordered = {};
  for (const [k, v] of Object.entries(tree)) if (!COMPONENTS.includes(k)) ordered[k] = v;
  for (const k of COMPONENTS) if (k in tree) ordered[k] = tree[k];
  return includes ? resolveIncludes(ordered, srcDir) : ordered;
}

export function stringifyOrb(orb) {
  const header = '# Generated from orb/src by scripts/pack-orb.mjs (pnpm build); do not edit.\n';
  return header + YAML.stringify(orb, { lineWidth: 0, aliasDuplicateObjects: false });
}

const DOCS = join(root, 'README.md');
const TABLES_START =
  '<!-- orb-parameters:start (generated by scripts/pack-orb.mjs from orb/src) -->';
const TABLES_END = '<!-- orb-parameters:end -->';

/** The parameter tables of every command, job and executor, in Markdown. */
export function parameterTables(orb) {
  const cell = (text) => String(text).trim().replace(/\s+/g, ' ').replaceAll('|', '\\|');
  const lines = [];
  for (const kind of ['commands', 'jobs', 'executors']) {
    for (const [name, component] of Object.entries(orb[kind] ?? {})) {
      lines.push(`#### ${kind.slice(0, -1)} \`${name}\``, '', cell(component.description), '');
      const params = Object.entries(component.parameters ?? {});
      if (params.length === 0) {
        lines.push('No parameters.', '');
        continue;
      }
      const rows = [['Parameter', 'Type', 'Default', 'Description']];
      for (const [p, d] of params) {
        const type =
          d.type === 'enum' ? `enum: ${d.enum.map((v) => `\`${v}\``).join(', ')}` : d.type;
        const def = !('default' in d)
          ? '**required**'
          : d.default === ''
            ? '""'
            : `\`${d.default}\``;
        rows.push([`\`${p}\``, type, def, cell(d.description)]);
      }
      // Columns padded as the formatter (Biome) lays Markdown tables out, so the two agree.
      const widths = rows[0].map((_, i) => Math.max(3, ...rows.map((r) => r[i].length)));
      const row = (r) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
      lines.push(row(rows[0]), row(widths.map((w) => '-'.repeat(w))));
      for (const r of rows.slice(1)) lines.push(row(r));
      lines.push('');
    }
  }
  return lines.join('\n');
}

/** README.md with its generated section rebuilt, or undefined when it has no markers. */
function docsWithTables(orb) {
  if (!existsSync(DOCS)) return undefined;
  const text = readFileSync(DOCS, 'utf8');
  const start = text.indexOf(TABLES_START);
  const end = text.indexOf(TABLES_END);
  if (start < 0 || end < start) return undefined;
  return `${text.slice(0, start + TABLES_START.length)}\n\n${parameterTables(orb)}\n${text.slice(end)}`;
}

/**
 * Regenerates orb/src/scripts/cli/ from the CLI text and orb/orb.yml from orb/src; in check mode
 * writes nothing and returns the files that differ. The CLI pieces are compared by what they
 * decode to, so another zlib build cannot make a false alarm.
 */
export function packOrbFiles({ check = false, cli } = {}) {
  const cliText = cli ?? readFileSync(join(root, 'dist/cli.cjs'), 'utf8');
  const drift = [];
  const pieces = cliPieceFiles(cliText);
  if (check) {
    const committed = [...pieces.keys()]
      .filter((f) => f.endsWith('.b64'))
      .map((f) => (existsSync(join(root, f)) ? readFileSync(join(root, f), 'utf8') : ''));
    let decoded;
    try {
      decoded = decodeCliPieces(committed);
    } catch {
      decoded = undefined;
    }
    const sha = join(root, 'orb/src/scripts/cli/sha256.txt');
    const committedSha = existsSync(sha) ? readFileSync(sha, 'utf8') : '';
    if (decoded !== cliText || committedSha !== pieces.get('orb/src/scripts/cli/sha256.txt')) {
      drift.push('orb/src/scripts/cli/');
    }
  } else {
    mkdirSync(CLI_PIECES_DIR, { recursive: true });
    for (const [file, text] of pieces) writeFileSync(join(root, file), text);
  }
  const orb = packOrb();
  const packed = stringifyOrb(orb);
  const docs = docsWithTables(orb);
  if (check) {
    const committed = existsSync(ORB_FILE) ? readFileSync(ORB_FILE, 'utf8') : undefined;
    if (committed !== packed) drift.push('orb/orb.yml');
    if (docs !== undefined && docs !== readFileSync(DOCS, 'utf8'))
      drift.push('README.md (orb parameters)');
  } else {
    writeFileSync(ORB_FILE, packed);
    if (docs !== undefined) writeFileSync(DOCS, docs);
  }
  return drift;
}

/** For scripts/build.mjs: pack (or check) the orb from the bundle it just built. */
export function packAfterBuild({ check, cli }) {
  const drift = packOrbFiles({ check, cli });
  for (const file of drift) {
    console.error(
      `${file} differs from what orb/src and dist/cli.cjs pack to: run 'pnpm build' and commit it.`,
    );
  }
  if (check && drift.length === 0) console.log('orb/orb.yml is up to date.');
  return drift.length === 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    if (!packAfterBuild({ check: process.argv.includes('--check') })) process.exit(1);
  } catch (err) {
    if (!(err instanceof OrbPackError)) throw err;
    console.error(`error: ${err.message}`);
    process.exit(1);
  }
}
