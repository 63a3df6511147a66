// An ECR login from the AWS credentials a job already has (aws-actions/configure-aws-credentials'
// variables, or CircleCI OIDC with AWS_ROLE_ARN), against the ECR/STS simulator, and the password
// it yields tried on a real registry with bearer-token auth (where user AWS with that password is
// what the token service accepts).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryLoginError } from '../../packages/core/src/index.js';
import { ecrLoginFromAws, RegistryClient } from '../../packages/image/src/index.js';
import {
  AWS_TEST_KEY,
  type AwsSimulator,
  OIDC_TEST_TOKEN,
  ROLE_ARN,
  startAwsSimulator,
} from '../support/aws-sim.js';
import { ECR_TEST_PASSWORD, startRegistry, type TestRegistry } from '../support/registry.js';

const ECR = '123456789012.dkr.ecr.ap-northeast-1.amazonaws.com';
let aws: AwsSimulator;
let registry: TestRegistry;

beforeAll(async () => {
  [aws, registry] = await Promise.all([startAwsSimulator(), startRegistry('token')]);
});
afterAll(async () => {
  await Promise.all([aws?.close(), registry?.stop()]);
});

/** The login works on the real registry: its token service takes user AWS with that password. */
async function accepted(login: { username: string; password: string }) {
  const client = new RegistryClient({ fetch: globalThis.fetch, credentials: () => login });
  await client.checkAccess({ registry: registry.host, repository: 'team/ecr' });
  return registry.tokenRequests().at(-1);
}

describe('ECR through AWS credentials', () => {
  it('signs GetAuthorizationToken with the keys configure-aws-credentials exports', async () => {
    const login = await ecrLoginFromAws(ECR, {
      AWS_ACCESS_KEY_ID: AWS_TEST_KEY.id,
      AWS_SECRET_ACCESS_KEY: AWS_TEST_KEY.secret,
      AWS_ENDPOINT_URL_ECR: aws.url,
    });
    expect(login).toEqual({ username: 'AWS', password: ECR_TEST_PASSWORD });
    expect(aws.calls.at(-1)).toEqual({ service: 'ecr', accessKeyId: AWS_TEST_KEY.id, status: 200 });
    expect(await accepted(login)).toMatchObject({ account: 'AWS', status: 200 });
  });

  it('with CircleCI OIDC: exchanges CIRCLE_OIDC_TOKEN_V2 for session credentials, then signs with them', async () => {
    const before = aws.calls.length;
    const login = await ecrLoginFromAws(ECR, {
      AWS_ROLE_ARN: ROLE_ARN,
      CIRCLE_OIDC_TOKEN_V2: OIDC_TEST_TOKEN,
      AWS_ENDPOINT_URL: aws.url,
    });
    expect(login.password).toBe(ECR_TEST_PASSWORD);
    expect(aws.calls.slice(before)).toEqual([
      { service: 'sts', status: 200 },
      { service: 'ecr', accessKeyId: 'ASIAGITOPSRELEASE1', status: 200 },
    ]);
  });

  it('reads the token from AWS_WEB_IDENTITY_TOKEN_FILE as the AWS SDKs do', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gr-oidc-'));
    try {
      await writeFile(join(dir, 'token'), `${OIDC_TEST_TOKEN}\n`);
      const login = await ecrLoginFromAws(ECR, {
        AWS_ROLE_ARN: ROLE_ARN,
        AWS_WEB_IDENTITY_TOKEN_FILE: join(dir, 'token'),
        AWS_ENDPOINT_URL_STS: aws.url,
        AWS_ENDPOINT_URL_ECR: aws.url,
      });
      expect(login.password).toBe(ECR_TEST_PASSWORD);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.each([
    [
      'a wrong secret key',
      { AWS_ACCESS_KEY_ID: AWS_TEST_KEY.id, AWS_SECRET_ACCESS_KEY: 'wrong-secret-key-0000' },
      'HTTP 400: InvalidSignatureException The request signature we calculated does not match',
    ],
    [
      'an unknown key',
      { AWS_ACCESS_KEY_ID: 'AKIAUNKNOWN', AWS_SECRET_ACCESS_KEY: 'x-secret-value-0000' },
      'HTTP 400: UnrecognizedClientException',
    ],
    [
      'a refused OIDC token',
      { AWS_ROLE_ARN: ROLE_ARN, CIRCLE_OIDC_TOKEN: 'not-the-token' },
      `STS AssumeRoleWithWebIdentity for ${ROLE_ARN} answered HTTP 400: InvalidIdentityToken`,
    ],
  ])('%s: a login error naming what AWS said, no secret in it', async (_, env, said) => {
    const err = await ecrLoginFromAws(ECR, { ...env, AWS_ENDPOINT_URL: aws.url }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RegistryLoginError);
    expect((err as Error).message).toContain(`registry ${ECR}`);
    expect((err as Error).message).toContain(said);
    for (const secret of Object.values(env)) {
      if (secret !== ROLE_ARN) expect((err as Error).message).not.toContain(secret);
    }
  });
});
