import { UsageError } from '@gitops-release/core';
import { describe, expect, it } from 'vitest';
import { type Env, getInputs, inputVariable, listInput, secretValues } from './inputs.js';

/** The env the runner would set for these inputs. */
function env(inputs: Record<string, string>, extra: Env = {}): Env {
  return {
    ...Object.fromEntries(Object.entries(inputs).map(([k, v]) => [inputVariable(k), v])),
    ...extra,
  };
}

function usageError(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (err) {
    if (err instanceof UsageError) return err;
    throw err;
  }
  throw new Error('expected a UsageError');
}

const SHA = '0123456789abcdef0123456789abcdef01234567';

describe('inputVariable', () => {
  it('uppercases, turns spaces into underscores and keeps hyphens, as the runner does', () => {
    expect(inputVariable('github-token')).toBe('INPUT_GITHUB-TOKEN');
    expect(inputVariable('my input')).toBe('INPUT_MY_INPUT');
  });
});

describe('getInputs: build_and_push_image', () => {
  it('leaves the tag and skip-existing to core when not given, and passes the commit', () => {
    const inputs = getInputs(
      env({ command: 'build_and_push_image', image: 'ghcr.io/o/app' }, { GITHUB_SHA: SHA }),
    );
    expect(inputs).toMatchObject({
      command: 'build_and_push_image',
      image: 'ghcr.io/o/app',
      tag: undefined,
      sha: SHA,
      skipExisting: undefined,
      builder: 'auto',
      context: '.',
      dryRun: false,
    });
  });

  it('reads sha-length and an explicit tag', () => {
    const e = { command: 'build_and_push_image', image: 'ghcr.io/o/app', 'sha-length': '10' };
    expect(getInputs(env(e, { GITHUB_SHA: SHA }))).toMatchObject({ shaLength: 10 });
    expect(getInputs(env({ ...e, tag: 'v1.2.3' }, { GITHUB_SHA: SHA }))).toMatchObject({
      tag: 'v1.2.3',
    });
  });

  it('reads lists by newline or comma and build args by line', () => {
    const inputs = getInputs(
      env(
        {
          command: 'build_and_push_image',
          image: 'ghcr.io/o/app',
          tag: 't',
          'extra-tags': 'latest\n  stable , edge\n',
          'build-args': 'A=1\nB=x,y=z\n\n',
          platforms: 'linux/amd64,linux/arm64',
        },
        {},
      ),
    );
    expect(inputs).toMatchObject({
      extraTags: ['latest', 'stable', 'edge'],
      buildArgs: { A: '1', B: 'x,y=z' },
      platforms: ['linux/amd64', 'linux/arm64'],
    });
  });

  it('treats empty strings as unset, as the runner passes them for inputs not given', () => {
    const inputs = getInputs(
      env({
        command: 'build_and_push_image',
        image: 'ghcr.io/o/app',
        tag: 'abc',
        builder: '',
        'skip-existing': '  ',
        file: '',
      }),
    );
    expect(inputs).toMatchObject({ builder: 'auto', skipExisting: undefined, file: undefined });
  });

  it.each([
    [{ command: 'build' }, 'command', /build_and_push_image, create_release_pr/],
    [{}, 'command', /required/],
    [{ command: 'build_and_push_image', tag: 't' }, 'image', /required/],
    [{ command: 'build_and_push_image', image: 'a/b' }, 'tag', /GITHUB_SHA/],
    [
      { command: 'build_and_push_image', image: 'a/b', tag: 't', builder: 'kaniko' },
      'builder',
      /auto, docker, buildah, podman/,
    ],
    [
      { command: 'build_and_push_image', image: 'a/b', tag: 't', 'skip-existing': 'yes' },
      'skip-existing',
      /true or false/,
    ],
    [
      { command: 'build_and_push_image', image: 'a/b', tag: 't', 'dry-run': '1' },
      'dry-run',
      /true or false/,
    ],
    [
      { command: 'build_and_push_image', image: 'a/b', tag: 't', 'sha-length': '3' },
      'sha-length',
      /4 to 40/,
    ],
    [
      { command: 'build_and_push_image', image: 'a/b', tag: 't', 'build-args': 'NOEQUALS' },
      'build-args',
      /KEY=VALUE/,
    ],
    [{ command: 'build_and_push_image', image: 'a/b\nc/d', tag: 't' }, 'image', /one image/],
  ])('rejects %j naming the input %s', (given, input, message) => {
    const err = usageError(() => getInputs(env(given as Record<string, string>)));
    expect(err.input).toBe(input);
    expect(err.message).toContain(`"${input}"`);
    expect(err.message).toMatch(message);
  });
});

describe('getInputs: create_release_pr', () => {
  const base = { command: 'create_release_pr', repo: 'o/manifests', paths: 'overlays/staging' };

  it('gives untagged images the short SHA and keeps tagged and digest ones', () => {
    const inputs = getInputs(
      env(
        {
          ...base,
          image: 'ghcr.io/o/app\nghcr.io/o/worker:v2, localhost:5000/x@sha256:' + 'a'.repeat(64),
        },
        { GITHUB_SHA: SHA, GITHUB_REPOSITORY: 'o/app', GITHUB_API_URL: 'http://127.0.0.1:1' },
      ),
    );
    expect(inputs).toMatchObject({
      command: 'create_release_pr',
      images: [
        'ghcr.io/o/app:0123456',
        'ghcr.io/o/worker:v2',
        `localhost:5000/x@sha256:${'a'.repeat(64)}`,
      ],
      host: 'github',
      mode: 'pull-request',
      appRepo: 'o/app',
      githubUrl: 'http://127.0.0.1:1',
    });
  });

  it('treats a registry port as no tag', () => {
    const inputs = getInputs(env({ ...base, image: 'localhost:5000/app', tag: 'v1' }));
    expect(inputs).toMatchObject({ images: ['localhost:5000/app:v1'] });
  });

  it('picks the git host for a URL or a path', () => {
    const inputs = getInputs(env({ ...base, repo: 'https://git.example/m.git', image: 'a/b:c' }));
    expect(inputs).toMatchObject({ host: 'git' });
  });

  it.each([
    [{ ...base, repo: '', image: 'a/b:c' }, 'repo'],
    [{ ...base, paths: ' ', image: 'a/b:c' }, 'paths'],
    [{ ...base }, 'image'],
    [{ ...base, image: 'a/b' }, 'image'],
    [{ ...base, image: 'a/b:c', mode: 'direct' }, 'mode'],
    [{ ...base, image: 'a/b:c', draft: 'maybe' }, 'draft'],
    [{ ...base, image: 'a/b:c', 'merge-method': 'fast-forward' }, 'merge-method'],
    [{ ...base, image: 'a/b:c', host: 'gitlab' }, 'host'],
  ])('rejects %j naming the input %s', (given, input) => {
    const err = usageError(() => getInputs(env(given)));
    expect(err.input).toBe(input);
    expect(err.message).toContain(`"${input}"`);
  });
});

describe('getInputs: commit', () => {
  const build = { command: 'build_and_push_image', image: 'ghcr.io/o/app' };
  it('takes the commit input over GITHUB_SHA, for a pull request head', () => {
    const head = 'F'.repeat(40);
    expect(getInputs(env({ ...build, commit: head }, { GITHUB_SHA: SHA }))).toMatchObject({
      sha: head,
    });
    const release = { command: 'create_release_pr', repo: 'o/m', paths: 'p', image: 'a/b' };
    expect(getInputs(env({ ...release, commit: head }, { GITHUB_SHA: SHA }))).toMatchObject({
      images: ['a/b:fffffff'],
    });
  });
  it('refuses a short or non-hex commit, naming the input', () => {
    const err = usageError(() => getInputs(env({ ...build, commit: 'abc1234' })));
    expect(err.input).toBe('commit');
    expect(err.message).toMatch(/full commit SHA/);
  });
});

describe('secretValues', () => {
  it('returns every secret input that is set, and nothing else', () => {
    const values = secretValues(
      env({ 'github-token': 'ghs_x', password: 'pw', 'gcp-key': '', image: 'not-secret' }),
    );
    expect(values.sort()).toEqual(['ghs_x', 'pw']);
  });
});

describe('listInput', () => {
  it('drops YAML bullets and blank lines', () => {
    expect(listInput(env({ paths: '- a\n- b\n\n' }), 'paths')).toEqual(['a', 'b']);
  });
});

describe('inputs the command does not read', () => {
  const build = { command: 'build_and_push_image', image: 'ghcr.io/o/app' };
  const release = { command: 'create_release_pr', repo: 'o/m', paths: 'p', image: 'ghcr.io/o/a' };
  const warnings = (given: Record<string, string>) =>
    getInputs(env(given, { GITHUB_SHA: SHA })).notes.map((n) => `${n.level}: ${n.message}`);

  it("warns about another command's input, naming it, and what the build calls image labels", () => {
    expect(warnings({ ...build, labels: 'org.opencontainers.image.vendor=acme' })).toEqual([
      'warning: input "labels" is for create_release_pr, not build_and_push_image: it is ignored; image labels are "image-labels"',
    ]);
    expect(warnings({ ...release, 'build-args': 'A=1' })).toEqual([
      'warning: input "build-args" is for build_and_push_image, not create_release_pr: it is ignored',
    ]);
  });

  it('stays quiet about the defaults the runner passes for every input of action.yml', () => {
    expect(warnings({ ...release, context: '.', builder: 'auto' })).toEqual([]);
  });

  it('names the input a docker/build-push-action user writes (tags, dockerfile) instead of dropping it', () => {
    expect(warnings({ ...build, tags: 'latest', dockerfile: 'Dockerfile.prod' })).toEqual([
      'warning: input "tags" is not an input of gitops-release build_and_push_image: it is ignored; use "extra-tags" (the image is tagged with the commit already; a full reference of the same image is accepted there)',
      'warning: input "dockerfile" is not an input of gitops-release build_and_push_image: it is ignored; use "file"',
    ]);
  });
});

describe('image names', () => {
  it('lowercases a mixed-case owner from github.repository, with a notice; the tag keeps its case', () => {
    const build = getInputs(
      env({ command: 'build_and_push_image', image: 'ghcr.io/Acme-Corp/Web', tag: 'RC-1' }),
    );
    expect(build.command === 'build_and_push_image' && build.image).toBe('ghcr.io/acme-corp/web');
    expect(build.notes).toEqual([
      {
        level: 'notice',
        message:
          'input "image": "ghcr.io/Acme-Corp/Web" has upper-case letters, which registries refuse in an image name: using "ghcr.io/acme-corp/web"',
      },
    ]);
    const release = getInputs(
      env({ command: 'create_release_pr', repo: 'o/m', paths: 'p', image: 'ghcr.io/Acme/App:V2' }),
    );
    expect(release.command === 'create_release_pr' && release.images).toEqual([
      'ghcr.io/acme/app:V2',
    ]);
  });
});

describe('sub-directory actions', () => {
  it('take their command from GITOPS_RELEASE_COMMAND, with no command input', () => {
    const inputs = getInputs({
      GITOPS_RELEASE_COMMAND: 'create_release_pr',
      ...env({ repo: 'o/m', paths: 'p', image: 'ghcr.io/o/a:1' }),
    });
    expect(inputs.command).toBe('create_release_pr');
  });
});
