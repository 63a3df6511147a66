// Build contexts for the e2e tests: FROM scratch, a static busybox copied in for the RUN steps.
import { copyFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function makeContext(
  dockerfile: string,
  files: Record<string, string> = {},
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gr-context-'));
  await mkdir(join(dir, 'bin'));
  await copyFile('/bin/busybox', join(dir, 'bin', 'busybox'));
  await writeFile(join(dir, 'Dockerfile'), dockerfile);
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

/** A RUN step needs a shell: busybox provides it as /bin/sh. */
export const BUSYBOX_DOCKERFILE = `FROM scratch
COPY bin/busybox /bin/busybox
ARG GREETING=hello
RUN ["/bin/busybox", "sh", "-c", "/bin/busybox mkdir -p /app && echo \\"$GREETING\\" > /app/greeting"]
COPY app.txt /app/app.txt
`;
