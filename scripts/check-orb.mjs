// Checks the packed orb: CircleCI's own JSON schema (from its YAML language server, in
// ../shared/schemas) and the orb-tools review rules that can be checked without the network,
// plus this project's rules for secrets and parameters.
//
//   node scripts/check-orb.mjs [--orb orb/orb.yml] [--src orb/src]
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv';
import YAML from 'yaml';
import { ORB_FILE, ORB_SRC, packOrb } from './pack-orb.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** CI has shared/ beside the clone, a worktree has it further up: walk up from the repo root. */
export function findSchema(start = root) {
  let dir = resolve(start);
  for (;;) {
    const candidate = join(dir, 'shared/schemas/circleci-config.schema.json');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(
        `shared/schemas/circleci-config.schema.json not found in ${start} or any folder above it`,
      );
    }
    dir = parent;
  }
}

let compiled;
/** The schema is draft-07 (its $schema says so), Ajv's default draft. */
function schemaValidator() {
  if (!compiled) {
    const schema = JSON.parse(readFileSync(findSchema(), 'utf8'));
    if (!String(schema.$schema).includes('draft-07')) {
      throw new Error(`the CircleCI schema is ${schema.$schema}, not draft-07: update check-orb`);
    }
    // strict: false because the schema carries the editor's own keywords (markdownDescription).
    const ajv = new Ajv({ strict: false, allErrors: true, logger: false });
    compiled = ajv.compile(schema);
  }
  return compiled;
}

/** Schema errors, one line each, most specific first (oneOf reports every branch it tried). */
export function validateSchema(doc, where = 'orb') {
  const validate = schemaValidator();
  if (validate(doc)) return [];
  const errors = validate.errors ?? [];
  const deepest = Math.max(...errors.map((e) => e.instancePath.split('/').length));
  return errors
    .filter((e) => e.instancePath.split('/').length === deepest)
    .map((e) => ({
      rule: 'schema',
      where: `${where}${e.instancePath.replaceAll('/', '.') || ''}`,
      message: `${e.message}${e.params?.allowedValues ? ` (${e.params.allowedValues.join(', ')})` : ''}${e.params?.additionalProperty ? ` (${e.params.additionalProperty})` : ''}`,
    }));
}

const SNAKE = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;
const PARAMETER_TYPES = [
  'string',
  'boolean',
  'integer',
  'enum',
  'executor',
  'steps',
  'env_var_name',
];
/** Names of parameters that carry a credential, which must be named, never given, in config. */
const SECRET_NAME = /(token|password|passwd|secret|credential|private_key|api_key|(^|_)key(_|$))/;
/** Names SECRET_NAME matches that are no credential: `key` is the path of the value to edit (--key). */
const NOT_SECRET = new Set(['key']);
/** Values that look like a credential itself. */
const SECRET_VALUES = [
  ['a GitHub token', /\b(gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})/],
  ['an AWS access key id', /\b(AKIA|ASIA)[0-9A-Z]{16}\b/],
  ['a private key', /-----BEGIN [A-Z ]*PRIVATE KEY-----/],
  ['a Google service account key', /"private_key"\s*:/],
  ['a Slack token', /\bxox[abposr]-[A-Za-z0-9-]{10,}/],
  ['a password in a URL', /\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@$]+@/i],
];
/** orb-tools' default limit for a run command written inline rather than included. */
export const MAX_INLINE_COMMAND = 64;
const COMPONENT_KINDS = ['commands', 'jobs', 'executors', 'examples'];
const PARAM_REF = /<<\s*parameters\.([A-Za-z0-9_-]+)\s*>>/g;

function* runSteps(steps, path) {
  if (!Array.isArray(steps)) return;
  for (const [i, step] of steps.entries()) {
    if (!step || typeof step !== 'object') continue;
    const [[name, body] = []] = Object.entries(step);
    if (name === 'run') yield [body, `${path}[${i}].run`];
    if (name === 'when' || name === 'unless')
      yield* runSteps(body?.steps, `${path}[${i}].${name}.steps`);
  }
}

function* strings(value, path) {
  if (typeof value === 'string') yield [value, path];
  else if (Array.isArray(value))
    for (const [i, v] of value.entries()) yield* strings(v, `${path}[${i}]`);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) yield* strings(v, `${path}.${k}`);
  }
}

/**
 * The review rules on an unpacked orb (includes not resolved, so that RC009 can tell an included
 * command from an inline one) and the texts of the files it includes. Returns the problems.
 */
export function reviewOrb(orb, includedFiles = new Map()) {
  const problems = [];
  const fail = (rule, where, message) => problems.push({ rule, where, message });

  if (!orb.display?.source_url) fail('RC001', '@orb.yml', 'set display.source_url');
  if (!orb.display?.home_url) fail('RC001', '@orb.yml', 'set display.home_url');
  if (typeof orb.description !== 'string' || orb.description.trim().length < 64) {
    fail('RC005', '@orb.yml', 'the orb description is missing or under 64 characters');
  }
  if (!orb.examples || Object.keys(orb.examples).length === 0) {
    fail('RC003', 'examples', 'add at least one usage example');
  }

  for (const kind of COMPONENT_KINDS) {
    for (const [name, component] of Object.entries(orb[kind] ?? {})) {
      const where = `${kind}.${name}`;
      if (!SNAKE.test(name)) fail('RC010', where, `${kind} names are snake_case`);
      if (kind === 'examples' && name.includes('example')) {
        fail('RC004', where, "an example's name says what it shows, not 'example'");
      }
      if (typeof component?.description !== 'string' || component.description.trim() === '') {
        fail('RC002', where, 'add a description');
      }
      if (kind === 'examples') continue;

      const declared = Object.entries(component?.parameters ?? {});
      for (const [pname, p] of declared) {
        const pwhere = `${where}.parameters.${pname}`;
        if (!SNAKE.test(pname)) fail('RC010', pwhere, 'parameter names are snake_case');
        if (typeof p?.description !== 'string' || p.description.trim() === '') {
          fail('GR001', pwhere, 'describe the parameter');
        }
        if (!PARAMETER_TYPES.includes(p?.type)) {
          fail('GR002', pwhere, `type must be one of ${PARAMETER_TYPES.join(', ')}`);
        }
        if (p?.type === 'enum' && (!Array.isArray(p.enum) || p.enum.length === 0)) {
          fail('GR002', pwhere, 'an enum parameter lists its values in enum');
        }
        if (p?.type === 'enum' && 'default' in p && !p.enum?.includes(p.default)) {
          fail(
            'GR002',
            pwhere,
            `the default ${JSON.stringify(p.default)} is not one of its enum values`,
          );
        }
        if (p?.type === 'boolean' && 'default' in p && typeof p.default !== 'boolean') {
          fail('GR002', pwhere, 'a boolean default is true or false');
        }
        // `…_envs` is a list of variable names (ID=VARIABLE lines), which env_var_name cannot hold.
        if (
          SECRET_NAME.test(pname) &&
          !NOT_SECRET.has(pname) &&
          !/_envs$/.test(pname) &&
          p?.type !== 'env_var_name'
        ) {
          fail(
            'GR003',
            pwhere,
            'a credential is passed as env_var_name (the name of a project or context variable), never as a value',
          );
        }
        if (
          p?.type === 'env_var_name' &&
          'default' in p &&
          !/^[A-Za-z_][A-Za-z0-9_]*$/.test(String(p.default))
        ) {
          fail('GR003', pwhere, 'an env_var_name default is a variable name');
        }
      }
      // Every reference resolves, and every declared parameter is used somewhere.
      const used = new Set();
      for (const [text, path] of strings({ ...component, parameters: undefined }, where)) {
        for (const m of text.matchAll(PARAM_REF)) {
          used.add(m[1]);
          if (!declared.some(([n]) => n === m[1])) {
            fail('GR004', path, `<< parameters.${m[1]} >> is not a declared parameter`);
          }
        }
      }
      for (const [pname] of declared) {
        if (!used.has(pname))
          fail('GR004', `${where}.parameters.${pname}`, 'declared but never used');
      }

      for (const [run, path] of runSteps(component?.steps, `${where}.steps`)) {
        if (typeof run === 'string') {
          fail('RC008', path, 'write the run step as a map with a name and a command');
          continue;
        }
        if (!run?.name) fail('RC008', path, 'give the run step a name');
        const command = String(run?.command ?? '');
        if (command.length > MAX_INLINE_COMMAND && !/^<<\s*include\(/.test(command)) {
          fail(
            'RC009',
            `${path}.command`,
            `a command over ${MAX_INLINE_COMMAND} characters goes in a script under scripts/, brought in with <<include()>>`,
          );
        }
      }
    }
  }

  for (const [text, path] of strings(orb, 'orb')) {
    for (const [what, re] of SECRET_VALUES) {
      if (re.test(text))
        fail(
          'GR005',
          path,
          `looks like ${what}: keep credentials in contexts and name them with env_var_name parameters`,
        );
    }
  }
  for (const [file, text] of includedFiles) {
    for (const [what, re] of SECRET_VALUES) {
      if (re.test(text)) fail('GR005', file, `looks like ${what}`);
    }
    // CircleCI reads << ... >> in an included script as config syntax: a here-string or heredoc
    // would break the orb (or need escaping as \<<).
    if (/<</.test(text.replaceAll(PARAM_REF, ''))) {
      fail(
        'GR006',
        file,
        "contains '<<', which CircleCI takes for a parameter reference: use printf | or < <(...) instead",
      );
    }
  }
  return problems;
}

/** Every `<<include(path)>>` of the unpacked orb, read relative to srcDir. */
export function includedFiles(orb, srcDir) {
  const files = new Map();
  for (const [text] of strings(orb, 'orb')) {
    const m = text.match(/^<<\s*include\(([^()]+)\)\s*>>$/);
    if (m) files.set(m[1].trim(), readFileSync(join(srcDir, m[1].trim()), 'utf8'));
  }
  return files;
}

/**
 * All checks: the packed file against the schema, each example's usage as a config, the review.
 * `schema: false` leaves out the schema (CircleCI's, third-party data in ../shared): the review
 * rules need nothing beside the clone.
 */
export function checkOrb({ orbFile = ORB_FILE, srcDir = ORB_SRC, schema = true } = {}) {
  const packed = YAML.parse(readFileSync(orbFile, 'utf8'));
  const problems = schema ? validateSchema(packed, 'orb') : [];
  for (const [name, example] of Object.entries(schema ? (packed.examples ?? {}) : {})) {
    if (example?.usage) problems.push(...validateSchema(example.usage, `examples.${name}.usage`));
  }
  // The application's example configs use the orb the same way; CircleCI would refuse them first.
  const examplesDir = join(root, 'examples/circleci');
  const appConfigs =
    schema && existsSync(examplesDir)
      ? readdirSync(examplesDir)
          .filter((f) => /\.ya?ml$/.test(f))
          .sort()
      : [];
  for (const file of appConfigs) {
    problems.push(
      ...validateSchema(
        YAML.parse(readFileSync(join(examplesDir, file), 'utf8')),
        `examples/circleci/${file}`,
      ),
    );
  }
  const unpacked = packOrb(srcDir, { includes: false });
  problems.push(...reviewOrb(unpacked, includedFiles(unpacked, srcDir)));
  return problems;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const arg = (name) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? resolve(process.argv[i + 1]) : undefined;
  };
  const problems = checkOrb({ orbFile: arg('--orb') ?? ORB_FILE, srcDir: arg('--src') ?? ORB_SRC });
  for (const p of problems) console.error(`${p.rule} ${p.where}: ${p.message}`);
  if (problems.length > 0) {
    console.error(`${problems.length} problem(s) in the orb.`);
    process.exit(1);
  }
  console.log('orb: valid against the CircleCI schema and passes the review rules.');
}
