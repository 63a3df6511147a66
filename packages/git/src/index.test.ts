import { describe, expect, it } from 'vitest';
import { compareUrlFor, redactRemote } from './index.js';

describe('redactRemote', () => {
  it('removes credentials from a URL and leaves other remotes alone', () => {
    expect(redactRemote('https://x-access-token:ghs_secret@github.com/o/r.git')).toBe(
      'https://github.com/o/r.git',
    );
    expect(redactRemote('git@github.com:o/r.git')).toBe('git@github.com:o/r.git');
    expect(redactRemote('../manifests')).toBe('../manifests');
  });
});

describe('compareUrlFor', () => {
  it('knows github.com and gitlab.com, over HTTPS and SSH', () => {
    expect(compareUrlFor('https://github.com/o/r.git', 'main', 'release-abc1234')).toBe(
      'https://github.com/o/r/compare/main...release-abc1234?expand=1',
    );
    expect(compareUrlFor('git@github.com:o/r.git', 'main', 'release-abc1234')).toBe(
      'https://github.com/o/r/compare/main...release-abc1234?expand=1',
    );
    expect(compareUrlFor('https://gitlab.com/g/sub/r.git', 'main', 'release-1')).toBe(
      'https://gitlab.com/g/sub/r/-/merge_requests/new?merge_request%5Bsource_branch%5D=release-1&merge_request%5Btarget_branch%5D=main',
    );
  });

  it('says nothing for hosts it does not know', () => {
    expect(compareUrlFor('https://git.example.com/o/r.git', 'main', 'b')).toBeUndefined();
    expect(compareUrlFor('/srv/git/r.git', 'main', 'b')).toBeUndefined();
  });
});
