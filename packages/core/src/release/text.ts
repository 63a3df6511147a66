import { UsageError } from '../errors.js';
import type { AppCommit, CommitComparison } from './host.js';

/** Values a branch, title or message template may use: `{sha}`, `{app}`, `{tag}`, `{image}`, `{base}`. */
export interface TemplateValues {
  sha: string;
  app: string;
  tag: string;
  image: string;
  base: string;
}

/** Replaces `{name}` placeholders; an unknown name is left as written so a typo stays visible. */
export function renderTemplate(template: string, values: TemplateValues): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    Object.hasOwn(values, name) ? values[name as keyof TemplateValues] : whole,
  );
}

/**
 * Why git would refuse `name` as a branch, or undefined when it accepts it: the rules of
 * `git check-ref-format --branch` (git-check-ref-format(1)), which GitHub and GitLab apply too.
 */
export function branchNameProblem(name: string): string | undefined {
  if (name === '') return 'it is empty';
  if (name === '@') return 'it is the single character "@"';
  if (name === 'HEAD') return '"HEAD" names the current commit, not a branch';
  if (name.startsWith('-')) return 'it starts with "-"';
  if (name.startsWith('/') || name.endsWith('/')) return 'it starts or ends with "/"';
  if (name.includes('//')) return 'it contains "//"';
  if (name.endsWith('.')) return 'it ends with "."';
  if (name.includes('..')) return 'it contains ".."';
  if (name.includes('@{')) return 'it contains "@{"';
  for (const c of name) {
    const code = c.charCodeAt(0);
    if (code > 0x20 && code !== 0x7f && !'~^:?*[\\'.includes(c)) continue;
    const shown =
      c === ' ' ? 'a space' : code <= 0x20 || code === 0x7f ? 'a control character' : `"${c}"`;
    return `it contains ${shown} (git refuses spaces, control characters and ~ ^ : ? * [ \\)`;
  }
  for (const part of name.split('/')) {
    if (part.startsWith('.')) return `its part "${part}" starts with "."`;
    if (part.endsWith('.lock')) return `its part "${part}" ends with ".lock"`;
  }
  return undefined;
}

/**
 * The release branch a template renders to; a UsageError before anything is read when git would
 * refuse it. Never rewritten into another name: the user would not find the branch they named.
 */
export function releaseBranchName(template: string, values: TemplateValues): string {
  const unknown = [...template.matchAll(/\{(\w+)\}/g)].find((m) => !Object.hasOwn(values, m[1]!));
  if (unknown) {
    throw new UsageError(
      `branch "${template}": unknown placeholder ${unknown[0]}; templates know ${Object.keys(values)
        .map((k) => `{${k}}`)
        .join(' ')}`,
      { input: 'branch' },
    );
  }
  const name = renderTemplate(template, values);
  const problem = branchNameProblem(name);
  if (problem) {
    const rendered = name === template ? '' : ` renders to "${name}", which`;
    throw new UsageError(
      `branch "${template}"${rendered} is not a branch name git accepts: ${problem}`,
      { input: 'branch' },
    );
  }
  return name;
}

/** A UsageError when a pull-request release would commit onto its own base branch. */
export function checkReleaseBranch(branch: string, base: string): void {
  if (branch !== base) return;
  throw new UsageError(
    `the release branch "${branch}" is the base branch: a pull request from ${base} into itself cannot be opened, and committing there is what --mode push is for. Use --mode push to commit straight onto ${base}, or a release branch such as "release-{sha}"`,
    { input: 'branch' },
  );
}

/**
 * Makes text from a commit message safe inside Markdown: no @mention, no #123 cross-reference,
 * no HTML and no Markdown markup (links, emphasis, tables, code) survives.
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/[\\`*_{}[\]()#+\-.!|~]/g, (c) => `\\${c}`)
    .replace(/@/g, '@\u200b')
    .replace(/[\r\n]+/g, ' ');
}

/** A hidden line in the body that says which images and paths a release pull request is for. */
export const RELEASE_MARKER = 'gitops-release';

export interface ReleaseMarker {
  images: string[];
  paths: string[];
}

export function formatMarker(marker: ReleaseMarker): string {
  return `<!-- ${RELEASE_MARKER} ${JSON.stringify(marker)} -->`;
}

export function parseMarker(body: string): ReleaseMarker | undefined {
  const m = body.match(/<!-- gitops-release (\{.*?\}) -->/);
  if (!m?.[1]) return undefined;
  try {
    const value = JSON.parse(m[1]) as Partial<ReleaseMarker>;
    if (!Array.isArray(value.images) || !Array.isArray(value.paths)) return undefined;
    return { images: value.images.map(String), paths: value.paths.map(String) };
  } catch {
    return undefined;
  }
}

function cell(text: string): string {
  return `\`${text.replace(/`/g, "'").replace(/\|/g, '\\|')}\``;
}

/** One row of the body's table: an image changed at a line of a file. */
export interface ChangeRow {
  path: string;
  line: number;
  from: string;
  to: string;
}

export interface BodyInput {
  rows: ChangeRow[];
  marker: ReleaseMarker;
  comparison?: CommitComparison;
  appRepository?: string;
  /** Commits listed before the rest are summarized by a count. */
  maxCommits?: number;
  /** The user's own text (Markdown, as written), placed above the generated table. */
  intro?: string;
}

/** GitHub refuses a pull request body longer than this (422 "body is too long"). */
export const MAX_BODY_LENGTH = 65536;

/** The pull request body: changed files with old → new image, then the application commits. */
export function formatPullRequestBody(input: BodyInput): string {
  const lines: string[] = [];
  if (input.intro?.trim()) lines.push(input.intro.trimEnd(), '');
  lines.push('This release changes:', '', '| File | Line | Image before | Image after |');
  lines.push('| --- | ---: | --- | --- |');
  for (const row of input.rows) {
    lines.push(`| ${cell(row.path)} | ${row.line} | ${cell(row.from)} | ${cell(row.to)} |`);
  }
  const comparison = input.comparison;
  if (comparison && comparison.commits.length > 0) {
    const max = input.maxCommits ?? 50;
    lines.push(
      '',
      `Application commits${input.appRepository ? ` in ${cell(input.appRepository)}` : ''}:`,
    );
    lines.push('');
    for (const commit of comparison.commits.slice(0, max)) lines.push(formatCommit(commit));
    if (comparison.commits.length > max)
      lines.push(`- … and ${comparison.commits.length - max} more`);
  }
  if (comparison?.url) lines.push('', `Compare: ${comparison.url}`);
  lines.push('', formatMarker(input.marker), '');
  return lines.join('\n');
}

function formatCommit(commit: AppCommit): string {
  const author = commit.author ? ` (${escapeMarkdown(commit.author)})` : '';
  return `- \`${commit.sha.slice(0, 7).replace(/[^0-9a-f]/gi, '')}\` ${escapeMarkdown(commit.message)}${author}`;
}

/** A unified diff of one file, for dry runs; context lines around each change. */
export function unifiedDiff(path: string, before: string, after: string, context = 3): string {
  const a = before.split('\n');
  const b = after.split('\n');
  // Edits only rewrite scalars in place, so lines pair up; fall back to LCS when counts differ.
  const ops = diffLines(a, b);
  const out = [`--- a/${path}`, `+++ b/${path}`];
  let i = 0;
  while (i < ops.length) {
    if (ops[i]?.kind === ' ') {
      i++;
      continue;
    }
    const start = Math.max(0, i - context);
    let end = i;
    let lastChange = i;
    while (end < ops.length && end - lastChange <= context * 2) {
      if (ops[end]?.kind !== ' ') lastChange = end;
      end++;
    }
    end = Math.min(ops.length, lastChange + context + 1);
    const hunk = ops.slice(start, end);
    const aStart = (ops[start]?.aLine ?? 0) + 1;
    const bStart = (ops[start]?.bLine ?? 0) + 1;
    const aCount = hunk.filter((o) => o.kind !== '+').length;
    const bCount = hunk.filter((o) => o.kind !== '-').length;
    out.push(`@@ -${aStart},${aCount} +${bStart},${bCount} @@`);
    for (const op of hunk) out.push(`${op.kind}${op.text}`);
    i = end;
  }
  return `${out.join('\n')}\n`;
}

interface DiffOp {
  kind: ' ' | '-' | '+';
  text: string;
  aLine: number;
  bLine: number;
}

/** Above this many LCS cells, the changed middle is shown as removed then added. */
const MAX_LCS_CELLS = 4_000_000;

function diffLines(a: string[], b: string[]): DiffOp[] {
  // Common head and tail first: an edit touches a few lines, so the LCS is over those only and a
  // 100,000-line file does not need a 10^10-cell table.
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (
    tail < a.length - head &&
    tail < b.length - head &&
    a[a.length - 1 - tail] === b[b.length - 1 - tail]
  ) {
    tail++;
  }
  const ops: DiffOp[] = [];
  for (let k = 0; k < head; k++) ops.push({ kind: ' ', text: a[k]!, aLine: k, bLine: k });
  const midA = a.slice(head, a.length - tail);
  const midB = b.slice(head, b.length - tail);
  for (const op of diffMiddle(midA, midB)) {
    ops.push({ ...op, aLine: op.aLine + head, bLine: op.bLine + head });
  }
  for (let k = tail; k > 0; k--) {
    const ai = a.length - k;
    const bi = b.length - k;
    ops.push({ kind: ' ', text: a[ai]!, aLine: ai, bLine: bi });
  }
  return ops;
}

function diffMiddle(a: string[], b: string[]): DiffOp[] {
  const n = a.length;
  const m = b.length;
  if ((n + 1) * (m + 1) > MAX_LCS_CELLS) {
    return [
      ...a.map((text, i) => ({ kind: '-' as const, text, aLine: i, bLine: 0 })),
      ...b.map((text, j) => ({ kind: '+' as const, text, aLine: n, bLine: j })),
    ];
  }
  const table: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    const row = table[i]!;
    const next = table[i + 1]!;
    for (let j = m - 1; j >= 0; j--) {
      row[j] = a[i] === b[j] ? next[j + 1]! + 1 : Math.max(next[j]!, row[j + 1]!);
    }
  }
  const ops: DiffOp[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      ops.push({ kind: ' ', text: a[i]!, aLine: i, bLine: j });
      i++;
      j++;
    } else if (j < m && (i >= n || table[i]![j + 1]! >= table[i + 1]![j]!)) {
      ops.push({ kind: '+', text: b[j]!, aLine: i, bLine: j });
      j++;
    } else {
      ops.push({ kind: '-', text: a[i]!, aLine: i, bLine: j });
      i++;
    }
  }
  // Show removals before additions inside a run of changes, as diff(1) does.
  for (let k = 0; k < ops.length; ) {
    if (ops[k]!.kind === ' ') {
      k++;
      continue;
    }
    let e = k;
    while (e < ops.length && ops[e]!.kind !== ' ') e++;
    const run = ops.slice(k, e);
    const sorted = [...run.filter((o) => o.kind === '-'), ...run.filter((o) => o.kind === '+')];
    ops.splice(k, e - k, ...sorted);
    k = e;
  }
  return ops;
}
