#!/usr/bin/env bash
# Installs dependencies, builds the release preset and runs the main job: `minimind-server` on the
# project's own trained model (models/minimind-serve-tiny), listening on $MINIMIND_LISTEN
# (default 0.0.0.0:50051) and the OpenAI-compatible HTTP API on $MINIMIND_HTTP_LISTEN (default
# 0.0.0.0:8998; empty turns it off) until SIGTERM/Ctrl-C. Extra arguments go to the server (see
# docs/service.md; every flag also reads a MINIMIND_* environment variable).
# Talk to it from another terminal:  build/release/tools/cli/minimind chat --target localhost:50051
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target minimind-server minimind
# The OpenAI-compatible HTTP API on MiniMind's own serving port unless told otherwise.
export MINIMIND_HTTP_LISTEN="${MINIMIND_HTTP_LISTEN-0.0.0.0:8998}"
exec build/release/service/minimind-server --model "${MINIMIND_MODEL:-models/minimind-serve-tiny}" "$@"
