// Private containers-storage for buildah and podman under a temporary directory, so that tests
// neither see nor leave images in the machine's own storage.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface DaemonlessStorage {
  env: Record<string, string | undefined>;
  root: string;
  dispose(): Promise<void>;
}

export async function daemonlessStorage(): Promise<DaemonlessStorage> {
  const dir = await mkdtemp(join(tmpdir(), 'gr-storage-'));
  const conf = join(dir, 'storage.conf');
  await writeFile(
    conf,
    `[storage]\ndriver = "vfs"\ngraphroot = "${join(dir, 'root')}"\nrunroot = "${join(dir, 'run')}"\n`,
  );
  return {
    root: join(dir, 'root'),
    // chroot isolation: what buildah's own images use inside an unprivileged Kubernetes pod.
    env: { ...process.env, CONTAINERS_STORAGE_CONF: conf, BUILDAH_ISOLATION: 'chroot' },
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}
