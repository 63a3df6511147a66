#!/usr/bin/env bash
# The whole test suite, from a fresh clone on a machine with only Node, npm and git:
# installs what it needs (pnpm, the workspace, and the real parts the end-to-end tests start),
# checks that the committed bundles are what the sources build, then typechecks, lints and tests.
set -euo pipefail
cd "$(dirname "$0")/.."

# The real parts the end-to-end tests run, from Debian's packages (see ../shared/ENVIRONMENT.md).
needed=()
command -v kubectl >/dev/null || needed+=(kubectl)
command -v yq >/dev/null || needed+=(yq)
command -v dockerd >/dev/null || needed+=(docker.io)
command -v buildah >/dev/null || needed+=(buildah)
command -v podman >/dev/null || needed+=(podman)
command -v docker-registry >/dev/null || needed+=(docker-registry)
command -v htpasswd >/dev/null || needed+=(apache2-utils)
[ -x /bin/busybox ] || needed+=(busybox-static)
command -v openssl >/dev/null || needed+=(openssl)
if [ ${#needed[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing ${needed[*]} ..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${needed[@]}" >/dev/null
  else
    echo "The end-to-end tests need: ${needed[*]} (Debian packages). Install them, then re-run." >&2
    exit 1
  fi
fi

if command -v pnpm >/dev/null; then pnpm=(pnpm); else pnpm=(npx -y pnpm@10); fi
"${pnpm[@]}" install --frozen-lockfile --reporter=silent
"${pnpm[@]}" run -s check-dist
"${pnpm[@]}" run -s typecheck
"${pnpm[@]}" run -s lint
mkdir -p .tmp
status=0
"${pnpm[@]}" exec vitest run --project unit --project e2e --reporter=default --reporter=json --outputFile.json=.tmp/vitest.json || status=$?
# One plain closing line that any CI can read, whatever the runner printed above it.
node -e '
  const r = JSON.parse(require("fs").readFileSync(".tmp/vitest.json", "utf8"));
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
  if (r.numTotalTests === 0) { console.error("no test ran"); process.exit(1); }
' || status=1
exit $status
