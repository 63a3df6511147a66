import { describe, expect, it } from 'vitest';
import {
  branchNameProblem,
  checkReleaseBranch,
  escapeMarkdown,
  formatMarker,
  formatPullRequestBody,
  parseMarker,
  releaseBranchName,
  renderTemplate,
  unifiedDiff,
} from './text.js';

const values = {
  sha: 'abc1234',
  app: 'web',
  tag: 'abc1234',
  image: 'gcr.io/p/web:abc1234',
  base: 'main',
};

describe('templates', () => {
  it('fills known placeholders and keeps unknown ones visible', () => {
    expect(renderTemplate('Release {app} {sha} into {base} {nope}', values)).toBe(
      'Release web abc1234 into main {nope}',
    );
  });

  it('refuses branch names git refuses, by git check-ref-format rules, never rewriting them', () => {
    for (const ok of ['release-abc1234', 'release/web/1.2.3', 'a@b', 'rel_1+2', 'x.lock.y']) {
      expect(branchNameProblem(ok), ok).toBeUndefined();
    }
    const refused: [string, RegExp][] = [
      ['', /empty/],
      ['@', /"@"/],
      ['HEAD', /HEAD/],
      ['-x', /starts with "-"/],
      ['/x', /starts or ends with "\/"/],
      ['x/', /starts or ends with "\/"/],
      ['a//b', /"\/\/"/],
      ['a..b', /"\.\."/],
      ['x.', /ends with "\."/],
      ['a@{b', /"@\{"/],
      ['a b', /a space/],
      ['a\u0001b', /a control character/],
      ['a\u007fb', /a control character/],
      ['web:1', /":"/],
      ['a~1', /"~"/],
      ['a^1', /"\^"/],
      ['a?', /"\?"/],
      ['a*', /"\*"/],
      ['a[1', /"\["/],
      ['a\\b', /"\\"/],
      ['x/.hidden', /part "\.hidden" starts with "\."/],
      ['x/y.lock', /part "y\.lock" ends with "\.lock"/],
    ];
    for (const [name, reason] of refused) expect(branchNameProblem(name), name).toMatch(reason);
  });

  it('renders a branch template and refuses, before anything is read, one that git would refuse', () => {
    expect(releaseBranchName('release-{sha}', values)).toBe('release-abc1234');
    expect(() => releaseBranchName('release/{image}', values)).toThrow(
      /^branch "release\/\{image\}" renders to "release\/gcr\.io\/p\/web:abc1234", which is not a branch name git accepts: it contains ":"/,
    );
    expect(() => releaseBranchName('release-{shaa}', values)).toThrow(
      /unknown placeholder \{shaa\}; templates know \{sha\} \{app\}/,
    );
    expect(() => releaseBranchName('{base}', { ...values, base: '' })).toThrow(/it is empty/);
  });

  it('refuses a release branch equal to the base, pointing to --mode push', () => {
    expect(() => checkReleaseBranch('main', 'main')).toThrow(/is the base branch.*--mode push/);
    expect(() => checkReleaseBranch('release-1', 'main')).not.toThrow();
  });
});

describe('escapeMarkdown', () => {
  it('neutralizes mentions, references, HTML and markup from commit messages', () => {
    const out = escapeMarkdown(
      'Fix @octocat #12 <img src=x onerror=alert(1)> [link](http://e) **b** | `c`',
    );
    expect(out).not.toMatch(/@[a-z]/);
    expect(out).not.toContain('<img');
    expect(out).not.toMatch(/(^|[^\\])#12/);
    expect(out).not.toMatch(/(^|[^\\])\[link\]/);
    expect(out).not.toMatch(/(^|[^\\])\|/);
    expect(out).toContain('&lt;img');
  });

  it('keeps a message on one line', () => {
    expect(escapeMarkdown('a\nb\r\nc')).toBe('a b c');
  });
});

describe('release marker', () => {
  it('round-trips through a body and ignores bodies without one', () => {
    const marker = { images: ['gcr.io/p/web'], paths: ['overlays/staging'] };
    expect(parseMarker(`text\n${formatMarker(marker)}\n`)).toEqual(marker);
    expect(parseMarker('no marker')).toBeUndefined();
    expect(parseMarker('<!-- gitops-release {broken} -->')).toBeUndefined();
  });
});

describe('formatPullRequestBody', () => {
  it('tables the changes and lists escaped app commits with the compare link', () => {
    const body = formatPullRequestBody({
      rows: [
        {
          path: 'overlays/staging/kustomization.yaml',
          line: 7,
          from: 'web:old1234',
          to: 'web:abc1234',
        },
      ],
      marker: { images: ['gcr.io/p/web'], paths: ['overlays/staging'] },
      comparison: {
        status: 'ahead',
        commits: [{ sha: 'abcdef1234567', message: 'Ping @admin see #3', author: 'dev' }],
        url: 'https://github.example/o/app/compare/old1234...abc1234',
      },
      appRepository: 'o/app',
    });
    expect(body).toContain(
      '| `overlays/staging/kustomization.yaml` | 7 | `web:old1234` | `web:abc1234` |',
    );
    expect(body).toContain('`abcdef1` Ping @\u200badmin see \\#3 (dev)');
    expect(body).toContain('Compare: https://github.example/o/app/compare/old1234...abc1234');
    expect(parseMarker(body)?.paths).toEqual(['overlays/staging']);
  });
});

describe('unifiedDiff', () => {
  it('shows the changed line with context', () => {
    const before = 'a\nb\nc\nimage: web:1\nd\ne\nf\ng\n';
    const after = 'a\nb\nc\nimage: web:2\nd\ne\nf\ng\n';
    expect(unifiedDiff('k.yaml', before, after)).toBe(
      '--- a/k.yaml\n+++ b/k.yaml\n@@ -1,7 +1,7 @@\n a\n b\n c\n-image: web:1\n+image: web:2\n d\n e\n f\n',
    );
  });
});
