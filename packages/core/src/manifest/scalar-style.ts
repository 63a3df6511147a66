import { parse } from 'yaml';

// kustomize, Helm and Argo CD read YAML 1.1 (go-yaml), editors and linters read YAML 1.2: a value we
// write plain must read back as the same string under both, or it gets quoted.

const NON_STRING_PLAIN: readonly RegExp[] = [
  // null and booleans, 1.2 core and 1.1
  /^(?:~|[Nn]ull|NULL)?$/,
  /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/,
  /^(?:[YyNn]|[Yy]es|YES|[Nn]o|NO|[Oo]n|ON|[Oo]ff|OFF)$/,
  // integers: decimal, 1.1 underscores, octal (0o and leading 0), hex, binary, sexagesimal
  /^[-+]?[0-9][0-9_]*$/,
  /^0o[0-7]+$/,
  /^[-+]?0x[0-9a-fA-F_]+$/,
  /^[-+]?0b[01_]+$/,
  /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/,
  // floats with and without exponent (1.1 allows underscores), infinities, not-a-number
  /^[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*$/,
  /^[-+]?(?:[0-9][0-9_]*)?(?:\.[0-9_]*)?[eE][-+]?[0-9]+$/,
  /^[-+]?\.(?:inf|Inf|INF)$/,
  /^\.(?:nan|NaN|NAN)$/,
  // 1.1 timestamps (a date, optionally with a time) and the merge key
  /^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt ].*)?$/,
  /^<<$/,
];

/**
 * What we write plain: the characters of image references only (ASCII letters, digits, `_ . - / :
 * @ = +`), starting with a letter, digit or `_`, never ending in `:`. Anything else is quoted.
 */
const PLAIN_SAFE = /^[A-Za-z0-9_][A-Za-z0-9_.\-/:@=+]*$/;

/**
 * True when `value`, written as a plain scalar, would not read back as exactly that string under
 * YAML 1.2 (core schema) or YAML 1.1.
 */
export function plainNeedsQuotes(value: string): boolean {
  if (!PLAIN_SAFE.test(value) || value.endsWith(':')) return true;
  for (const re of NON_STRING_PLAIN) if (re.test(value)) return true;
  // Belt and braces for anything number-like the patterns above may have missed: ask the parser.
  if (/^[-+.0-9]/.test(value)) {
    try {
      return parse(value) !== value || parse(value, { version: '1.1' }) !== value;
    } catch {
      return true;
    }
  }
  return false;
}

export type ScalarStyle = 'PLAIN' | 'QUOTE_SINGLE' | 'QUOTE_DOUBLE';

/** Double-quoted, with everything but printable ASCII escaped (YAML \\uXXXX / \\UXXXXXXXX). */
function doubleQuote(value: string): string {
  let out = '"';
  for (const ch of value) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (cp >= 0x20 && cp <= 0x7e) out += ch;
    else if (cp <= 0xffff) out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += `\\U${cp.toString(16).padStart(8, '0')}`;
  }
  return `${out}"`;
}

function singleQuote(value: string): string {
  // Single quotes cannot escape: a line break or control character would fold or be invalid.
  if (!/^[\x20-\x7e]*$/.test(value)) return doubleQuote(value);
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * Source text for `value` in the scalar's existing style: quoted styles stay as they are (with
 * correct escaping); plain stays plain unless a YAML reader would misread it, then double quotes.
 */
export function renderScalar(value: string, style: string | undefined): string {
  if (style === 'QUOTE_SINGLE') return singleQuote(value);
  if (style === 'QUOTE_DOUBLE') return doubleQuote(value);
  return plainNeedsQuotes(value) ? doubleQuote(value) : value;
}
