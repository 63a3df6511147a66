// Parity for promote (issue 14), which the CLI and the orb have and the Action not yet: every CLI
// option is in the spec's PROMOTE table, every orb parameter is claimed, names follow the rule, and
// each option with a core field reaches core's PromotionRequest intact from the CLI and from the
// orb's own script (run with bash and a CLI that records its argv).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import {
  type Absent,
  PROMOTE,
  PROMOTE_ACTION_ABSENT,
  PROMOTE_CLI_ONLY,
  PROMOTE_ORB_ONLY,
} from '../../packages/action/src/spec.js';
import { parseCommandArgs } from '../../packages/cli/src/command.js';
import { promotionRequest } from '../../packages/cli/src/commands/promote.js';
import { commands } from '../../packages/cli/src/main.js';
import { formatImageReference, type ImageReference } from '../../packages/core/src/index.js';

const root = join(import.meta.dirname, '../..');
const SHA = '0123456789abcdef0123456789abcdef01234567';
const work = mkdtempSync(join(tmpdir(), 'gr-parity-promote-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const cli = commands.find((c) => c.name === 'promote')!;
const isAbsent = (v: unknown): v is Absent => typeof v === 'object' && v !== null && 'absent' in v;
const orbParameters = (kind: 'commands' | 'jobs') =>
  Object.keys(
    YAML.parse(readFileSync(join(root, `orb/src/${kind}/promote.yml`), 'utf8')).parameters,
  );

describe('promote: the surfaces', () => {
  it('the Action says why it has no promote inputs yet', () => {
    const action = YAML.parse(readFileSync(join(root, 'action.yml'), 'utf8'));
    expect(action.inputs.command.description).not.toContain('promote');
    expect(PROMOTE_ACTION_ABSENT).toMatch(/issue 14/);
  });

  it('every CLI option is in the PROMOTE table, or CLI-only with a reason', () => {
    const options = Object.keys(cli.options);
    expect(options.filter((o) => !PROMOTE[o] && !PROMOTE_CLI_ONLY[o])).toEqual([]);
    expect(Object.keys(PROMOTE).filter((o) => !options.includes(o))).toEqual([]);
  });

  it('every orb parameter (command and job) is an option of the table, or orb-only with a reason', () => {
    const claimed = new Set(Object.values(PROMOTE).map((p) => p.orb));
    const jobOnly = ['executor', 'resource_class', 'checkout'];
    for (const kind of ['commands', 'jobs'] as const)
      expect(
        orbParameters(kind).filter(
          (p) => !claimed.has(p) && !PROMOTE_ORB_ONLY[p] && !jobOnly.includes(p),
        ),
        kind,
      ).toEqual([]);
    const missing = Object.entries(PROMOTE)
      .filter(([, p]) => typeof p.orb === 'string' && !orbParameters('commands').includes(p.orb))
      .map(([flag]) => flag);
    expect(missing).toEqual([]);
  });

  it("one name per idea: the orb's name is the flag in snake_case, plural for a list", () => {
    const wrong = Object.entries(PROMOTE).filter(([flag, p]) => {
      if (isAbsent(p.orb)) return !p.orb.absent.trim();
      const snake = flag.replace(/-/g, '_');
      return p.orb !== snake && !(p.kind === 'list' && p.orb === `${snake}s`);
    });
    expect(wrong).toEqual([]);
  });
});

/** One distinctive value per option with a core field, and what core's request holds. */
const SAMPLES: Record<string, { value: string | string[] | boolean; want: unknown }> = {
  base: { value: 'production', want: 'production' },
  mode: { value: 'push', want: 'push' },
  branch: { value: 'promote/{to}', want: 'promote/{to}' },
  title: { value: 'Promote {app}', want: 'Promote {app}' },
  'commit-message': { value: 'chore: promote', want: 'chore: promote' },
  label: { value: ['promotion', 'prod'], want: ['promotion', 'prod'] },
  reviewer: { value: ['alice'], want: ['alice'] },
  'team-reviewer': { value: ['sre'], want: ['sre'] },
  assignee: { value: ['carol'], want: ['carol'] },
  draft: { value: true, want: true },
  'auto-merge': { value: true, want: 'squash' },
  'merge-method': { value: 'rebase', want: 'rebase' },
  'close-superseded': { value: true, want: true },
  'allow-downgrade': { value: true, want: true },
  'app-repo': { value: 'o/web-app', want: 'o/web-app' },
  'dry-run': { value: true, want: true },
  from: {
    value: ['overlays/staging', 'values/staging.yaml'],
    want: ['overlays/staging', 'values/staging.yaml'],
  },
  to: { value: ['overlays/prod'], want: ['overlays/prod'] },
  image: {
    value: ['ghcr.io/Acme/Web', 'ghcr.io/o/api'],
    want: ['ghcr.io/acme/web', 'ghcr.io/o/api'],
  },
  expect: { value: ['ghcr.io/o/web:0a1b2c3'], want: ['ghcr.io/o/web:0a1b2c3'] },
  'from-name': { value: 'stg', want: 'stg' },
  'to-name': { value: 'prd', want: 'prd' },
  'pin-digest': { value: true, want: true },
  'pipeline-url': { value: 'https://ci.example.com/run/7', want: 'https://ci.example.com/run/7' },
};
const BASELINE = { from: ['overlays/staging'], to: ['overlays/production'] };

function read(request: object, path: string): unknown {
  const value = (request as Record<string, unknown>)[path];
  const asText = (v: unknown) =>
    v && typeof v === 'object' && 'repository' in v ? formatImageReference(v as ImageReference) : v;
  return Array.isArray(value) ? value.map(asText) : value;
}

function argvOf(given: Record<string, string | string[] | boolean>): string[] {
  return Object.entries(given).flatMap(([flag, v]) =>
    typeof v === 'boolean'
      ? [`--${flag}`]
      : (Array.isArray(v) ? v : [v]).flatMap((item) => [`--${flag}`, item]),
  );
}

function request(argv: string[], env: Record<string, string>) {
  return promotionRequest(parseCommandArgs(cli, argv), {
    stdout: () => {},
    stderr: () => {},
    env,
    cwd: work,
  });
}

const fakeCli = join(work, 'record-argv.cjs');
writeFileSync(
  fakeCli,
  `require('fs').writeFileSync(process.env.ARGV_FILE, JSON.stringify(process.argv.slice(2)));\nconsole.log('{}');\n`,
);

function orbArgv(given: Record<string, string | string[] | boolean>): string[] {
  const declared = YAML.parse(readFileSync(join(root, 'orb/src/commands/promote.yml'), 'utf8'))
    .parameters as Record<string, { default?: unknown }>;
  const argvFile = join(work, 'argv.json');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    GITOPS_RELEASE_UTILS: readFileSync(join(root, 'orb/src/scripts/utils.sh'), 'utf8'),
    GITOPS_RELEASE_CLI: fakeCli,
    ARGV_FILE: argvFile,
    BASH_ENV: join(work, 'bash-env'),
    CIRCLE_SHA1: SHA,
    CIRCLE_PROJECT_USERNAME: 'o',
    CIRCLE_PROJECT_REPONAME: 'web',
    GITHUB_TOKEN: 'not-a-real-token',
    PARAM_REPO: 'o/manifests',
  };
  for (const [orb, p] of Object.entries(declared))
    if (p.default !== undefined)
      env[`PARAM_${orb.toUpperCase()}`] =
        typeof p.default === 'boolean' ? (p.default ? '1' : '0') : String(p.default);
  for (const [flag, v] of Object.entries(given)) {
    const orb = PROMOTE[flag]!.orb as string;
    env[`PARAM_${orb.toUpperCase()}`] =
      typeof v === 'boolean' ? (v ? '1' : '0') : Array.isArray(v) ? v.join(',') : v;
  }
  const r = spawnSync(
    'bash',
    ['-eo', 'pipefail', '-c', readFileSync(join(root, 'orb/src/scripts/promote.sh'), 'utf8')],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
      encoding: 'utf8',
      cwd: work,
    },
  );
  if (r.status !== 0) throw new Error(`orb script failed: ${r.stderr}`);
  const argv = JSON.parse(readFileSync(argvFile, 'utf8')) as string[];
  expect(argv[0]).toBe('promote');
  return argv.slice(1);
}

const reaching = Object.entries(PROMOTE).filter(([, p]) => typeof p.core === 'string');

describe('promote: each option reaches core', () => {
  it('every option with a core field has a sample here', () => {
    expect(reaching.filter(([flag]) => !SAMPLES[flag]).map(([flag]) => flag)).toEqual([]);
  });

  const rows = reaching.map(([flag, p]) => [flag, p.core as string] as const);
  it.each(rows)('CLI --%s → %s', (flag, field) => {
    const sample = SAMPLES[flag]!;
    const extra: Record<string, boolean> = flag === 'merge-method' ? { 'auto-merge': true } : {};
    const got = request(argvOf({ ...BASELINE, ...extra, [flag]: sample.value }), {});
    expect(read(got, field)).toEqual(sample.want);
    expect(read(request(argvOf({ ...BASELINE, ...extra }), {}), field)).not.toEqual(sample.want);
  });

  it.each(rows.filter(([flag]) => typeof PROMOTE[flag]!.orb === 'string'))(
    'orb parameter of --%s → CLI → %s',
    (flag, field) => {
      const sample = SAMPLES[flag]!;
      const extra: Record<string, boolean> = flag === 'merge-method' ? { 'auto-merge': true } : {};
      const got = request(orbArgv({ ...BASELINE, ...extra, [flag]: sample.value }), {
        CIRCLE_SHA1: SHA,
      });
      expect(read(got, field)).toEqual(sample.want);
    },
  );
});
