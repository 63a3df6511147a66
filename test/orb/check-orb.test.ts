// The orb checker: the committed orb passes, and each rule fails on a small orb that breaks it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkOrb, type OrbProblem, reviewOrb } from '../../scripts/check-orb.mjs';
import {
  cliPieces,
  decodeCliPieces,
  PART_SIZE,
  PART_SLOTS,
  packOrb,
  packOrbFiles,
  stringifyOrb,
} from '../../scripts/pack-orb.mjs';
import { goodOrb } from './good-orb.js';

const root = join(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'orb-check-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

type Orb = ReturnType<typeof goodOrb> & Record<string, unknown>;
const script = new Map([['scripts/release.sh', 'echo "$PARAM_IMAGE"\n']]);

function rules(problems: OrbProblem[]): string[] {
  return [...new Set(problems.map((p) => p.rule))].sort();
}
function broken(change: (orb: Orb) => void, files = script): OrbProblem[] {
  const orb = goodOrb() as Orb;
  change(orb);
  return reviewOrb(orb, files);
}

describe('check-orb', () => {
  it('passes the committed orb: the review rules (the schema checks need ../shared)', () => {
    expect(checkOrb({ schema: false })).toEqual([]);
  });

  it('passes the small good orb, so each failure below is the one change', () => {
    expect(reviewOrb(goodOrb(), script)).toEqual([]);
  });

  it('RC001 and RC005: source_url and a detailed orb description', () => {
    expect(rules(broken((o) => Reflect.deleteProperty(o.display, 'source_url')))).toEqual([
      'RC001',
    ]);
    expect(rules(broken((o) => (o.description = 'Too short.')))).toEqual(['RC005']);
  });

  it('RC002 and GR001: descriptions on components and parameters', () => {
    expect(rules(broken((o) => Reflect.deleteProperty(o.executors.node, 'description')))).toEqual([
      'RC002',
    ]);
    expect(rules(broken((o) => (o.examples.release_on_main.description = ' ')))).toEqual(['RC002']);
    expect(
      rules(
        broken((o) => Reflect.deleteProperty(o.commands.release.parameters.draft, 'description')),
      ),
    ).toEqual(['GR001']);
  });

  it('RC003 and RC004: examples present, with names that say what they show', () => {
    expect(rules(broken((o) => Reflect.deleteProperty(o, 'examples')))).toEqual(['RC003']);
    expect(
      rules(
        broken((o) => {
          (o.examples as Record<string, unknown>).example_one = o.examples.release_on_main;
          Reflect.deleteProperty(o.examples, 'release_on_main');
        }),
      ),
    ).toEqual(['RC004']);
  });

  it('RC008 and RC009: run steps named, long commands in included scripts', () => {
    expect(
      rules(broken((o) => Reflect.deleteProperty(o.commands.release.steps[0]!.run, 'name'))),
    ).toEqual(['RC008']);
    expect(
      rules(broken((o) => (o.jobs.release.steps as unknown[]).push({ run: 'echo hi' }) as unknown)),
    ).toEqual(['RC008']);
    const long = `echo "${'x'.repeat(70)}"`;
    expect(
      rules(
        broken((o) =>
          (o.jobs.release.steps as unknown[]).push({ run: { name: 'Long', command: long } }),
        ),
      ),
    ).toEqual(['RC009']);
    // The same length inside a when: is found too.
    expect(
      rules(
        broken((o) =>
          (o.jobs.release.steps as unknown[]).push({
            when: { condition: true, steps: [{ run: { name: 'Long', command: long } }] },
          }),
        ),
      ),
    ).toEqual(['RC009']);
  });

  it('RC010: snake_case component and parameter names', () => {
    expect(
      rules(
        broken((o) => {
          (o.commands as Record<string, unknown>)['release-image'] = o.commands.release;
        }),
      ),
    ).toContain('RC010');
    expect(
      rules(
        broken((o) => {
          const p = o.commands.release.parameters as Record<string, unknown>;
          p['dry-run'] = { type: 'boolean', default: false, description: 'x' };
          o.commands.release.steps[0]!.run.environment.PARAM_IMAGE += ' << parameters.dry-run >>';
        }),
      ),
    ).toEqual(['RC010']);
  });

  it('GR002: typed parameters, enum defaults among the values, boolean defaults booleans', () => {
    const p = () => goodOrb().commands.release.parameters;
    expect(
      rules(
        broken(
          (o) =>
            (o.commands.release.parameters = { ...p(), mode: { ...p().mode, default: 'merge' } }),
        ),
      ),
    ).toEqual(['GR002']);
    expect(
      rules(
        broken(
          (o) =>
            (o.commands.release.parameters = {
              ...p(),
              draft: { ...p().draft, default: 'no' as unknown as boolean },
            }),
        ),
      ),
    ).toEqual(['GR002']);
    expect(
      rules(
        broken(
          (o) =>
            (o.commands.release.parameters = { ...p(), image: { ...p().image, type: 'text' } }),
        ),
      ),
    ).toEqual(['GR002']);
  });

  it('GR003: a secret-like parameter must be env_var_name, with a variable name as default', () => {
    expect(
      rules(
        broken((o) => {
          o.commands.release.parameters.token_env = {
            type: 'string',
            default: '',
            description: 'x',
          } as never;
        }),
      ),
    ).toEqual(['GR003']);
    expect(
      rules(
        broken((o) => {
          const params = o.commands.release.parameters as Record<string, unknown>;
          params.registry_password = { type: 'string', default: '', description: 'The password.' };
          o.commands.release.steps[0]!.run.environment.PARAM_IMAGE +=
            '<< parameters.registry_password >>';
        }),
      ),
    ).toEqual(['GR003']);
    expect(
      rules(broken((o) => (o.commands.release.parameters.token_env.default = 'ghp-not a name'))),
    ).toEqual(['GR003']);
  });

  it('GR004: every parameter reference declared, every declared parameter used', () => {
    expect(
      rules(
        broken(
          (o) =>
            (o.commands.release.steps[0]!.run.environment.PARAM_IMAGE = '<< parameters.imgae >>'),
        ),
      ),
    ).toEqual(['GR004']);
  });

  it('GR005: no hard-coded secrets in the orb or in the scripts it includes', () => {
    const token = `ghp_${'a1B2'.repeat(9)}`;
    expect(rules(broken((o) => (o.jobs.release.steps[0] = { release: { image: token } })))).toEqual(
      ['GR005'],
    );
    expect(
      rules(
        broken(
          () => {},
          new Map([['scripts/release.sh', 'curl https://ci:hunter2@registry.example.com/v2/\n']]),
        ),
      ),
    ).toEqual(['GR005']);
    expect(
      rules(
        broken(() => {}, new Map([['scripts/release.sh', '-----BEGIN RSA PRIVATE KEY-----\n']])),
      ),
    ).toEqual(['GR005']);
  });

  it('GR006: no << in an included script, which CircleCI would take for its own syntax', () => {
    expect(
      rules(broken(() => {}, new Map([['scripts/release.sh', 'read -r x <<<"$PARAM_IMAGE"\n']]))),
    ).toEqual(['GR006']);
  });
});

describe('pack-orb', () => {
  it('the committed orb/orb.yml and CLI pieces are what orb/src and dist/cli.cjs pack to', () => {
    expect(packOrbFiles({ check: true })).toEqual([]);
  });

  it('packs as orb pack does: @orb.yml at the top, one key a file, includes resolved', () => {
    const orb = packOrb();
    expect(Object.keys(orb).slice(0, 4)).toEqual(['version', 'description', 'display', 'commands']);
    expect(Object.keys(orb.commands as object).sort()).toEqual([
      'build_and_push_image',
      'create_release_pr',
      'install_cli',
      'promote',
    ]);
    expect(Object.keys(orb.jobs as object).sort()).toEqual([
      'build_and_push_image',
      'create_release_pr',
      'promote',
    ]);
    const commands = orb.commands as Record<string, { steps: { run: { command: string } }[] }>;
    const run = commands.create_release_pr!.steps[1]!.run;
    expect(run.command).toBe(
      readFileSync(join(root, 'orb/src/scripts/create-release-pr.sh'), 'utf8'),
    );
    expect(stringifyOrb(orb)).toBe(readFileSync(join(root, 'orb/orb.yml'), 'utf8'));
  });

  it('cuts the CLI into parts under the size limit that decode to the same bytes', () => {
    const cli = readFileSync(join(root, 'dist/cli.cjs'), 'utf8');
    const pieces = cliPieces(cli);
    expect(pieces.parts).toHaveLength(PART_SLOTS);
    expect(Math.max(...pieces.parts.map((p) => p.length))).toBeLessThanOrEqual(PART_SIZE);
    expect(decodeCliPieces(pieces.parts)).toBe(cli);
    // A bundle as large as the slots hold is cut into several parts; one larger is refused.
    const noisy = (n: number) =>
      Array.from({ length: n }, (_, i) => ((i * 2654435761) >>> 7).toString(36)).join(';');
    const big = noisy(60_000);
    const bigPieces = cliPieces(big);
    expect(bigPieces.parts.filter(Boolean).length).toBeGreaterThan(1);
    expect(decodeCliPieces(bigPieces.parts)).toBe(big);
    expect(() => cliPieces(noisy(400_000))).toThrow(/raise PART_SLOTS/);
  });

  it('the kernel refuses one environment string over 128 KiB, and a full part fits', () => {
    const over = spawnSync('/bin/true', [], { env: { X: 'a'.repeat(128 * 1024) } });
    expect(over.error?.message ?? '').toMatch(/E2BIG/);
    const part = spawnSync('/bin/true', [], {
      env: { [`GITOPS_RELEASE_CLI_PART_${PART_SLOTS - 1}`]: 'a'.repeat(PART_SIZE) },
    });
    expect(part.status).toBe(0);
  });
});
