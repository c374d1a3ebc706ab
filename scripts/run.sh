#!/usr/bin/env bash
# Installs dependencies, builds the release preset and runs the main job: the `minimind` CLI
# generating a chat reply, streamed, on the default model. Until the project ships a trained
# model, the default model is a deterministic random checkpoint written by `minimind make-random`
# (its reply is random bytes; the point is the pipeline: load, template, prefill, sample, stream).
# Extra arguments go to `minimind generate` (e.g. --prompt "..." --temperature 0).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target minimind
minimind=build/release/tools/cli/minimind
model=build/default-model
if [[ ! -f "$model/model.safetensors" ]]; then
  "$minimind" make-random --out "$model"
fi
echo "== minimind generate --model $model --chat $*"
"$minimind" generate --model "$model" --chat --prompt "Hello! Who are you?" --max-tokens 64 "$@"
