// Measures, on this machine, the limits the orb's install_cli step lives under, and the sizes of
// the CLI it carries: the longest single environment string execve accepts (MAX_ARG_STRLEN),
// ARG_MAX, and whether the install step's whole environment fits. Prints one JSON line.
//
//   node scripts/measure-orb-limits.mjs
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliPieces, PART_SIZE, PART_SLOTS } from './pack-orb.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Does execve accept one variable NAME=VALUE of this many bytes in total (NUL not counted)? */
function accepts(totalBytes) {
  const value = 'a'.repeat(totalBytes - 'X='.length);
  const r = spawnSync('/bin/true', [], { env: { X: value } });
  return r.status === 0 && !r.error;
}

let lo = 1024;
let hi = 4 * 1024 * 1024;
while (hi - lo > 1) {
  const mid = Math.floor((lo + hi) / 2);
  if (accepts(mid)) lo = mid;
  else hi = mid;
}
const maxEnvString = lo + 1; // + the closing NUL, as the kernel counts it

const argMax = Number(execFileSync('getconf', ['ARG_MAX'], { encoding: 'utf8' }).trim());
const pieces = cliPieces(readFileSync(join(root, 'dist/cli.cjs'), 'utf8'));
const longestName = `GITOPS_RELEASE_CLI_PART_${PART_SLOTS - 1}=`.length;

// The install step's environment, with every part at its largest, must go through execve.
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
for (let i = 0; i < PART_SLOTS; i++) env[`GITOPS_RELEASE_CLI_PART_${i}`] = 'a'.repeat(PART_SIZE);
const fullSlotsExec = spawnSync('/bin/true', [], { env }).status === 0;

console.log(
  JSON.stringify({
    measure: 'orb-limits',
    max_env_string_bytes: maxEnvString,
    arg_max_bytes: argMax,
    cli_bytes: pieces.bundleBytes,
    cli_gzip_bytes: pieces.gzipBytes,
    cli_base64_chars: pieces.base64Chars,
    parts_used: pieces.parts.filter(Boolean).length,
    part_slots: PART_SLOTS,
    part_size_chars: PART_SIZE,
    part_headroom_bytes: maxEnvString - (longestName + PART_SIZE + 1),
    slots_capacity_gzip_bytes: Math.floor((PART_SLOTS * PART_SIZE * 3) / 4),
    full_slots_exec_ok: fullSlotsExec,
  }),
);
