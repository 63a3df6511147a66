#!/usr/bin/env bash
# Tags the released commit for the Action, as GitHub's own actions are versioned: vX.Y.Z once
# (never moved), and the major tag vX moved to it, which `uses: gitops-release/gitops-release@vX`
# follows. The version is the one changesets gave every package. `--dry-run` prints the commands.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(node -p 'require("./packages/action/package.json").version')
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "not a release version: $version" >&2; exit 1; }
major=v${version%%.*}
run() { if [ "${1:-}" = --dry-run ]; then shift; echo "$*"; else "$@"; fi; }
dry=${1:-}
if git rev-parse -q --verify "refs/tags/v$version" >/dev/null; then
  echo "v$version is already tagged: a version is tagged once" >&2
  exit 1
fi
run $dry git tag -a "v$version" -m "gitops-release v$version"
run $dry git tag -f -a "$major" -m "gitops-release $major (v$version)"
run $dry git push origin "refs/tags/v$version"
run $dry git push --force origin "refs/tags/$major"
