// A real Docker engine (dockerd from Debian's docker.io) on its own socket and data directories
// under a temporary directory, started exactly as ../../../shared/ENVIRONMENT.md shows.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface DockerEngine {
  /** `unix:///…/d.sock`, for DOCKER_HOST. */
  host: string;
  /** The environment to run `docker` against this engine. */
  env: Record<string, string | undefined>;
  /** IDs of all images the engine holds (including intermediate ones). */
  imageIds(): Promise<string[]>;
  /** The engine's own log, for asserting what it was asked to do. */
  log(): string;
  stop(): Promise<void>;
}

export async function startDockerEngine(): Promise<DockerEngine> {
  // Short path: a unix socket path must stay under 108 bytes.
  const dir = await mkdtemp('/tmp/gr-docker-');
  const host = `unix://${join(dir, 'd.sock')}`;
  const child: ChildProcess = spawn(
    'dockerd',
    [
      '--iptables=false',
      '--ip6tables=false',
      '--bridge=none',
      '--storage-driver=vfs',
      '--host',
      host,
      '--data-root',
      join(dir, 'data'),
      '--exec-root',
      join(dir, 'exec'),
      '--pidfile',
      join(dir, 'd.pid'),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (c: Buffer) => {
    output += c.toString('utf8');
  });
  child.stderr?.on('data', (c: Buffer) => {
    output += c.toString('utf8');
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const env = { ...process.env, DOCKER_HOST: host };

  const deadline = Date.now() + 60_000;
  for (;;) {
    const ready = await exec('docker', ['version', '--format', '{{.Server.Version}}'], {
      env,
    }).then(
      () => true,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGTERM');
      throw new Error(`dockerd did not become ready:\n${output.slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }

  return {
    host,
    env,
    async imageIds() {
      const { stdout } = await exec('docker', ['images', '--all', '--quiet', '--no-trunc'], {
        env,
      });
      return stdout.split('\n').filter(Boolean).sort();
    },
    log: () => output,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
        if (child.exitCode === null) {
          child.kill('SIGKILL');
          await exited;
        }
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
