import { KeyPathError } from '../errors.js';

/** One step of a yq-style path: a map key, a list index, or a list item selected by a field. */
export type KeyStep =
  | { type: 'key'; key: string }
  | { type: 'index'; index: number }
  | { type: 'select'; field: string; value: string };

function unquote(s: string): string {
  const t = s.trim();
  if (t.length >= 2 && (t[0] === '"' || t[0] === "'") && t[t.length - 1] === t[0]) {
    return t.slice(1, -1);
  }
  return t;
}

/**
 * Parses `.spec.template.spec.containers[0].image`, `.spec.containers[name=web].image`,
 * `.api.image.tag`, `.a["dotted.key"]`. The leading dot is optional.
 */
export function parseKeyPath(key: string, file?: string): KeyStep[] {
  const fail = (reason: string): never => {
    throw new KeyPathError(`${file ? `${file}: ` : ''}key "${key}": ${reason}`, { input: 'key' });
  };
  const steps: KeyStep[] = [];
  let i = 0;
  const s = key.trim();
  if (s === '' || s === '.') fail('it is empty; give a path such as .image.tag');
  while (i < s.length) {
    const c = s[i];
    if (c === '.') {
      i++;
      if (s[i] === '"' || s[i] === "'") {
        const end = s.indexOf(s[i]!, i + 1);
        if (end === -1) fail(`unclosed quote at position ${i + 1}`);
        steps.push({ type: 'key', key: s.slice(i + 1, end) });
        i = end + 1;
        continue;
      }
      let j = i;
      while (j < s.length && s[j] !== '.' && s[j] !== '[') j++;
      if (j === i) {
        if (s[i] === '[') continue;
        fail(`empty key at position ${i + 1}`);
      }
      steps.push({ type: 'key', key: s.slice(i, j) });
      i = j;
    } else if (c === '[') {
      const end = s.indexOf(']', i);
      if (end === -1) fail(`unclosed "[" at position ${i + 1}`);
      const inner = s.slice(i + 1, end).trim();
      if (/^[0-9]+$/.test(inner)) {
        steps.push({ type: 'index', index: Number(inner) });
      } else if (inner.includes('=')) {
        const eq = inner.indexOf('=');
        const field = unquote(inner.slice(0, eq).replace(/^\./, ''));
        const value = unquote(inner.slice(eq + 1).replace(/^=/, ''));
        if (!field || !value)
          fail(`selector "[${inner}]" needs a field and a value, e.g. [name=web]`);
        steps.push({ type: 'select', field, value });
      } else if (inner.startsWith('"') || inner.startsWith("'")) {
        steps.push({ type: 'key', key: unquote(inner) });
      } else {
        fail(`"[${inner}]" is neither an index, a quoted key nor a selector such as [name=web]`);
      }
      i = end + 1;
    } else if (steps.length === 0) {
      // `spec.template…` without the leading dot.
      let j = i;
      while (j < s.length && s[j] !== '.' && s[j] !== '[') j++;
      steps.push({ type: 'key', key: s.slice(i, j) });
      i = j;
    } else {
      fail(`unexpected "${c}" at position ${i + 1}`);
    }
  }
  return steps;
}

export function formatStep(step: KeyStep): string {
  if (step.type === 'key') return /^[\w-]+$/.test(step.key) ? `.${step.key}` : `["${step.key}"]`;
  if (step.type === 'index') return `[${step.index}]`;
  return `[${step.field}=${step.value}]`;
}
