#!/usr/bin/env bash
# ctest `deploy_manifests`: installs the locked npm packages (package-lock.json) when node_modules
# is missing or older than the lock file, then runs validate_manifests.mjs with the arguments given
# (--server/--cli: the built binaries, --kubectl: kubectl binaries to render with; default the one
# on PATH). Exits 77 (ctest SKIP) when node, npm or kubectl is missing or the install is impossible
# (offline without node_modules).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

skip() {
  echo "SKIPPED: $1"
  exit 77
}
command -v node >/dev/null || skip "node not found (Debian: nodejs; scripts/install-deps.sh installs it)"
command -v kubectl >/dev/null || [[ " $* " == *" --kubectl "* ]] ||
  skip "kubectl not found (Debian: kubernetes-client; scripts/install-deps.sh installs it)"

if [[ ! -f $here/node_modules/.package-lock.json || $here/package-lock.json -nt $here/node_modules/.package-lock.json ]]; then
  command -v npm >/dev/null || skip "npm not found and $here/node_modules is missing"
  npm ci --prefix "$here" --no-audit --no-fund --loglevel=error ||
    skip "npm ci failed (offline?); run it once with network: npm ci --prefix $here"
fi
exec node "$here/validate_manifests.mjs" "$@"
