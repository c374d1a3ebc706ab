#!/usr/bin/env bash
# llama.cpp and minimind-serve side by side on this CPU, on the same random MiniMind2-Small
# checkpoint (llama, hidden 512, 8 layers, 8/2 heads of 64, FFN 1408, vocab 6400, f16 weights):
# prefill 512 and decode batch 1 at position 128 (f16, and 8-bit: llama.cpp Q8_0 vs our int8 and
# our q8_0), interleaved, REPS rounds, medians printed; then the service: llama-server (-np N,
# continuous batching) against minimind-server at 8/32/64 clients, 128+128 tokens (bench/peers/
# serve_compare.py), REPS rounds, with f16 weights on both sides, then with 8-bit weights (Q8_0 GGUF
# beside --weight-dtype q8_0). Not in the test suite (a benchmark: BENCHMARKS.md "vs llama.cpp").
#
#   bash bench/peers/run_llama_cpp.sh [REPS] [all|kernels|service|service-8bit]
#                                     (default 5, all; needs build/release built)
#
# llama.cpp is built from the source node-llama-cpp ships (llama/gitRelease.bundle, version pinned
# in bench/peers/package-lock.json; installed with --ignore-scripts, nothing else of it is used),
# with AVX-512 (BF16, VNNI) and without AMX, into build/peers/llama.cpp. The checkpoint is written by `minimind make-random`,
# converted to GGUF by gguf_from_safetensors.py and quantized by llama.cpp's own llama-quantize.
set -euo pipefail
cd "$(dirname "$0")/../.."
reps=${1:-5}
part=${2:-all}
root=$PWD
peers=build/peers
mkdir -p "$peers"

if [[ ! -f bench/peers/node_modules/node-llama-cpp/llama/gitRelease.bundle ]]; then
  npm ci --prefix bench/peers --ignore-scripts --omit=optional --no-audit --no-fund \
    --loglevel=error
fi
if [[ ! -x $peers/llama.cpp/build/bin/llama-server ]]; then
  rm -rf "$peers/llama.cpp"
  git clone -q bench/peers/node_modules/node-llama-cpp/llama/gitRelease.bundle "$peers/llama.cpp"
  # Native AVX-512 (BF16, VNNI) but no AMX: GGML_NATIVE also enables AMX on CPUs that report it,
  # and ggml's AMX matmul dies with SIGILL here (checked again 2026-12-07 with GGML_NATIVE=ON:
  # llama-bench on the Q8_0 model, prefill and decode, at a `tileloadd` in libggml-cpu) although
  # AMX itself works on this machine (a tile program that asks the kernel for XTILEDATA runs).
  # Our engine does not use AMX either.
  cmake -S "$peers/llama.cpp" -B "$peers/llama.cpp/build" -DCMAKE_BUILD_TYPE=Release \
    -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
    -DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON \
    -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF \
    -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF >/dev/null
  cmake --build "$peers/llama.cpp/build" -j"$(nproc)" --target llama-bench llama-quantize llama-server \
    >/dev/null
fi
bin=$peers/llama.cpp/build/bin
model=$peers/minimind2_small
if [[ ! -f $peers/minimind2_small-q8_0.gguf ]]; then
  rm -rf "$model"
  build/release/tools/cli/minimind make-random --out "$model" --arch llama --dtype f16 \
    --hidden-size 512 --layers 8 --heads 8 --kv-heads 2 --head-dim 64 --intermediate-size 1408 \
    --vocab-size 6400 --seed 42 >/dev/null
  python3 bench/peers/gguf_from_safetensors.py "$model" "$peers/minimind2_small-f16.gguf"
  "$bin/llama-quantize" "$peers/minimind2_small-f16.gguf" "$peers/minimind2_small-q8_0.gguf" \
    Q8_0 >/dev/null 2>&1
fi

if [[ $part != service ]]; then
  python3 bench/peers/compare.py --reps "$reps" --llama-bench "$bin/llama-bench" \
    --gguf-f16 "$peers/minimind2_small-f16.gguf" --gguf-q8 "$peers/minimind2_small-q8_0.gguf" \
    --forward-bench build/release/bench/forward_bench \
    --weight-dtype-bench build/release/bench/weight_dtype_bench
fi
if [[ $part == all || $part == service ]]; then
  python3 bench/peers/serve_compare.py --reps "$reps" --clients 8,32,64 \
    --llama-server "$bin/llama-server" --gguf "$peers/minimind2_small-f16.gguf" \
    --minimind-server build/release/service/minimind-server --model "$model" \
    --log "$peers/serve_compare.log"
fi
if [[ $part == all || $part == service-8bit ]]; then  # Q8_0 beside our q8_0
  python3 bench/peers/serve_compare.py --reps "$reps" --clients 8,32,64 \
    --llama-server "$bin/llama-server" --gguf "$peers/minimind2_small-q8_0.gguf" \
    --minimind-server build/release/service/minimind-server --model "$model" \
    --weight-dtype q8_0 --log "$peers/serve_compare.log"
fi
