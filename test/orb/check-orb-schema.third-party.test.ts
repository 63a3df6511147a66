// The orb against CircleCI's own JSON schema (third-party data in ../shared/schemas): run by
// .ci/run when ../shared is beside the clone, not by `npm test` (vitest project third-party).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { checkOrb, findSchema, validateSchema } from '../../scripts/check-orb.mjs';
import { goodOrb } from './good-orb.js';

const root = join(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'orb-schema-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
type Orb = ReturnType<typeof goodOrb> & Record<string, unknown>;

describe('check-orb with the CircleCI schema', () => {
  it('passes the committed orb: schema, examples and review rules', () => {
    expect(checkOrb()).toEqual([]);
  });

  it('passes the small good orb', () => {
    expect(validateSchema(goodOrb())).toEqual([]);
  });

  it('finds the CircleCI schema by walking up from the repository, and it is draft-07', () => {
    const file = findSchema(root);
    expect(file).toMatch(/shared\/schemas\/circleci-config\.schema\.json$/);
    expect(JSON.parse(readFileSync(file, 'utf8')).$schema).toContain('draft-07');
    expect(() => findSchema('/')).toThrow(/not found/);
  });

  it('schema: a parameter of an unknown type, or a step with two keys, is refused', () => {
    const orb = goodOrb() as Orb;
    (orb.commands.release.parameters.image as { type: string }).type = 'text';
    const problems = validateSchema(orb);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0]?.where).toContain('commands.release.parameters.image');
    const two = goodOrb() as Orb;
    (two.jobs.release.steps as unknown[]).push({ checkout: {}, run: 'x' });
    expect(validateSchema(two).map((p) => p.rule)).toContain('schema');
  });

  it('checkOrb reads a packed file and a source tree: a broken copy fails', () => {
    const orb = YAML.parse(readFileSync(join(root, 'orb/orb.yml'), 'utf8'));
    orb.jobs.create_release_pr.parameters.token_env.type = 'secret';
    const file = join(work, 'orb.yml');
    writeFileSync(file, YAML.stringify(orb));
    const problems = checkOrb({ orbFile: file });
    expect(
      problems.some((p) => p.rule === 'schema' && p.where.includes('jobs.create_release_pr')),
    ).toBe(true);
  });
  it.each(['.circleci/config.yml', '.circleci/test-deploy.yml'])(
    'the orb release pipeline %s is a valid CircleCI config',
    (file) => {
      expect(validateSchema(YAML.parse(readFileSync(join(root, file), 'utf8')), file)).toEqual([]);
    },
  );
});
