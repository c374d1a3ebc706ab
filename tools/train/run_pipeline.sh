#!/usr/bin/env bash
# The whole pipeline behind models/minimind-serve-tiny: corpus -> tokenizer -> training ->
# shipped checkpoint + goldens. See tools/train/README.md.
#
#   tools/train/run_pipeline.sh [--train-tokenizer] [BUILD_DIR]
#
# By default the committed 6,400-token tokenizer (models/minimind-serve-tiny/tokenizer.json) is
# reused as-is, so held-out windows and perplexities stay comparable across model versions;
# --train-tokenizer trains a new one from the corpus instead (tools/train/bpe_tokenizer.py).
# BUILD_DIR (default build/train) must hold a built `minimind` CLI (target `minimind`) to check
# the tokenizer with `minimind tokenize`; without it that check is skipped. Needs root for the
# corpus packages (tools/train/install-corpus.sh, run it first), Node with `npm ci` done in
# tools/oracle, and Debian's /usr/bin/python3 with torch.
set -euo pipefail
cd "$(dirname "$0")/../.."
TRAIN_TOKENIZER=0
if [[ "${1:-}" == "--train-tokenizer" ]]; then
  TRAIN_TOKENIZER=1
  shift
fi
BUILD_DIR="${1:-build/train}"
WORK="$BUILD_DIR/pipeline"
SEED=20261128
PY=/usr/bin/python3
# Debian's torch links the reference BLAS by default (~1 GFLOPS); OpenBLAS (libopenblas0-pthread,
# installed by install-corpus.sh) is ~15x faster. Used for this process only, one thread each
# (on this shared 2-core machine one thread trained faster than two).
export LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export OPENBLAS_NUM_THREADS=1

mkdir -p "$WORK"
TOKENIZER_FLAG=()
if [[ "$TRAIN_TOKENIZER" == 0 ]]; then
  # A copy: finalize.py rewrites models/minimind-serve-tiny/ (with the same bytes).
  mkdir -p "$WORK/reused-tokenizer"
  cp models/minimind-serve-tiny/tokenizer.json models/minimind-serve-tiny/tokenizer_config.json "$WORK/reused-tokenizer/"
  TOKENIZER_FLAG=(--tokenizer "$WORK/reused-tokenizer")
fi
$PY tools/train/corpus.py --out "$WORK/corpus" --seed "$SEED"
rm -rf "$WORK/run"
nice -n 10 $PY tools/train/train.py --corpus "$WORK/corpus" --out "$WORK/run" --seed "$SEED" \
  --hidden 192 --layers 6 --heads 6 --kv-heads 2 --head-dim 32 --ffn 512 \
  --seq-len 256 --batch 8 --steps 2600 --warmup 100 --lr 2.5e-3 --save-every 200 --threads 1 \
  "${TOKENIZER_FLAG[@]}"
MINIMIND_FLAG=()
if [[ -x "$BUILD_DIR/tools/cli/minimind" ]]; then
  MINIMIND_FLAG=(--minimind "$BUILD_DIR/tools/cli/minimind")
fi
nice -n 10 $PY tools/train/finalize.py --run "$WORK/run" --corpus "$WORK/corpus" \
  --model-dir models/minimind-serve-tiny "${MINIMIND_FLAG[@]}"
$PY tools/train/model_card.py --model-dir models/minimind-serve-tiny --corpus "$WORK/corpus" --run "$WORK/run" \
  --baseline-perplexity 210.759 --baseline-name "the first minimind-serve-tiny (commit 99b211c: hidden 128, 4 layers, 1.6 M parameters, 500 of 800 planned steps, not annealed)"
