// ServiceMetrics: the server's Prometheus metrics (names prefixed minimind_, after vLLM's and
// SGLang's sets; docs/operations.md explains each). The service records per-request results and
// per-RPC status codes into lock-free cells (metric_types.h); a scrape renders those plus the
// engine's and the session store's published counters, read as snapshots (Engine::Stats and
// SessionStore::stats each take their own mutex for a copy, never the engine's step).
//
// Thread-safety: Record* from any thread (the engine thread records results); Render from any
// thread, concurrently with recording.
#ifndef MINIMIND_SERVICE_METRICS_SERVICE_METRICS_H_
#define MINIMIND_SERVICE_METRICS_SERVICE_METRICS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "engine/constrain/constraint.h"
#include "engine/scheduler/engine_stats.h"
#include "engine/scheduler/generation_result.h"
#include "service/metrics/metric_types.h"
#include "service/sessions/kv_spill_store.h"
#include "service/sessions/session_store.h"

namespace minimind {

// minimind_model_info's labels.
struct ModelInfoLabels {
  std::string model;         // the model directory's name
  std::string architecture;  // e.g. "minimind"
  std::string kv_cache_dtype;
  std::string version;  // the server's version
};

// What a scrape reads besides the service's own cells. Absent parts (no model served yet) are
// rendered as nothing, not as zeros.
struct ScrapeInputs {
  std::optional<EngineStats> engine;
  std::optional<SessionStoreStats> sessions;
  std::optional<KvSpillStats> kv_spill;
  std::optional<ConstraintCompilerStats> constraints;
  std::optional<ModelInfoLabels> model;
  bool draining = false;
};

class ServiceMetrics {
 public:
  ServiceMetrics();

  // A request the engine finished with a result (any finish reason). `session_turn`: it was a
  // turn of a session, so its prompt also counts as a session-cache query.
  void RecordResult(const GenerationResult& result, bool session_turn);
  // A request the engine accepted and then failed (finish_reason "error").
  void RecordEngineFailure();
  // A finished session turn's commit (service/generation/io_executor.h): `outcome` "saved", or
  // why the turn was not saved ("store_unavailable", "session_gone", "lease_lost", "error");
  // `seconds` from the engine's last token to the store's answer.
  void RecordSessionCommit(absl::string_view outcome, double seconds);
  // A request whose context was truncated (ContextOverflow TRUNCATE), saving `dropped_tokens`.
  void RecordContextTruncation(int64_t dropped_tokens);
  // Every gRPC call's final status, by full method name ("/minimind.v1.Inference/Generate").
  void RecordRpc(absl::string_view method, int grpc_status_code);

  // The whole scrape body (Prometheus text format 0.0.4).
  std::string Render(const ScrapeInputs& inputs) const;

 private:
  LabeledCounter finished_;  // finish_reason
  LabeledCounter rpcs_;      // method, code
  Counter prompt_tokens_;
  Counter cached_prompt_tokens_;
  Counter generation_tokens_;
  Counter session_queries_;
  Counter session_hits_;
  LabeledCounter session_commits_;  // outcome
  Counter context_truncations_;
  Counter context_dropped_tokens_;
  Histogram session_commit_time_;
  Histogram queue_time_;
  Histogram time_to_first_token_;
  Histogram time_per_output_token_;
  Histogram e2e_latency_;
};

// "OK", "CANCELLED", ... "UNAUTHENTICATED"; the number for codes outside the enum.
std::string GrpcStatusCodeName(int code);

}  // namespace minimind

#endif  // MINIMIND_SERVICE_METRICS_SERVICE_METRICS_H_
