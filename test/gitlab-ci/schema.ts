// GitLab's own CI schema (gitlab-org/gitlab app/assets/javascripts/editor/schema/ci.json, MIT),
// read offline from the copy the gitlab-ci-local package (MIT) bundles into dist/index.js: the
// object literal that starts with the schema's $schema and $id. Nothing is fetched, nothing of it
// is copied into this repository.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const START =
  '{$schema:"http://json-schema.org/draft-07/schema#",$id:"https://gitlab.com/.gitlab-ci.yml"';

/** The end of the object literal starting at `from`: braces counted outside strings. */
function literalEnd(text: string, from: number): number {
  let depth = 0;
  let quote: string | undefined;
  for (let i = from; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') quote = c;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  throw new Error('gitlab-ci-local: the CI schema literal does not end');
}

let cached: Record<string, unknown> | undefined;

export function gitlabCiSchema(): Record<string, unknown> {
  if (cached) return cached;
  const bundle = createRequire(import.meta.url).resolve('gitlab-ci-local/dist/index.js');
  const text = readFileSync(bundle, 'utf8');
  const at = text.indexOf(START);
  if (at === -1) throw new Error(`gitlab-ci-local: GitLab's CI schema not found in ${bundle}`);
  // A plain object literal (keys, strings, numbers, arrays): evaluated as an expression.
  cached = new Function(`return (${text.slice(at, literalEnd(text, at))});`)() as Record<
    string,
    unknown
  >;
  return cached;
}
