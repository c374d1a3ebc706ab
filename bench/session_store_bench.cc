// SessionStore throughput and reaper cost.
//
// BM_MixedOps: a store holding 1M sessions (64 shards), 2 threads issuing a mix of 50% Get
//   (the full-snapshot call the Sessions.GetSession RPC makes; these sessions have empty
//   transcripts, so the copy is of metadata only), 30% Touch (TTL refresh, LRU move), 10% Create
//   and 10% Delete (each thread deletes sessions it created, so the store stays at ~1M). Ids hit
//   the whole map at random. "items_per_second" is operations per wall-clock second across both
//   threads; CPU time is summed over both threads, so 2 / (CPU time per op) is the rate the two
//   threads would reach with a core each.
// BM_ReapExpired/expired/background: a store with `background` long-lived sessions plus `expired`
//   sessions whose TTL has run out; times one ReapExpired call (manual timing: creating the
//   expired sessions is not counted). The time grows with `expired` and
//   hardly with `background` (the reaper pops an expiry heap, it does not scan the store);
//   "ns_per_expired" makes the proportionality visible.
//
//   cmake --build build/release --target session_store_bench && cd build/release
//   bench/session_store_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "service/sessions/memory_session_store.h"

namespace minimind {
namespace {

class BenchClock {
 public:
  absl::Time Now() const { return absl::FromUnixNanos(nanos_.load(std::memory_order_relaxed)); }
  void Advance(absl::Duration by) {
    nanos_.fetch_add(absl::ToInt64Nanoseconds(by), std::memory_order_relaxed);
  }

 private:
  std::atomic<int64_t> nanos_{int64_t{1'700'000'000} * 1'000'000'000};
};

constexpr int64_t kMixedSessions = 1'000'000;

struct MixedFixture {
  std::unique_ptr<SessionStore> store;
  // The pre-populated sessions' ids (never deleted), 32 chars each, back to back. Walking them in
  // order hits the store at random (ids are random) while the id itself is read sequentially, as
  // a server reads an id that just arrived in a request.
  std::string ids;
  absl::string_view Id(size_t i) const {
    return absl::string_view(ids).substr(32 * (i % kMixedSessions), 32);
  }
};

MixedFixture MakeMixedFixture() {
  MixedFixture fixture;
  SessionStoreOptions options;
  options.max_sessions = 2 * kMixedSessions;
  fixture.store = std::move(*MemorySessionStore::Make(options));
  fixture.ids.reserve(32 * kMixedSessions);
  for (int64_t i = 0; i < kMixedSessions; ++i) {
    fixture.ids += fixture.store->Create("tenant", "", absl::ZeroDuration(), {})->id;
  }
  return fixture;
}

// Built once (thread-safe static init) and shared by both benchmark threads and every run.
MixedFixture& GetMixedFixture() {
  static MixedFixture fixture = MakeMixedFixture();
  return fixture;
}

void BM_MixedOps(benchmark::State& state) {
  MixedFixture& fixture = GetMixedFixture();
  SessionStore& store = *fixture.store;
  size_t next_id = static_cast<size_t>(state.thread_index()) * (kMixedSessions / 2);
  std::vector<std::string> mine;  // created by this thread, deleted in FIFO order
  size_t next_delete = 0;
  int64_t failures = 0;
  uint64_t counter = 0;
  for (auto _ : state) {
    const int op = static_cast<int>(counter++ % 10);
    if (op < 5) {
      absl::StatusOr<SessionSnapshot> s = store.Get(fixture.Id(next_id++), "tenant");
      failures += !s.ok();
      benchmark::DoNotOptimize(s);
    } else if (op < 8) {
      failures += !store.Touch(fixture.Id(next_id++), "tenant").ok();
    } else if (op == 8 || next_delete == mine.size()) {
      absl::StatusOr<SessionSnapshot> s = store.Create("tenant", "", absl::ZeroDuration(), {});
      if (s.ok()) {
        mine.push_back(s->id);
      } else {
        ++failures;
      }
    } else {
      failures += !store.Delete(mine[next_delete++], "tenant").ok();
    }
  }
  for (; next_delete < mine.size(); ++next_delete) (void)store.Delete(mine[next_delete], "tenant");
  state.SetItemsProcessed(state.iterations());
  state.counters["failures"] = static_cast<double>(failures);
}
BENCHMARK(BM_MixedOps)->Threads(2)->UseRealTime()->MinTime(1.0);

// Single-threaded cost of each operation on the same 1M-session store (per-op breakdown).
void BM_Get(benchmark::State& state) {
  MixedFixture& fixture = GetMixedFixture();
  size_t next_id = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(fixture.store->Get(fixture.Id(next_id++), "tenant"));
  }
}
BENCHMARK(BM_Get);

void BM_Touch(benchmark::State& state) {
  MixedFixture& fixture = GetMixedFixture();
  size_t next_id = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(fixture.store->Touch(fixture.Id(next_id++), "tenant"));
  }
}
BENCHMARK(BM_Touch);

// One Create and one Delete per iteration.
void BM_CreateDelete(benchmark::State& state) {
  MixedFixture& fixture = GetMixedFixture();
  for (auto _ : state) {
    absl::StatusOr<SessionSnapshot> s =
        fixture.store->Create("tenant", "", absl::ZeroDuration(), {});
    benchmark::DoNotOptimize(fixture.store->Delete(s->id, "tenant"));
  }
}
BENCHMARK(BM_CreateDelete);

void BM_ReapExpired(benchmark::State& state) {
  const int64_t expired = state.range(0);
  const int64_t background = state.range(1);
  BenchClock clock;
  SessionStoreOptions options;
  options.max_sessions = expired + background + 1;
  options.clock = [&clock] { return clock.Now(); };
  auto store = std::move(*MemorySessionStore::Make(options));
  for (int64_t i = 0; i < background; ++i) {
    (void)store->Create("tenant", "", absl::Hours(24), {});
  }
  int64_t reaped = 0;
  double reap_seconds = 0;
  for (auto _ : state) {
    for (int64_t i = 0; i < expired; ++i) {
      (void)store->Create("tenant", "", absl::Seconds(1), {});
    }
    clock.Advance(absl::Seconds(2));
    const auto start = std::chrono::steady_clock::now();
    reaped += store->ReapExpired(clock.Now());
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    state.SetIterationTime(elapsed.count());
    reap_seconds += elapsed.count();
  }
  if (reaped != expired * static_cast<int64_t>(state.iterations())) {
    state.SkipWithError("ReapExpired removed a different number of sessions than expired");
  }
  state.counters["ns_per_expired"] =
      reap_seconds * 1e9 / (static_cast<double>(expired) * static_cast<double>(state.iterations()));
}
BENCHMARK(BM_ReapExpired)
    ->ArgNames({"expired", "background"})
    ->Args({1000, 100000})
    ->Args({10000, 100000})
    ->Args({100000, 100000})
    ->Args({10000, 0})
    ->Args({10000, 1000000})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace minimind

// Debian's Abseil is built without NDEBUG, so its mutex deadlock detection is on by default and
// bookkeeps every lock acquisition (~2-3% of this benchmark). It is a process-wide debugging aid
// that a production main() should switch off; the benchmark does so here (not in the library).
int main(int argc, char** argv) {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
