import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { isLoopbackHost } from './registry-client.js';
import { isInsecureRegistry, type RegistryTls } from './registry-tls.js';

/** What `docker info --format '{{json .RegistryConfig}}'` says about the daemon's registries. */
export interface DockerTrust {
  InsecureRegistryCIDRs?: string[];
  IndexConfigs?: Record<string, { Secure?: boolean }>;
}

/** Where dockerd reads a registry's CA: `certs.d/HOST[:PORT]/ca.crt` (read on each connection). */
export const DOCKER_CERTS_D = '/etc/docker/certs.d';

function ipv4(address: string): number | undefined {
  if (isIP(address) !== 4) return undefined;
  return address.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

function inCidr(address: string, cidr: string): boolean {
  const [net, bits] = cidr.split('/');
  const a = ipv4(address);
  const n = ipv4(net ?? '');
  if (a === undefined || n === undefined) return false;
  const size = 2 ** (32 - Number(bits ?? 32));
  return Math.floor(a / size) === Math.floor(n / size);
}

/** Whether the daemon pushes to `host` without verifying TLS (its insecure-registries). */
export function daemonTreatsAsInsecure(host: string, trust: DockerTrust): boolean {
  if (trust.IndexConfigs?.[host]?.Secure === false) return true;
  const address = host.replace(/:\d+$/, '');
  return (trust.InsecureRegistryCIDRs ?? []).some((cidr) => inCidr(address, cidr));
}

/**
 * Why the docker daemon would refuse `host` with these TLS settings, or undefined. Docker's CLI has
 * no per-push TLS flag: the daemon's `insecure-registries` and its `certs.d` decide. A CA missing
 * from certs.d is copied there when this process may write it (a local daemon run as root).
 */
export async function dockerTrustProblem(
  host: string,
  tls: RegistryTls & { dockerCertsDir?: string },
  trust: DockerTrust,
  env: Readonly<Record<string, string | undefined>>,
  log: (line: string) => void = () => {},
): Promise<{ message: string; input: string } | undefined> {
  if (isInsecureRegistry(tls, host)) {
    if (isLoopbackHost(host) || daemonTreatsAsInsecure(host, trust)) return undefined;
    return {
      input: '--insecure-registry',
      message: `docker: the docker daemon does not treat ${host} as an insecure registry, and docker push has no flag to skip TLS checks. Add it to /etc/docker/daemon.json ({"insecure-registries": ["${host}"]}) and restart dockerd, or use --builder buildah or podman, which skip the checks per push`,
    };
  }
  if (!tls.ca) return undefined;
  const remote = env.DOCKER_HOST && !env.DOCKER_HOST.startsWith('unix://');
  const dir = join(tls.dockerCertsDir ?? DOCKER_CERTS_D, host);
  const file = join(dir, 'ca.crt');
  const fix = `put the CA into the daemon's ${file} (sudo mkdir -p ${dir} && sudo cp ${tls.caFile ?? 'CA.pem'} ${file}); dockerd reads it at the next push`;
  if (remote)
    return {
      input: '--registry-ca',
      message: `docker: the daemon at ${env.DOCKER_HOST} verifies ${host} with its own CA files, not --registry-ca: ${fix} on that machine, or use --builder buildah or podman`,
    };
  const present = await readFile(file, 'utf8').catch(() => '');
  if (present.includes(tls.ca.trim())) return undefined;
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(file, `${present}${present && !present.endsWith('\n') ? '\n' : ''}${tls.ca}`);
    log(`docker: added the --registry-ca certificate to ${file}, where dockerd looks for ${host}`);
    return undefined;
  } catch (err) {
    return {
      input: '--registry-ca',
      message: `docker: the docker daemon verifies ${host} with ${file}, which this user cannot write (${(err as NodeJS.ErrnoException).code}): ${fix}, or use --builder buildah or podman`,
    };
  }
}
