#!/usr/bin/env bash
# Installs dependencies, builds the release preset and runs the whole default test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
cmake --preset release >/dev/null
cmake --build --preset release
ctest --preset release
