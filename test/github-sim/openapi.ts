// GitHub's published REST description (npm @octokit/openapi) turned into validators, so the
// simulator answers only what GitHub would accept and only in the shape GitHub documents.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: JsonObject;
}

export interface Operation {
  method: string;
  template: string;
  operationId: string;
  documentationUrl: string;
  /** Matches a concrete path; returns its path parameters (decoded). */
  match(path: string): Record<string, string> | undefined;
  validateRequest(
    params: Record<string, string>,
    query: URLSearchParams,
    body: unknown,
  ): string | undefined;
  /** Throws when the simulator is about to answer something GitHub's description forbids. */
  assertResponse(status: number, body: unknown): void;
}

const SPEC_ID = 'https://api.github.com/openapi.json';
let cached: { spec: JsonObject; ajv: Ajv; coercing: Ajv } | undefined;

function load(): { spec: JsonObject; ajv: Ajv; coercing: Ajv } {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const file = require.resolve('@octokit/openapi/generated/api.github.com.json');
  const spec = JSON.parse(readFileSync(file, 'utf8')) as JsonObject;
  // OpenAPI 3.0 marks null with `nullable: true`; JSON Schema says `null` is a type of its own.
  const components = openApiToJsonSchema(spec.components) as JsonObject;
  const make = (coerceTypes: boolean) => {
    // inlineRefs off: each shared component (simple-user, repository…) compiles once, not per use.
    const ajv = new Ajv({
      strict: false,
      allErrors: true,
      coerceTypes,
      validateSchema: false,
      inlineRefs: false,
      logger: false,
    });
    const addFormats = addFormatsModule as unknown as (a: Ajv) => Ajv;
    addFormats(ajv);
    // GitHub's own format for OWNER/NAME.
    ajv.addFormat('repo.nwo', /^[^/\s]+\/[^/\s]+$/);
    ajv.addSchema({ $id: SPEC_ID, components } as object);
    return ajv;
  };
  cached = { spec, ajv: make(false), coercing: make(true) };
  return cached;
}

/** Rewrites OpenAPI 3.0 `nullable` into JSON Schema and drops keywords JSON Schema lacks. */
function openApiToJsonSchema(node: Json | undefined): Json {
  if (Array.isArray(node)) return node.map(openApiToJsonSchema);
  if (node === null || typeof node !== 'object') return node ?? null;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'nullable' || key === 'discriminator' || key === 'example' || key === 'examples')
      continue;
    out[key] =
      key === 'properties' ? mapValues(value, openApiToJsonSchema) : openApiToJsonSchema(value);
  }
  if (node.nullable === true) {
    if (typeof out.type === 'string' && !out.enum) {
      out.type = [out.type, 'null'];
      return out;
    }
    return { anyOf: [out, { type: 'null' }] };
  }
  return out;
}

function mapValues(value: Json, fn: (v: Json) => Json): Json {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fn(v)]));
}

/** Points local refs (#/components/…) at the registered copy of the description. */
function anchor(schema: Json): Json {
  const converted = openApiToJsonSchema(schema);
  return JSON.parse(
    JSON.stringify(converted).replaceAll(
      '"$ref":"#/components/',
      `"$ref":"${SPEC_ID}#/components/`,
    ),
  ) as Json;
}

function deref<T>(spec: JsonObject, value: Json): T {
  let node = value;
  while (
    node &&
    typeof node === 'object' &&
    !Array.isArray(node) &&
    typeof node.$ref === 'string'
  ) {
    const path = node.$ref.replace(/^#\//, '').split('/');
    let target: Json = spec;
    for (const part of path) target = (target as JsonObject)[part] ?? null;
    node = target;
  }
  return node as T;
}

export function formatErrors(errors: ErrorObject[] | null | undefined, prefix: string): string {
  return (errors ?? [])
    .slice(0, 5)
    .map((e) => `${prefix}${e.instancePath || ''} ${e.message ?? 'is invalid'}`.trim())
    .join('; ');
}

/** The operation GitHub describes for this method and path template. */
export function operation(method: string, template: string): Operation {
  const { spec, ajv, coercing } = load();
  const item = (spec.paths as JsonObject)[template] as JsonObject | undefined;
  const op = item?.[method.toLowerCase()] as JsonObject | undefined;
  if (!op) throw new Error(`GitHub's OpenAPI description has no ${method} ${template}`);
  const parameters = ((op.parameters as Json[]) ?? []).map((p) => deref<Parameter>(spec, p));
  const docs = (op.externalDocs as JsonObject | undefined)?.url;
  const documentationUrl = typeof docs === 'string' ? docs : 'https://docs.github.com/rest';

  const names: string[] = [];
  const pattern = template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, (_, name) => {
    names.push(name);
    // `path` and `ref` may hold slashes (contents paths, refs/heads/x); the rest may not.
    return name === 'path' ? '(.*)' : name === 'ref' || name === 'basehead' ? '(.+)' : '([^/]+)';
  });
  // The root of contents is asked as `/contents` (Octokit drops the empty path's slash).
  const regex = new RegExp(`^${pattern.replace(/\/\(\.\*\)$/, '(?:/(.*))?')}$`);

  const paramSchema = (where: 'path' | 'query') => {
    const list = parameters.filter((p) => p.in === where);
    return anchor({
      type: 'object',
      properties: Object.fromEntries(list.map((p) => [p.name, p.schema ?? {}])),
      required: list.filter((p) => p.required).map((p) => p.name),
    } as JsonObject);
  };
  let pathValidator: ValidateFunction | undefined;
  let queryValidator: ValidateFunction | undefined;
  let bodyValidator: ValidateFunction | undefined;
  const queryNames = parameters.filter((p) => p.in === 'query').map((p) => p.name);
  const bodySchema = (
    (
      deref<JsonObject | undefined>(spec, (op.requestBody as Json) ?? null)?.content as
        | JsonObject
        | undefined
    )?.['application/json'] as JsonObject | undefined
  )?.schema;
  const bodyRequired = Boolean(deref<JsonObject>(spec, (op.requestBody as Json) ?? null)?.required);
  const responseValidators = new Map<number, ValidateFunction | null>();

  return {
    method: method.toUpperCase(),
    template,
    operationId: String(op.operationId),
    documentationUrl,
    match(path) {
      const m = regex.exec(path);
      if (!m) return undefined;
      const params: Record<string, string> = {};
      names.forEach((name, i) => {
        params[name] = decodeURIComponent(m[i + 1] ?? '');
      });
      return params;
    },
    validateRequest(params, query, body) {
      pathValidator ??= coercing.compile(paramSchema('path') as object);
      queryValidator ??= coercing.compile(paramSchema('query') as object);
      const pathCopy: Record<string, unknown> = { ...params };
      if (!pathValidator(pathCopy)) return formatErrors(pathValidator.errors, 'path');
      const queryObject: Record<string, unknown> = {};
      for (const name of queryNames) {
        const value = query.get(name);
        if (value !== null) queryObject[name] = value;
      }
      if (!queryValidator(queryObject)) return formatErrors(queryValidator.errors, 'query');
      if (bodySchema) {
        if (body === undefined) return bodyRequired ? 'a JSON body is required' : undefined;
        bodyValidator ??= ajv.compile(anchor(bodySchema) as object);
        if (!bodyValidator(body)) return formatErrors(bodyValidator.errors, 'body');
      }
      return undefined;
    },
    assertResponse(status, body) {
      if (!responseValidators.has(status)) {
        const response = deref<JsonObject | undefined>(
          spec,
          ((op.responses as JsonObject)[String(status)] as Json) ?? null,
        );
        if (!response) {
          throw new Error(
            `simulator bug: GitHub's description of ${method} ${template} has no ${status} response`,
          );
        }
        const schema = (
          (response.content as JsonObject | undefined)?.['application/json'] as
            | JsonObject
            | undefined
        )?.schema;
        responseValidators.set(status, schema ? ajv.compile(anchor(schema) as object) : null);
      }
      const validate = responseValidators.get(status);
      if (validate && !validate(body)) {
        throw new Error(
          `simulator bug: its ${status} answer to ${method} ${template} does not match GitHub's description: ${formatErrors(validate.errors, 'response')}`,
        );
      }
    },
  };
}
