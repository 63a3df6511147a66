// Small Markdown pieces for the job summary. Values come from users' files and commit messages, so
// they are escaped: no table breaking, no @-mentions, no HTML.

/** Inline code that cannot be closed early or break a table row. */
export function code(value: string): string {
  return `\`${value.replace(/`/g, "'").replace(/\|/g, '\\|').replace(/\n/g, ' ')}\``;
}

/** Plain text safe in a table cell. */
export function text(value: string): string {
  return value
    .replace(/[\\`*_{}[\]<>|#!]/g, (c) => `\\${c}`)
    .replace(/@/g, '@\u200b')
    .replace(/\n/g, ' ');
}

/** A two-column table of the rows that have a value. */
export function table(head: [string, string], rows: [string, string | undefined][]): string {
  const kept = rows.filter((r): r is [string, string] => r[1] !== undefined && r[1] !== '');
  return [
    `| ${head[0]} | ${head[1]} |`,
    '| --- | --- |',
    ...kept.map(([k, v]) => `| ${k} | ${v} |`),
    '',
  ].join('\n');
}
