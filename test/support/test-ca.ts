// A certificate authority of the test's own (openssl), and a server certificate it signs for an
// IP address: what a Harbor on premises with the company's CA looks like.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface TestCa {
  /** The CA certificate, PEM, and the file holding it. */
  caPem: string;
  caFile: string;
  /** Signs a server certificate for this IP address; returns the files. */
  serverCertificate(ip: string): Promise<{ cert: string; key: string }>;
  dispose(): Promise<void>;
}

export async function createTestCa(): Promise<TestCa> {
  const dir = await mkdtemp(join(tmpdir(), 'gr-ca-'));
  const caKey = join(dir, 'ca.key');
  const caFile = join(dir, 'ca.pem');
  await exec('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-sha256',
    '-days',
    '2',
    '-keyout',
    caKey,
    '-out',
    caFile,
    '-subj',
    '/CN=gitops-release test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  let serial = 1;
  return {
    caPem: await readFile(caFile, 'utf8'),
    caFile,
    async serverCertificate(ip) {
      const n = serial++;
      const key = join(dir, `server-${n}.key`);
      const csr = join(dir, `server-${n}.csr`);
      const cert = join(dir, `server-${n}.crt`);
      const ext = join(dir, `server-${n}.ext`);
      await exec('openssl', [
        'req',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        csr,
        '-subj',
        `/CN=${ip}`,
      ]);
      await writeFile(
        ext,
        `subjectAltName=IP:${ip}\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n`,
      );
      await exec('openssl', [
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        caFile,
        '-CAkey',
        caKey,
        '-CAcreateserial',
        '-days',
        '2',
        '-sha256',
        '-out',
        cert,
        '-extfile',
        ext,
      ]);
      return { cert, key };
    },
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}
