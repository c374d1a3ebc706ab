#!/usr/bin/env bash
# Chaos soak across replicas (not in the default suite; its 40-second version is, as ctest
# minimind_chaos_short): builds the release preset, then runs nginx (deploy/nginx) + 3
# minimind-server replicas + a persistent redis-server on loopback for SECONDS (default 600) with
# CLIENTS clients (default 24) and a fault every FAULT_INTERVAL seconds (default 10): kill -9,
# Redis paused and restarted, drains (tests/chaos/chaos.py). Prints the report (also written to
# build/chaos-report.md) and exits 1 on any invariant breach.
#   scripts/chaos.sh [SECONDS] [CLIENTS] [FAULT_INTERVAL]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target minimind-server minimind
exec /usr/bin/python3 tests/chaos/chaos.py --server build/release/service/minimind-server \
  --cli build/release/tools/cli/minimind --model models/minimind-serve-tiny \
  --proto-dir "$PWD/proto" --protoc "$(command -v protoc)" \
  --grpc-python-plugin "$(command -v grpc_python_plugin)" --seconds "${1:-600}" \
  --clients "${2:-24}" --fault-interval "${3:-10}" --report build/chaos-report.md
