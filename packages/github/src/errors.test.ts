import {
  HostAuthenticationError,
  HostNotFoundError,
  HostPermissionError,
  HostRequestError,
} from '@gitops-release/core';
import { describe, expect, it } from 'vitest';
import { restBaseUrl } from './client.js';
import { toHostError } from './errors.js';

const TOKEN = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789';

describe('toHostError', () => {
  it('names the failure and the missing permission, without the token', () => {
    const e401 = toHostError({ status: 401, message: 'Bad credentials' }, 'read', 'o/r', [TOKEN]);
    expect(e401).toBeInstanceOf(HostAuthenticationError);
    expect(e401.message).toContain('--token-env');

    const e403 = toHostError(
      {
        status: 403,
        response: {
          headers: { 'x-accepted-github-permissions': 'contents=write' },
          data: { message: `Resource not accessible by integration (${TOKEN})` },
        },
      },
      'write',
      'o/r',
      [TOKEN],
    );
    expect(e403).toBeInstanceOf(HostPermissionError);
    expect(e403.message).toContain('contents: write');
    expect(e403.message).toContain('GitHub accepts: contents=write');
    expect(e403.message).not.toContain(TOKEN);

    const e404 = toHostError(
      { errors: [{ type: 'NOT_FOUND', message: 'Could not resolve' }] },
      'read',
      'o/r',
      [TOKEN],
    );
    expect(e404).toBeInstanceOf(HostNotFoundError);

    const e500 = toHostError({ status: 502, message: 'Bad Gateway' }, 'write', 'o/r', [TOKEN]);
    expect(e500).toBeInstanceOf(HostRequestError);
    expect(e500.message).toContain('HTTP 502');
  });
});

describe('restBaseUrl', () => {
  it('maps github.com and Enterprise Server addresses to their REST base', () => {
    expect(restBaseUrl(undefined)).toBe('https://api.github.com');
    expect(restBaseUrl('https://github.com')).toBe('https://api.github.com');
    expect(restBaseUrl('https://ghe.example.com')).toBe('https://ghe.example.com/api/v3');
    expect(restBaseUrl('https://ghe.example.com/api/v3/')).toBe('https://ghe.example.com/api/v3');
    // Enterprise Cloud with data residency: no /api/v3, GraphQL at /graphql.
    expect(restBaseUrl('https://octocorp.ghe.com')).toBe('https://api.octocorp.ghe.com');
    expect(restBaseUrl('https://api.octocorp.ghe.com/')).toBe('https://api.octocorp.ghe.com');
  });
});
