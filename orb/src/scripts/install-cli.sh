#!/usr/bin/env bash
# Writes the CLI this orb version carries (gzip + base64 in GITOPS_RELEASE_CLI_PART_*, each part
# under the kernel's 128 KiB limit for one environment string) to a file, and exports its path.
set -euo pipefail

if ! command -v node >/dev/null 2>&1; then
  echo "gitops-release: 'node' (20 or later) is not on PATH. Use the orb's node or machine executor, or install Node.js before this step." >&2
  exit 1
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  echo "gitops-release: node $(node --version) is too old: the CLI needs node 20 or later. Use the orb's node executor or a newer image." >&2
  exit 1
fi

cli=$(node -e "$GITOPS_RELEASE_UNPACK")
printf 'export GITOPS_RELEASE_CLI=%q\n' "$cli" >>"$BASH_ENV"
echo "gitops-release $(node "$cli" --version) is at $cli"
