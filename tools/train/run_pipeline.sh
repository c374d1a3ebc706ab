#!/usr/bin/env bash
# The whole pipeline behind models/minimind-serve-tiny: corpus -> tokenizer -> training ->
# shipped checkpoint + goldens. See tools/train/README.md.
#
#   tools/train/run_pipeline.sh [BUILD_DIR]
#
# BUILD_DIR (default build/train) must hold a built `minimind` CLI (target `minimind`) to check
# the tokenizer with `minimind tokenize`; without it that check is skipped. Needs root for the
# corpus packages (tools/train/install-corpus.sh, run it first), Node with `npm ci` done in
# tools/oracle, and Debian's /usr/bin/python3 with torch.
set -euo pipefail
cd "$(dirname "$0")/../.."
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
$PY tools/train/corpus.py --out "$WORK/corpus" --seed "$SEED"
rm -rf "$WORK/run"
nice -n 10 $PY tools/train/train.py --corpus "$WORK/corpus" --out "$WORK/run" --seed "$SEED" \
  --hidden 128 --layers 4 --heads 4 --kv-heads 2 --head-dim 32 --ffn 384 \
  --seq-len 256 --batch 8 --steps 800 --stop-after 500 --warmup 20 --lr 3e-3 --save-every 100 --threads 1
MINIMIND_FLAG=()
if [[ -x "$BUILD_DIR/tools/cli/minimind" ]]; then
  MINIMIND_FLAG=(--minimind "$BUILD_DIR/tools/cli/minimind")
fi
nice -n 10 $PY tools/train/finalize.py --run "$WORK/run" --corpus "$WORK/corpus" \
  --model-dir models/minimind-serve-tiny "${MINIMIND_FLAG[@]}"
$PY tools/train/model_card.py --model-dir models/minimind-serve-tiny --corpus "$WORK/corpus" --run "$WORK/run" \
  --note "this is step 500 of a run planned for 800 steps (learning rate not annealed): the full run did not fit the session; see tools/train/README.md"
