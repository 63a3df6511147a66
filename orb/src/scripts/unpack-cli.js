// Reassembles the CLI from GITOPS_RELEASE_CLI_PART_0..N (gzip, then base64, split so that each
// environment string stays under the kernel's limit), checks its SHA-256 and writes it once.
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');

const parts = [];
for (let i = 0; process.env[`GITOPS_RELEASE_CLI_PART_${i}`] !== undefined; i++) {
  parts.push(process.env[`GITOPS_RELEASE_CLI_PART_${i}`]);
}
const expected = (process.env.GITOPS_RELEASE_CLI_SHA256 || '').trim();
const damaged = (why) => {
  console.error(
    `gitops-release: the CLI carried by the orb is damaged (${why}). Re-pack the orb with 'pnpm build'.`,
  );
  process.exit(1);
};
let cli;
try {
  cli = zlib.gunzipSync(Buffer.from(parts.join(''), 'base64'));
} catch (err) {
  damaged(`gunzip: ${err.message}`);
}
const actual = crypto.createHash('sha256').update(cli).digest('hex');
if (actual !== expected) damaged(`sha256 ${actual}, expected ${expected}`);
const dir = path.join(process.env.GITOPS_RELEASE_DIR || os.tmpdir(), 'gitops-release');
const file = path.join(dir, `cli-${actual.slice(0, 16)}.cjs`);
fs.mkdirSync(dir, { recursive: true });
// Written under a temporary name and renamed, so a parallel step never runs half a file.
const partial = `${file}.${process.pid}.tmp`;
fs.writeFileSync(partial, cli, { mode: 0o755 });
fs.renameSync(partial, file);
process.stdout.write(file);
