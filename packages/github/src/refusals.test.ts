import { HostPermissionError, HostRefusedError, HostRuleError } from '@gitops-release/core';
import { describe, expect, it } from 'vitest';
import { isRace, refusalError, restDetail } from './refusals.js';

const ctx = { repository: 'acme/manifests', secrets: ['ghs_secretsecret'] };

describe('isRace', () => {
  it('counts only another writer winning, per field', () => {
    const stale = {
      type: 'STALE_DATA',
      message: 'Expected branch to point to "abc" but it did not.',
    };
    expect(isRace('createCommitOnBranch', stale, true)).toBe(true);
    const gone = {
      type: 'NOT_FOUND',
      message: "Could not resolve to a Ref with the name 'refs/heads/x'.",
    };
    expect(isRace('createCommitOnBranch', gone, true)).toBe(true);
    // A branch that never existed is not a race (nobody moved it).
    expect(isRace('createCommitOnBranch', gone, false)).toBe(false);
    const rule = {
      type: 'BRANCH_PROTECTION_RULE_VIOLATION',
      message: 'Changes must be made through a pull request.',
    };
    expect(isRace('createCommitOnBranch', rule, true)).toBe(false);
    const forbidden = { type: 'FORBIDDEN', message: 'Resource not accessible by integration' };
    expect(isRace('createCommitOnBranch', forbidden, true)).toBe(false);
    expect(
      isRace(
        'createRef',
        { message: 'A ref named "refs/heads/x" already exists in the repository.' },
        false,
      ),
    ).toBe(true);
    const restricted = {
      type: 'UNPROCESSABLE',
      message:
        'Repository rule violations found\n\nCannot create ref due to creations being restricted.\n\n',
    };
    expect(isRace('createRef', restricted, false)).toBe(false);
    expect(isRace('updateRef', { message: 'Update is not a fast forward' }, true)).toBe(true);
    expect(
      isRace('createPullRequest', { message: 'A pull request already exists for acme:x.' }, true),
    ).toBe(true);
    expect(isRace('createPullRequest', { message: 'No commits between main and x' }, true)).toBe(
      false,
    );
  });
});

describe('refusalError', () => {
  it('names the permission, the rule, or GitHub’s words, and never the token', () => {
    const perm = refusalError(
      { type: 'FORBIDDEN', message: 'Resource not accessible by integration' },
      'write',
      ctx,
      'the commit',
    );
    expect(perm).toBeInstanceOf(HostPermissionError);
    expect(perm.message).toContain('contents: write');
    const rule = refusalError(
      {
        message:
          'Repository rule violations found\n\nCannot create ref due to creations being restricted.\n\n',
      },
      'write',
      ctx,
      'creating the branch release-x',
      'after',
    );
    expect(rule).toBeInstanceOf(HostRuleError);
    expect(rule.message).toMatch(
      /refused creating the branch release-x .*Retrying cannot help.* after$/s,
    );
    const other = refusalError(
      { type: 'UNPROCESSABLE', message: 'bad ghs_secretsecret' },
      'write',
      ctx,
      'x',
    );
    expect(other).toBeInstanceOf(HostRefusedError);
    expect(other.message).not.toContain('ghs_secretsecret');
  });

  it("gives REST's errors[] details, not just Validation Failed", () => {
    const err = {
      status: 422,
      response: {
        data: {
          message: 'Validation Failed',
          errors: [
            {
              resource: 'Label',
              code: 'unprocessable',
              field: 'data',
              message: 'Could not resolve to a node',
            },
          ],
        },
      },
    };
    expect(restDetail(err)).toBe('Validation Failed: Could not resolve to a node');
    expect(
      restDetail({
        response: {
          data: {
            message: 'Validation Failed',
            errors: [{ resource: 'PullRequest', field: 'head', code: 'invalid' }],
          },
        },
      }),
    ).toBe('Validation Failed: PullRequest head invalid');
  });
});
