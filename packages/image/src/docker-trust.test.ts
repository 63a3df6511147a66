import { chmod, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { daemonTreatsAsInsecure, dockerTrustProblem } from './docker-trust.js';
import { isInsecureRegistry, parseInsecureRegistry } from './registry-tls.js';

const CA = '-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n';
// The shape of `docker info --format '{{json .RegistryConfig}}'` (Docker's registry.ServiceConfig),
// as for a dockerd started with --insecure-registry 10.1.2.3:5000; 127.0.0.0/8 is its default CIDR.
const DAEMON = {
  InsecureRegistryCIDRs: ['127.0.0.0/8'],
  IndexConfigs: {
    'docker.io': { Secure: true },
    '10.1.2.3:5000': { Secure: false },
  },
};

describe('insecure registries', () => {
  it('matches HOST:PORT exactly and a bare HOST on any port', () => {
    expect(isInsecureRegistry({ insecure: ['10.1.2.3:5000'] }, '10.1.2.3:5000')).toBe(true);
    expect(isInsecureRegistry({ insecure: ['10.1.2.3:5000'] }, '10.1.2.3:5001')).toBe(false);
    expect(isInsecureRegistry({ insecure: ['harbor.lan'] }, 'harbor.lan:8443')).toBe(true);
    expect(isInsecureRegistry({}, 'harbor.lan')).toBe(false);
    expect(() => parseInsecureRegistry('http://harbor.lan', '--insecure-registry')).toThrow(
      /HOST or HOST:PORT/,
    );
    expect(parseInsecureRegistry('[fd00::1]:5000', 'x')).toBe('[fd00::1]:5000');
  });

  it('reads the daemon’s insecure-registries and CIDRs', () => {
    expect(daemonTreatsAsInsecure('10.1.2.3:5000', DAEMON)).toBe(true);
    expect(daemonTreatsAsInsecure('127.0.0.1:5000', DAEMON)).toBe(true);
    expect(daemonTreatsAsInsecure('10.1.2.4:5000', DAEMON)).toBe(false);
    expect(daemonTreatsAsInsecure('10.9.0.7:80', { InsecureRegistryCIDRs: ['10.9.0.0/16'] })).toBe(
      true,
    );
  });

  it('refuses docker for an insecure registry its daemon does not list, saying how to fix it', async () => {
    const p = await dockerTrustProblem(
      '10.1.2.4:5000',
      { insecure: ['10.1.2.4:5000'] },
      DAEMON,
      {},
    );
    expect(p?.input).toBe('--insecure-registry');
    expect(p?.message).toContain('{"insecure-registries": ["10.1.2.4:5000"]}');
    expect(
      await dockerTrustProblem('10.1.2.3:5000', { insecure: ['10.1.2.3:5000'] }, DAEMON, {}),
    ).toBeUndefined();
  });
});

describe('a registry CA for the docker daemon', () => {
  it('is written to certs.d/HOST/ca.crt once, and said', async () => {
    const root = await mkdtemp(join(tmpdir(), 'gr-certs-d-'));
    const said: string[] = [];
    const tls = { ca: CA, caFile: '/ci/ca.pem', dockerCertsDir: root };
    expect(
      await dockerTrustProblem('harbor.lan', tls, {}, {}, (l) => said.push(l)),
    ).toBeUndefined();
    expect(await readFile(join(root, 'harbor.lan', 'ca.crt'), 'utf8')).toBe(CA);
    expect(said).toEqual([
      `docker: added the --registry-ca certificate to ${join(root, 'harbor.lan', 'ca.crt')}, where dockerd looks for harbor.lan`,
    ]);
    await dockerTrustProblem('harbor.lan', tls, {}, {}, (l) => said.push(l));
    expect(said).toHaveLength(1);
  });

  it('names the file and the command when it cannot be written, and refuses a remote daemon', async () => {
    const root = await mkdtemp(join(tmpdir(), 'gr-certs-d-'));
    await mkdir(join(root, 'harbor.lan'));
    await writeFile(join(root, 'harbor.lan', 'ca.crt'), 'other\n');
    await chmod(join(root, 'harbor.lan', 'ca.crt'), 0o444);
    await chmod(join(root, 'harbor.lan'), 0o555);
    const tls = { ca: CA, caFile: '/ci/ca.pem', dockerCertsDir: root };
    const p = await dockerTrustProblem('harbor.lan', tls, {}, {});
    // root may write anyway; then the CA was added after the existing one.
    if (p) expect(p.message).toContain(`sudo cp /ci/ca.pem ${join(root, 'harbor.lan', 'ca.crt')}`);
    else expect(await readFile(join(root, 'harbor.lan', 'ca.crt'), 'utf8')).toBe(`other\n${CA}`);
    const remote = await dockerTrustProblem(
      'harbor.lan',
      tls,
      {},
      { DOCKER_HOST: 'tcp://10.0.0.5:2376' },
    );
    expect(remote?.message).toContain('the daemon at tcp://10.0.0.5:2376');
  });
});
