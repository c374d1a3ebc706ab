#!/usr/bin/env bash
# Soak test (not in the default suite): builds the release preset, then runs the server on the
# shipped model at saturation for SECONDS (default 600) with a random mix of calls, cancels,
# deadlines, disconnects, slow readers, forks, deletes and TTL expiry (tests/soak/soak.py), and
# prints the report (also written to build/soak-report.md).
#   scripts/soak.sh [SECONDS] [CLIENTS]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target minimind-server
exec /usr/bin/python3 tests/soak/soak.py --server build/release/service/minimind-server \
  --model models/minimind-serve-tiny --proto-dir "$PWD/proto" --seconds "${1:-600}" \
  --clients "${2:-24}" --report build/soak-report.md
