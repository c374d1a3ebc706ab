#!/usr/bin/env bash
# Builds the asan preset (AddressSanitizer + UndefinedBehaviorSanitizer, no benchmarks) and runs
# the whole default suite under it (the deploy label excepted: it renders manifests, no C++; and
# the timing label: a bound on stream gaps that holds for the release build only).
# Dependencies as scripts/test.sh (run that first on a fresh machine, or scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset asan >/dev/null
cmake --build --preset asan
ctest --preset asan
