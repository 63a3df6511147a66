// The shell helpers every command script evals (orb/src/scripts/utils.sh), run with bash.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/** `${NAME}` as the shell writes it (a plain string, not a template). */
const braced = (name: string) => '$' + '{' + name + '}';
const utils = readFileSync(join(import.meta.dirname, '../../orb/src/scripts/utils.sh'), 'utf8');

function bash(script: string, env: Record<string, string> = {}) {
  const r = spawnSync(
    'bash',
    ['-eo', 'pipefail', '-c', `eval "$GITOPS_RELEASE_UTILS"\n${script}`],
    {
      // stdin from /dev/null: on a socket (node's pipes) bash would think it is run by rshd and read ~/.bashrc.
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', GITOPS_RELEASE_UTILS: utils, ...env },
      encoding: 'utf8',
    },
  );
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('orb script helpers', () => {
  it('gr_expand takes $VAR and {VAR} from the environment and runs nothing', () => {
    const r = bash('gr_expand "$V"', {
      V: 'asia.gcr.io/' + braced('GOOGLE_PROJECT_ID') + '/app-$SUFFIX:$(touch /tmp/x)`id`',
      GOOGLE_PROJECT_ID: 'my-proj',
      SUFFIX: 'web',
    });
    expect(r).toEqual({
      code: 0,
      stdout: 'asia.gcr.io/my-proj/app-web:$(touch /tmp/x)`id`',
      stderr: '',
    });
  });

  it('gr_expand names a variable that is not set', () => {
    const r = bash('gr_expand "$V"', { V: 'gcr.io/' + braced('GOOGLE_PROJECT_ID') + '/app' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('$GOOGLE_PROJECT_ID, used in a parameter value, is not set');
  });

  it('gr_require_env names the parameter and the variable, never the value', () => {
    const missing = bash('gr_require_env token_env GITHUB_TOKEN');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(
      'GITHUB_TOKEN (named by parameter token_env) is not set or empty',
    );
    const set = bash('gr_require_env token_env GITHUB_TOKEN && echo ok', {
      GITHUB_TOKEN: 's3cr3t-value',
    });
    expect(set).toEqual({ code: 0, stdout: 'ok\n', stderr: '' });
    const bad = bash('gr_require_env token_env "not a name"');
    expect(bad.stderr).toContain(
      "parameter token_env must name an environment variable, not 'not a name'",
    );
  });

  it('gr_is_true reads CircleCI booleans from the environment (1/0) and from strings (true/false)', () => {
    const r = bash(
      'for v in 1 true 0 false ""; do gr_is_true "$v" && echo -n Y || echo -n N; done',
    );
    expect(r.stdout).toBe('YYNNN');
  });

  it('gr_default_tag is the first 7 characters of CIRCLE_SHA1, and says so when CIRCLE_SHA1 is missing', () => {
    expect(bash('gr_default_tag', { CIRCLE_SHA1: '0123456789abcdef' }).stdout).toBe('0123456');
    const r = bash('gr_default_tag');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('CIRCLE_SHA1 is not set');
  });
});
