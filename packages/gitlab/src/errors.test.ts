import { HostPermissionError, ReleaseConflictError } from '@gitops-release/core';
import { describe, expect, it } from 'vitest';
import { GitLabApiError, gitlabMessage, instanceUrl } from './client.js';
import { isRace, toHostError } from './errors.js';

const ctx = {
  project: 'acme/m',
  secrets: ['glpat-secret-123'],
  tokenEnv: 'GITLAB_TOKEN',
  jobToken: false,
};
const api = (status: number, body: unknown) =>
  new GitLabApiError(
    status,
    gitlabMessage(body, 'x'),
    body,
    'POST',
    '/projects/acme%2Fm/repository/commits',
  );

describe('GitLab errors', () => {
  it("reads each of GitLab's error body shapes", () => {
    expect(gitlabMessage({ message: '404 Project Not Found' }, '')).toBe('404 Project Not Found');
    expect(
      gitlabMessage(
        { message: ['Another open merge request already exists for this source branch: !1'] },
        '',
      ),
    ).toContain('!1');
    expect(gitlabMessage({ message: { title: ['is too long'] } }, '')).toBe('title is too long');
    expect(
      gitlabMessage({ error: 'insufficient_scope', error_description: 'needs more' }, ''),
    ).toBe('insufficient_scope: needs more');
    expect(gitlabMessage('<html>', 'Bad Gateway')).toBe('<html>');
  });

  it("treats only GitLab's race refusals as races", () => {
    expect(
      isRace(api(400, { message: 'The file has changed since you started editing it: k.yaml' })),
    ).toBe(true);
    expect(
      isRace(
        api(400, {
          message:
            "A branch called 'release-1' already exists. Switch to that branch in order to make changes",
        }),
      ),
    ).toBe(true);
    expect(
      isRace(
        api(409, {
          message: ['Another open merge request already exists for this source branch: !3'],
        }),
      ),
    ).toBe(true);
    expect(isRace(api(400, { message: "A file with this name doesn't exist" }))).toBe(false);
    expect(
      isRace(api(403, { message: '403 Forbidden - You are not allowed to push into this branch' })),
    ).toBe(false);
    expect(isRace(new ReleaseConflictError('b', 'x'))).toBe(false);
  });

  it('names the missing scope and the protected branch, and masks the token', () => {
    const scope = toHostError(
      api(403, {
        error: 'insufficient_scope',
        scope: 'api',
        error_description: 'glpat-secret-123',
      }),
      'write',
      ctx,
    );
    expect(scope).toBeInstanceOf(HostPermissionError);
    expect(scope.message).toContain('lacks the "api" scope');
    expect(scope.message).not.toContain('glpat-secret-123');
    const push = toHostError(
      api(403, { message: '403 Forbidden - You are not allowed to push into this branch' }),
      'write',
      ctx,
    );
    expect(push.message).toContain('The branch is protected');
    const job = toHostError(api(404, { message: '404 Project Not Found' }), 'read', {
      ...ctx,
      jobToken: true,
    });
    expect(job.message).toContain('CI_JOB_TOKEN cannot create commits or merge requests');
  });

  it('takes the instance from an API URL people paste', () => {
    expect(instanceUrl('https://gitlab.example.com/api/v4/')).toBe('https://gitlab.example.com');
    expect(instanceUrl(undefined)).toBe('https://gitlab.com');
  });
});
