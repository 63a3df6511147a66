import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { getInputs, INPUT_NAMES, inputVariable } from './inputs.js';
import { OUTPUTS } from './outputs.js';

// action.yml is what users read and what the runner obeys; the code must read exactly those names.
const root = join(import.meta.dirname, '../../..');
const action = parse(readFileSync(join(root, 'action.yml'), 'utf8')) as {
  name: string;
  description: string;
  author: string;
  branding: { icon: string; color: string };
  inputs: Record<string, { description: string; required?: boolean; default?: string }>;
  outputs: Record<string, { description: string }>;
  runs: { using: string; main: string };
};

describe('action.yml', () => {
  it('declares exactly the inputs the code reads', () => {
    expect(Object.keys(action.inputs).sort()).toEqual([...INPUT_NAMES].sort());
  });

  it('declares exactly the outputs the code sets', () => {
    expect(Object.keys(action.outputs).sort()).toEqual([...OUTPUTS].sort());
  });

  it('describes every input and output', () => {
    for (const [name, spec] of [
      ...Object.entries(action.inputs),
      ...Object.entries(action.outputs),
    ])
      expect(spec.description?.trim().length, name).toBeGreaterThan(10);
  });

  it('runs the committed bundle on Node 24 and has the metadata the Marketplace needs', () => {
    expect(action.runs).toEqual({ using: 'node24', main: 'dist/action.cjs' });
    expect(action.name && action.description && action.author).toBeTruthy();
    expect(action.branding.icon && action.branding.color).toBeTruthy();
  });

  it('defaults github-token to the workflow token and requires only command', () => {
    expect(action.inputs['github-token']?.default).toBe(['$', '{{ github.token }}'].join(''));
    const required = Object.entries(action.inputs).filter(([, s]) => s.required);
    expect(required.map(([n]) => n)).toEqual(['command']);
  });

  it.each<Record<string, string>>([
    { command: 'build_and_push_image', image: 'ghcr.io/o/app' },
    { command: 'create_release_pr', repo: 'o/m', paths: 'p', image: 'ghcr.io/o/app' },
  ])('has the same defaults as the code ($command)', (given) => {
    // The runner passes action.yml's defaults as INPUT_* values; they must change nothing.
    const env = (inputs: Record<string, string>) => ({
      GITHUB_SHA: 'f'.repeat(40),
      ...Object.fromEntries(Object.entries(inputs).map(([k, v]) => [inputVariable(k), v])),
    });
    const defaults = Object.fromEntries(
      Object.entries(action.inputs)
        .filter(([name, spec]) => spec.default !== undefined && name !== 'github-token')
        .map(([name, spec]) => [name, String(spec.default)]),
    );
    expect(getInputs(env({ ...defaults, ...given }))).toEqual(getInputs(env(given)));
  });
});
