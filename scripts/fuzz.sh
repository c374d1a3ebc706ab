#!/usr/bin/env bash
# Builds the fuzz preset (clang-16, libFuzzer, ASan + UBSan) and runs every fuzz target for
# SECONDS (default 60) each on a copy of its committed corpus (fuzz/corpus/<name>/), in turn.
# New interesting inputs stay in build/fuzz/corpus/<name>/ (merge them into fuzz/corpus with
# `fuzz_<name> -merge=1 fuzz/corpus/<name> build/fuzz/corpus/<name>` when they add coverage).
# A crash leaves crash-* in build/fuzz/artifacts/<name>/ and the script exits 1: copy the input
# into fuzz/corpus/<name>/ (it then replays in ctest fuzz_corpus_<name>) and fix the bug.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
if ((${#targets[@]} == 0)); then
  targets=(tokenizer_json bpe_round_trip chat_template safetensors pth model_config request
           session_request constraint)
fi
if ! command -v clang++-16 >/dev/null; then
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  $sudo apt-get install -y -qq --no-install-recommends clang-16 libclang-rt-16-dev
fi
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz
status=0
for name in "${targets[@]}"; do
  work=build/fuzz/corpus/$name
  artifacts=build/fuzz/artifacts/$name
  mkdir -p "$work" "$artifacts"
  cp -n fuzz/corpus/"$name"/* "$work"/ 2>/dev/null || true
  echo "fuzz: $name for ${seconds}s"
  if ! build/fuzz/fuzz/fuzz_"$name" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
      -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$artifacts"/ "$work" \
      2>build/fuzz/artifacts/"$name".log; then
    echo "fuzz: $name FOUND A CRASH: see $artifacts and build/fuzz/artifacts/$name.log"
    status=1
  fi
  grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb" build/fuzz/artifacts/"$name".log |
    sed "s/^/fuzz: $name: /" || true
done
exit $status
