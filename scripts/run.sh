#!/usr/bin/env bash
# Installs dependencies, builds the release preset and runs the main job.
# Until the inference service lands this is the `minimind` CLI: it tokenizes a chat turn with
# MiniMind's tokenizer (from ../shared/fixtures, or $MINIMIND_FIXTURES) and decodes it back.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target minimind
model="${MINIMIND_FIXTURES:-../shared/fixtures}/minimind-3"
text=$'<|im_start|>user\n你好，MiniMind! 🙂<|im_end|>\n'
echo "== minimind tokenize --model $model --tokens"
build/release/tools/cli/minimind tokenize --model "$model" --tokens --text "$text"
echo "== minimind tokenize --decode"
build/release/tools/cli/minimind tokenize --model "$model" --text "$text" |
  build/release/tools/cli/minimind tokenize --model "$model" --decode
