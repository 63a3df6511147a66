// The two AWS calls an ECR login makes, on loopback: ECR's GetAuthorizationToken (JSON 1.1
// protocol, Signature Version 4 checked against the caller's secret key) and STS's
// AssumeRoleWithWebIdentity (query protocol, XML answer). Refusals are AWS's: an unknown key is
// 400 UnrecognizedClientException, a bad signature 400 InvalidSignatureException (ECR API
// reference, "Common Errors"); a bad web identity token 400 InvalidIdentityToken (STS API
// reference, AssumeRoleWithWebIdentity).

import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { canonicalRequest, signatureV4 } from '../../packages/image/src/aws.js';
import { ECR_TEST_PASSWORD } from './registry.js';

export const AWS_TEST_KEY = {
  id: 'AKIAGITOPSRELEASE01',
  secret: 'S3cr3t/AwsKey+ForTheEcrSimulat0r',
};
export const OIDC_TEST_TOKEN = 'eyJhbGciOiJSUzI1NiJ9.circleci-oidc-test-token.sig';
export const ROLE_ARN = 'arn:aws:iam::123456789012:role/gitops-release-push';

export interface AwsSimulator {
  url: string;
  /** What each call was: `ecr`, `sts`, with the access key id that signed (ecr). */
  calls: { service: 'ecr' | 'sts'; accessKeyId?: string; status: number }[];
  close(): Promise<void>;
}

function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    req.on('data', (c: Buffer) => {
      text += c.toString('utf8');
    });
    req.on('end', () => resolve(text));
  });
}

export async function startAwsSimulator(): Promise<AwsSimulator> {
  const secrets = new Map([
    [AWS_TEST_KEY.id, { secret: AWS_TEST_KEY.secret, token: undefined as string | undefined }],
  ]);
  const calls: AwsSimulator['calls'] = [];
  let issued = 0;
  const server: Server = createServer(async (req, res) => {
    const text = await body(req);
    const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify(value));
    };
    if (url.searchParams.get('Action') === 'AssumeRoleWithWebIdentity') {
      const ok =
        url.searchParams.get('WebIdentityToken') === OIDC_TEST_TOKEN &&
        url.searchParams.get('RoleArn') === ROLE_ARN &&
        url.searchParams.get('Version') === '2011-06-15';
      calls.push({ service: 'sts', status: ok ? 200 : 400 });
      res.writeHead(ok ? 200 : 400, { 'content-type': 'text/xml' });
      if (!ok) {
        res.end(
          '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code><Message>Couldn\'t retrieve verification key from your identity provider</Message></Error><RequestId>0</RequestId></ErrorResponse>',
        );
        return;
      }
      const id = `ASIAGITOPSRELEASE${++issued}`;
      const secret = createHash('sha256').update(id).digest('base64').slice(0, 40);
      const token = `session-${id}`;
      secrets.set(id, { secret, token });
      res.end(
        `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>${id}</AccessKeyId><SecretAccessKey>${secret}</SecretAccessKey><SessionToken>${token}</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>`,
      );
      return;
    }
    // ECR GetAuthorizationToken
    const auth = String(req.headers.authorization ?? '');
    const m = auth.match(
      /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/ecr\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/,
    );
    const known = m ? secrets.get(m[1]!) : undefined;
    if (
      !m ||
      !known ||
      req.headers['x-amz-target'] !==
        'AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken' ||
      (known.token !== undefined && req.headers['x-amz-security-token'] !== known.token)
    ) {
      calls.push({ service: 'ecr', accessKeyId: m?.[1], status: 400 });
      json(400, {
        __type: 'UnrecognizedClientException',
        message: 'The security token included in the request is invalid.',
      });
      return;
    }
    const [, accessKeyId, day, region, signedHeaders, signature] = m as unknown as string[];
    const headers = Object.fromEntries(
      signedHeaders!.split(';').map((name) => [name, String(req.headers[name] ?? '')]),
    );
    const canonical = canonicalRequest(req.method ?? 'POST', url, headers, text);
    const toSign = [
      'AWS4-HMAC-SHA256',
      String(req.headers['x-amz-date']),
      `${day}/${region}/ecr/aws4_request`,
      createHash('sha256').update(canonical.text).digest('hex'),
    ].join('\n');
    if (
      signatureV4(known.secret, { day: day!, region: region!, service: 'ecr' }, toSign) !==
      signature
    ) {
      calls.push({ service: 'ecr', accessKeyId, status: 400 });
      json(400, {
        __type: 'InvalidSignatureException',
        message:
          'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
      });
      return;
    }
    calls.push({ service: 'ecr', accessKeyId, status: 200 });
    json(200, {
      authorizationData: [
        {
          authorizationToken: Buffer.from(`AWS:${ECR_TEST_PASSWORD}`).toString('base64'),
          expiresAt: Math.floor(Date.now() / 1000) + 43200,
          proxyEndpoint: `https://123456789012.dkr.ecr.${region}.amazonaws.com`,
        },
      ],
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    close: () => new Promise((done) => server.close(() => done())),
  };
}
