import { describe, expect, it } from 'vitest';
import { InvalidImageReferenceError } from '../errors.js';
import {
  canonicalImageName,
  formatImageReference,
  isSameImage,
  parseImageReference,
} from './reference.js';

const SHA = `sha256:${'a'.repeat(64)}`;

describe('parseImageReference', () => {
  it.each([
    ['nginx', { repository: 'nginx' }],
    ['nginx:1.27', { repository: 'nginx', tag: '1.27' }],
    [
      'gcr.io/my-project/app:abc1234',
      { registry: 'gcr.io', repository: 'my-project/app', tag: 'abc1234' },
    ],
    [
      'asia-northeast1-docker.pkg.dev/p/repo/app:v1',
      { registry: 'asia-northeast1-docker.pkg.dev', repository: 'p/repo/app', tag: 'v1' },
    ],
    [
      '127.0.0.1:5055/app:abc1234',
      { registry: '127.0.0.1:5055', repository: 'app', tag: 'abc1234' },
    ],
    ['localhost/app', { registry: 'localhost', repository: 'app' }],
    [
      `ghcr.io/o/app:v1@${SHA}`,
      { registry: 'ghcr.io', repository: 'o/app', tag: 'v1', digest: SHA },
    ],
    [`app@${SHA}`, { repository: 'app', digest: SHA }],
    [`app@sha512:${'e'.repeat(128)}`, { repository: 'app', digest: `sha512:${'e'.repeat(128)}` }],
    ['[::1]:5000/app', { registry: '[::1]:5000', repository: 'app' }],
  ])('parses %s', (input, expected) => {
    expect(parseImageReference(input)).toEqual(expected);
  });

  it.each([
    ['', 'empty'],
    ['App:v1', 'lowercase'],
    ['app:-bad', 'not a valid tag'],
    ['app:', 'not a valid tag'],
    ['app@sha256:xyz', 'not a digest'],
    [`app@sha256:${'a'.repeat(63)}`, 'a sha256 digest has 64 hex digits, this one has 63'],
    [`app@sha256:${'a'.repeat(65)}`, 'this one has 65'],
    [`app@sha256:${'A'.repeat(64)}`, 'must be lowercase'],
    [`app@sha512:${'a'.repeat(64)}`, 'a sha512 digest has 128 hex digits'],
    [`app@md5:${'a'.repeat(32)}`, '"md5" is not a registered digest algorithm'],
    [`app@${'a'.repeat(64)}`, 'ALGORITHM:HEX'],
    ['app//x', 'may hold only'],
    [' app', 'whitespace'],
    [`app:${'x'.repeat(129)}`, 'not a valid tag'],
  ])('rejects %j with a reason naming the input', (input, reason) => {
    const err = (() => {
      try {
        parseImageReference(input, '--image');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(InvalidImageReferenceError);
    expect((err as Error).message).toContain('--image');
    expect((err as Error).message).toContain(reason);
  });

  it('round-trips through formatImageReference', () => {
    for (const s of ['nginx', 'a/b:c', `r.io:5000/x/y:z@${SHA}`]) {
      expect(formatImageReference(parseImageReference(s))).toBe(s);
    }
  });
});

describe('canonicalImageName', () => {
  it('expands Docker Hub shorthand and lowercases the registry', () => {
    expect(canonicalImageName(parseImageReference('nginx'))).toBe('docker.io/library/nginx');
    expect(canonicalImageName(parseImageReference('bitnami/redis'))).toBe(
      'docker.io/bitnami/redis',
    );
    expect(canonicalImageName(parseImageReference('index.docker.io/library/nginx'))).toBe(
      'docker.io/library/nginx',
    );
    expect(canonicalImageName(parseImageReference('GCR.io/p/app'))).toBe('gcr.io/p/app');
  });

  it('treats the same image under different spellings as the same', () => {
    expect(
      isSameImage(parseImageReference('nginx:1'), parseImageReference('docker.io/library/nginx')),
    ).toBe(true);
    expect(
      isSameImage(parseImageReference('gcr.io/p/app'), parseImageReference('gcr.io/p/app2')),
    ).toBe(false);
  });
});
