#!/usr/bin/env bash
# ThreadSanitizer run of the concurrent parts (not in CI: about 35 minutes on 2 cores the first
# time, most of it building Abseil). Debian's Abseil is not instrumented, so TSan would not see
# absl::Mutex lock/unlock as synchronisation and would report every mutex-guarded field. This
# script therefore rebuilds the installed Abseil version from Debian's own source package with
# -fsanitize=thread (shared libraries, the same SONAMEs; cached in build/tsan-abseil/) and runs the
# tsan preset's concurrent suites (below) with LD_LIBRARY_PATH pointing at it, so our code and gRPC's locks (gRPC 1.51
# locks through absl::Mutex) are both seen. gRPC itself stays uninstrumented: its internal atomics
# are invisible to TSan, which is why only the suites below run (docs/reliability.md).
#   scripts/test-tsan.sh [GTEST_FILTER]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
scripts/install-deps.sh
gtest_filter=${1:-}
# The suites whose code runs on several threads: the pool, the engine thread and its inbox, KV
# release, the outbound stream queue, the session stores and reaper, auth and metrics counters.
tests=(thread_pool_test scheduler_engine_test scheduler_engine_determinism_test
       scheduler_engine_loop_test scheduler_engine_fairness_test scheduler_waiting_queue_test
       minimind_outbound_queue_test memory_session_store_test turn_lease_test session_reaper_test
       redis_session_store_test minimind_auth_test minimind_service_metrics_test)

abseil=$root/build/tsan-abseil
if [[ ! -f $abseil/prefix/.complete ]]; then
  version=$(dpkg-query -W -f='${source:Version}' libabsl-dev)
  echo "test-tsan: building Abseil $version with -fsanitize=thread into $abseil/prefix" >&2
  rm -rf "$abseil" && mkdir -p "$abseil/apt/lists/partial" "$abseil/apt/sources"
  # Debian's source package, fetched with a private apt configuration (the system's is untouched).
  sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
    > "$abseil/apt/sources/debian-src.sources"
  apt_options=(-o Dir::Etc::SourceParts="$abseil/apt/sources" -o Dir::Etc::SourceList=/dev/null
               -o Dir::State::Lists="$abseil/apt/lists" -o Debug::NoLocking=1)
  apt-get "${apt_options[@]}" update -qq
  (cd "$abseil" && apt-get "${apt_options[@]}" source -qq "abseil=$version")
  source_dir=$(find "$abseil" -maxdepth 1 -type d -name 'abseil-*' | head -1)
  # The configuration of Debian's debian/rules (shared, C++17), instrumented.
  cmake -S "$source_dir" -B "$abseil/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_STANDARD=17 -DBUILD_SHARED_LIBS=ON -DCMAKE_CXX_FLAGS=-fsanitize=thread \
    -DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=thread -DCMAKE_INSTALL_PREFIX="$abseil/prefix" \
    -DCMAKE_INSTALL_LIBDIR=lib >/dev/null
  cmake --build "$abseil/build"
  cmake --install "$abseil/build" >/dev/null
  touch "$abseil/prefix/.complete"
fi

cmake --preset tsan >/dev/null
cmake --build --preset tsan --target "${tests[@]}"
# halt_on_error: the first report fails the run; second_deadlock_stack for lock-order reports;
# tests/tsan_suppressions.txt: one false report inside Abseil itself (explained there).
export LD_LIBRARY_PATH=$abseil/prefix/lib
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$root/tests/tsan_suppressions.txt ${TSAN_OPTIONS:-}"
status=0
for test in "${tests[@]}"; do
  binary=$(find build/tsan/tests -type f -name "$test" -perm -u+x | head -1)
  echo "test-tsan: $test" >&2
  if ! "$binary" --gtest_brief=1 ${gtest_filter:+--gtest_filter="$gtest_filter"}; then
    echo "test-tsan: $test FAILED" >&2
    status=1
  fi
done
exit $status
