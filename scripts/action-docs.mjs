// Writes the inputs and outputs tables of the README's GitHub Actions section from action.yml, so the two cannot
// drift. `--check` fails instead of writing when the document is stale (test/action runs it).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const docPath = join(root, 'README.md');
const action = parse(readFileSync(join(root, 'action.yml'), 'utf8'));

/** Text for one table cell: one line, pipes escaped. */
function cell(text) {
  return String(text)
    .replace(/\s*\n\s*/g, ' ')
    .replace(/\|/g, '\\|')
    .trim();
}

const COMMAND = '`(?:build_and_push_image|create_release_pr|promote)`';

/** "`build_and_push_image`: …" (or "`create_release_pr`, `promote`: …") names the commands it is for. */
function split(description) {
  const text = cell(description);
  const m = text.match(new RegExp(`^(${COMMAND}(?:, ${COMMAND})*): (.*)$`));
  // A description that goes on about another command too is for all.
  if (!m || new RegExp(COMMAND).test(m[2])) return { for: 'all', text };
  return { for: m[1], text: m[2].charAt(0).toUpperCase() + m[2].slice(1) };
}

function inputsTable() {
  const rows = Object.entries(action.inputs).map(([name, spec]) => {
    const d = split(spec.description);
    const def = spec.default === undefined ? '' : `\`${cell(spec.default)}\``;
    return `| \`${name}\`${spec.required ? ' (required)' : ''} | ${d.for} | ${d.text} | ${def} |`;
  });
  return ['| Input | Command | Description | Default |', '| --- | --- | --- | --- |', ...rows].join(
    '\n',
  );
}

function outputsTable() {
  const rows = Object.entries(action.outputs).map(([name, spec]) => {
    const d = split(spec.description);
    return `| \`${name}\` | ${d.for} | ${d.text} |`;
  });
  return ['| Output | Command | Description |', '| --- | --- | --- |', ...rows].join('\n');
}

function replaceBlock(text, name, body) {
  const start = `<!-- ${name}:start (generated from action.yml by scripts/action-docs.mjs) -->`;
  const end = `<!-- ${name}:end -->`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i === -1 || j === -1) throw new Error(`${docPath}: the ${name} markers are missing`);
  return `${text.slice(0, i + start.length)}\n${body}\n${text.slice(j)}`;
}

const current = readFileSync(docPath, 'utf8');
// In the layout the repository's formatter (Biome) gives Markdown tables, so lint agrees with it.
const next = execFileSync(
  join(root, 'node_modules/.bin/biome'),
  ['format', `--stdin-file-path=${docPath}`],
  {
    input: replaceBlock(replaceBlock(current, 'inputs', inputsTable()), 'outputs', outputsTable()),
    encoding: 'utf8',
  },
);
if (process.argv.includes('--check')) {
  if (next !== current) {
    console.error(
      'README.md (GitHub Actions tables) is stale: run `node scripts/action-docs.mjs` and commit it.',
    );
    process.exit(1);
  }
  console.log('README.md matches action.yml.');
} else {
  writeFileSync(docPath, next);
}
