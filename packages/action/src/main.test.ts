import { ManifestParseError, UsageError } from '@gitops-release/core';
import { describe, expect, it } from 'vitest';
import {
  type BuildInputs,
  type Env,
  inputVariable,
  type PromoteInputs,
  type ReleaseInputs,
} from './inputs.js';
import { type CommandRunner, inActionTerms, type Loaders, run } from './main.js';
import { OUTPUTS } from './outputs.js';
import type { AnnotationPlace, Runtime } from './runtime.js';

// main is the adapter's control flow; the runner's side is recorded here, and the real runner's
// side (files, exit code) is exercised by test/action against the committed bundle.

interface Recorded {
  calls: string[];
  outputs: Map<string, string>;
  errors: { message: string; place: AnnotationPlace | undefined }[];
  failed: string[];
  summary: string;
  log: string[];
}

function recorder(inputs: Record<string, string>, extra: Env = {}): [Runtime, Recorded] {
  const r: Recorded = {
    calls: [],
    outputs: new Map(),
    errors: [],
    failed: [],
    summary: '',
    log: [],
  };
  const env = {
    ...Object.fromEntries(Object.entries(inputs).map(([k, v]) => [inputVariable(k), v])),
    ...extra,
  };
  const rt: Runtime = {
    env,
    cwd: '/w',
    setSecret: (v) => r.calls.push(`secret:${v}`),
    setOutput: (n, v) => {
      r.calls.push(`output:${n}`);
      r.outputs.set(n, v);
    },
    info: (m) => r.log.push(m),
    warning: (m) => r.log.push(`warning: ${m}`),
    notice: (m) => r.log.push(`notice: ${m}`),
    error: (message, place) => r.errors.push({ message, place }),
    group: async (name, fn) => {
      r.log.push(`group: ${name}`);
      return fn();
    },
    summary: async (md) => {
      r.summary += md;
    },
    setFailed: (m) => r.failed.push(m),
    markFailed: () => r.failed.push('(annotations)'),
  };
  return [rt, r];
}

function loaders(
  release: CommandRunner<BuildInputs | ReleaseInputs | PromoteInputs>,
): Loaders & { loaded: string[] } {
  const loaded: string[] = [];
  return {
    loaded,
    build_and_push_image: async () => {
      loaded.push('build');
      return release;
    },
    create_release_pr: async () => {
      loaded.push('release');
      return release;
    },
    promote: async () => {
      loaded.push('promote');
      return release;
    },
  };
}

const release = {
  command: 'create_release_pr',
  repo: 'o/m',
  paths: 'overlays/staging',
  image: 'ghcr.io/o/app:abc1234',
  'github-token': 'ghs_SECRETTOKEN123',
};

describe('run', () => {
  it('masks secrets first, loads only the chosen command and sets every output', async () => {
    const [rt, r] = recorder(release);
    const l = loaders(async () => ({
      outputs: { result: 'created', 'pull-request-number': '7' },
      summary: '## Release\n',
      message: 'opened #7',
    }));
    await run(rt, l);
    expect(r.calls[0]).toBe('secret:ghs_SECRETTOKEN123');
    expect(l.loaded).toEqual(['release']);
    expect([...r.outputs.keys()].sort()).toEqual([...OUTPUTS].sort());
    expect(r.outputs.get('result')).toBe('created');
    expect(r.outputs.get('pull-request-number')).toBe('7');
    expect(r.outputs.get('digest')).toBe('');
    expect(r.summary).toBe('## Release\n');
    expect(r.failed).toEqual([]);
  });

  it('keeps a done step done when the summary cannot be written, and sets outputs once', async () => {
    const [rt, r] = recorder(release);
    rt.summary = async () => {
      throw new Error('EACCES: summary file');
    };
    await run(
      rt,
      loaders(async () => ({ outputs: { result: 'created' }, summary: 'x', message: 'done' })),
    );
    expect(r.failed).toEqual([]);
    expect(r.outputs.get('result')).toBe('created');
    expect(r.calls.filter((c) => c === 'output:result')).toHaveLength(1);
    expect(r.log).toContain(
      'warning: the job summary could not be written: Error: EACCES: summary file',
    );
  });

  it('redacts secrets from outputs, summary and log, which the runner does not mask', async () => {
    const [rt, r] = recorder(release);
    await run(
      rt,
      loaders(async () => ({
        outputs: { result: 'created', branch: 'x-ghs_SECRETTOKEN123' },
        summary: 'token ghs_SECRETTOKEN123',
        message: 'ghs_SECRETTOKEN123',
      })),
    );
    const everything = [...r.outputs.values(), r.summary, ...r.log].join('\n');
    expect(everything).not.toContain('ghs_SECRETTOKEN123');
    expect(r.outputs.get('branch')).toBe('x-***');
  });

  it('fails once, naming the input, with every output set, when an input is invalid', async () => {
    const [rt, r] = recorder({ ...release, mode: 'direct' });
    const l = loaders(async () => {
      throw new Error('must not run');
    });
    await run(rt, l);
    expect(l.loaded).toEqual([]);
    expect(r.failed).toHaveLength(1);
    expect(r.failed[0]).toContain('"mode"');
    expect([...r.outputs.keys()].sort()).toEqual([...OUTPUTS].sort());
    expect(r.outputs.get('result')).toBe('failed');
    expect(r.outputs.get('pull-request-url')).toBe('');
    expect(r.summary).toBe(
      `### \`create_release_pr\` failed\n\n\`\`\`text\n${r.failed[0]}\n\`\`\`\n`,
    );
  });

  it('puts a manifest error on its file and line, and fails without repeating it', async () => {
    const [rt, r] = recorder(release);
    await run(
      rt,
      loaders(async () => {
        throw new ManifestParseError('bad indentation', {
          file: 'overlays/staging/deploy.yaml',
          line: 4,
          column: 3,
        });
      }),
    );
    expect(r.errors).toEqual([
      {
        message: 'overlays/staging/deploy.yaml:4:3: bad indentation',
        place: {
          title: 'gitops-release',
          file: 'overlays/staging/deploy.yaml',
          startLine: 4,
          startColumn: 3,
        },
      },
    ]);
    expect(r.failed).toEqual(['(annotations)']);
    expect(r.outputs.get('result')).toBe('failed');
  });

  it('redacts a secret that an error message carries', async () => {
    const [rt, r] = recorder(release);
    await run(
      rt,
      loaders(async () => {
        throw new UsageError('token ghs_SECRETTOKEN123 refused');
      }),
    );
    expect(r.failed).toEqual(['token *** refused']);
  });

  it('folds the stack of an unexpected error and fails with its message', async () => {
    const [rt, r] = recorder(release);
    await run(
      rt,
      loaders(async () => {
        throw new TypeError('x is undefined');
      }),
    );
    expect(r.log).toContain('group: Stack trace');
    expect(r.failed).toEqual(['unexpected error: x is undefined']);
  });

  it('masks each line of a multi-line secret, as a JSON key is', async () => {
    const key = '{\n  "private_key": "-----BEGIN KEY-----abcdef"\n}';
    const [rt, r] = recorder({
      command: 'build_and_push_image',
      image: 'gcr.io/p/app',
      tag: 't',
      'gcp-key': key,
    });
    await run(
      rt,
      loaders(async () => ({ outputs: {}, summary: '', message: 'ok' })),
    );
    expect(r.calls).toContain(`secret:${key}`);
    expect(r.calls).toContain('secret:"private_key": "-----BEGIN KEY-----abcdef"');
  });

  it('masks a base64-encoded key file and what it decodes to', async () => {
    const key = '{\n  "type": "service_account",\n  "private_key": "-----BEGIN KEY-----xyz123"\n}';
    const encoded = Buffer.from(key).toString('base64');
    const [rt, r] = recorder({
      command: 'build_and_push_image',
      image: 'gcr.io/p/app',
      tag: 't',
      'gcp-key': encoded,
    });
    await run(
      rt,
      loaders(async () => ({ outputs: {}, summary: key, message: 'ok' })),
    );
    expect(r.calls).toContain(`secret:${encoded}`);
    expect(r.calls).toContain(`secret:${key}`);
    expect(r.calls).toContain('secret:"private_key": "-----BEGIN KEY-----xyz123"');
    expect(r.summary).not.toContain('BEGIN KEY');
  });
});

describe('inActionTerms', () => {
  it('names the action input where core names a CLI flag', () => {
    expect(inActionTerms('"abc" is not a full commit SHA; pass --tag instead')).toBe(
      '"abc" is not a full commit SHA; pass input "tag" instead',
    );
    expect(inActionTerms('check that the token (--token-env GITHUB_TOKEN) is set')).toBe(
      'check that the token (input "github-token") is set',
    );
    expect(inActionTerms('pass --username with --password-env, or --gcp-key-env')).toBe(
      'pass input "username" with input "password", or input "gcp-key"',
    );
    expect(inActionTerms('a --no-such-flag and a-b--c stay')).toBe(
      'a --no-such-flag and a-b--c stay',
    );
    expect(
      inActionTerms(
        'Set a valid token in the variable named by --token-env (default GH_TOKEN, then GITHUB_TOKEN); it',
      ),
    ).toBe('Set a valid token in input "github-token"; it');
  });
});
