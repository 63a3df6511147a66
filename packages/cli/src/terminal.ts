// Text from manifests, file names, registries and builders reaches the terminal; a control
// character in it (an ESC sequence, a lone CR, a bidi override) could rewrite what the user sees.
// Tab, newline and CRLF pass; everything else becomes a visible escape such as \u001b or \u202e.
// biome-ignore lint/complexity/useRegexLiterals: a literal would trip noControlCharactersInRegex
const UNSAFE = new RegExp(
  '\\r(?!\\n)|[\\x00-\\x08\\x0b-\\x0c\\x0e-\\x1f\\x7f-\\x9f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069]',
  'g',
);

export function escapeControl(text: string): string {
  // \uXXXX: readable, and still valid inside the JSON that --json prints.
  return text.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
