// EngineStats: a snapshot of the engine's counters, published by the engine thread at the end of
// every step and read by Engine::Stats from any thread. A plain value.
#ifndef MINIMIND_ENGINE_SCHEDULER_ENGINE_STATS_H_
#define MINIMIND_ENGINE_SCHEDULER_ENGINE_STATS_H_

#include <cstdint>

#include "engine/kv/kv_cache.h"

namespace minimind {

struct EngineStats {
  int64_t running = 0;      // Sequences in the running batch.
  int64_t waiting = 0;      // Submitted (or preempted) and not running.
  KvCacheStats kv;          // Pool and prefix-cache counters.
  int64_t preemptions = 0;  // Sequences evicted from the batch to free KV (recomputed later).
  int64_t completed = 0;    // Requests finished with a result (any finish reason but cancel).
  int64_t cancelled = 0;    // Requests finished as kCancelled.
  int64_t failed = 0;       // Requests finished with an error status after Submit accepted them.
  int64_t steps = 0;        // Batched forward passes run.
  int64_t prompt_tokens_computed = 0;  // Prefill positions computed (recomputation included).
  int64_t tokens_generated = 0;        // Tokens sampled.
  int64_t retained_handles = 0;        // KvHandles alive (created and not yet released).
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_SCHEDULER_ENGINE_STATS_H_
