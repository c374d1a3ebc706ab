#include "service/metrics/service_metrics.h"

#include <array>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/sampling/finish_reason.h"
#include "service/metrics/prometheus_text.h"

namespace minimind {
namespace {

// Latency buckets in seconds, from sub-millisecond (a cached tiny-model TTFT) to a minute.
std::vector<double> LatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
          0.5,    1,     2.5,    5,     10,   20,    30,   60};
}

// Per output token: sub-millisecond decode steps to a second.
std::vector<double> PerTokenBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1};
}

}  // namespace

std::string GrpcStatusCodeName(int code) {
  static constexpr std::array<absl::string_view, 17> kNames = {"OK",
                                                               "CANCELLED",
                                                               "UNKNOWN",
                                                               "INVALID_ARGUMENT",
                                                               "DEADLINE_EXCEEDED",
                                                               "NOT_FOUND",
                                                               "ALREADY_EXISTS",
                                                               "PERMISSION_DENIED",
                                                               "RESOURCE_EXHAUSTED",
                                                               "FAILED_PRECONDITION",
                                                               "ABORTED",
                                                               "OUT_OF_RANGE",
                                                               "UNIMPLEMENTED",
                                                               "INTERNAL",
                                                               "UNAVAILABLE",
                                                               "DATA_LOSS",
                                                               "UNAUTHENTICATED"};
  if (code >= 0 && code < static_cast<int>(kNames.size())) return std::string(kNames[code]);
  return absl::StrCat(code);
}

ServiceMetrics::ServiceMetrics()
    : session_commit_time_(LatencyBuckets()),
      queue_time_(LatencyBuckets()),
      time_to_first_token_(LatencyBuckets()),
      time_per_output_token_(PerTokenBuckets()),
      e2e_latency_(LatencyBuckets()) {
  // Every finish reason is exported from the start, so rate() sees the first increment.
  for (const absl::string_view reason : {"stop", "length", "stop_sequence", "cancelled", "error"}) {
    finished_.At({std::string(reason)});
  }
  for (const absl::string_view outcome :
       {"saved", "store_unavailable", "session_gone", "lease_lost", "error"}) {
    session_commits_.At({std::string(outcome)});
  }
}

void ServiceMetrics::RecordResult(const GenerationResult& result, bool session_turn) {
  finished_.At({std::string(FinishReasonName(result.finish_reason))}).Increment();
  prompt_tokens_.Add(result.prompt_tokens);
  cached_prompt_tokens_.Add(result.cached_prompt_tokens);
  generation_tokens_.Add(result.completion_tokens);
  if (session_turn) {
    session_queries_.Add(result.prompt_tokens);
    session_hits_.Add(result.cached_prompt_tokens);
  }
  queue_time_.Observe(absl::ToDoubleSeconds(result.queue_time));
  if (result.completion_tokens > 0) {
    time_to_first_token_.Observe(absl::ToDoubleSeconds(result.time_to_first_token));
  }
  if (result.completion_tokens > 1) {
    time_per_output_token_.Observe(absl::ToDoubleSeconds(result.decode_time) /
                                   static_cast<double>(result.completion_tokens - 1));
  }
  e2e_latency_.Observe(absl::ToDoubleSeconds(result.completion_tokens > 0
                                                 ? result.time_to_first_token + result.decode_time
                                                 : result.queue_time));
}

void ServiceMetrics::RecordEngineFailure() { finished_.At({"error"}).Increment(); }

void ServiceMetrics::RecordContextTruncation(int64_t dropped_tokens) {
  context_truncations_.Increment();
  context_dropped_tokens_.Add(dropped_tokens);
}

void ServiceMetrics::RecordSessionCommit(absl::string_view outcome, double seconds) {
  session_commits_.At({std::string(outcome)}).Increment();
  session_commit_time_.Observe(seconds);
}

void ServiceMetrics::RecordRpc(absl::string_view method, int grpc_status_code) {
  rpcs_.At({std::string(method), GrpcStatusCodeName(grpc_status_code)}).Increment();
}

std::string ServiceMetrics::Render(const ScrapeInputs& inputs) const {
  PrometheusText out;
  out.Family("minimind_request_finished_total", "counter",
             "Requests the engine finished, by finish reason (error: failed after admission).");
  for (const auto& [labels, value] : finished_.Values()) {
    out.Sample("minimind_request_finished_total", {{"finish_reason", labels[0]}},
               static_cast<double>(value));
  }
  out.Family("minimind_grpc_requests_total", "counter",
             "gRPC calls by full method name and final status code.");
  for (const auto& [labels, value] : rpcs_.Values()) {
    out.Sample("minimind_grpc_requests_total", {{"method", labels[0]}, {"code", labels[1]}},
               static_cast<double>(value));
  }
  out.Counter("minimind_prompt_tokens_total", "Prompt tokens of finished requests.",
              prompt_tokens_.value());
  out.Counter("minimind_cached_prompt_tokens_total",
              "Prompt tokens of finished requests whose KV came from a cache (prefix or session).",
              cached_prompt_tokens_.value());
  out.Counter("minimind_generation_tokens_total", "Tokens generated by finished requests.",
              generation_tokens_.value());
  out.Counter("minimind_session_cache_queries_total",
              "Prompt tokens of finished session turns (the session-cache hit rate's denominator).",
              session_queries_.value());
  out.Counter("minimind_session_cache_hits_total",
              "Prompt tokens of finished session turns served from cached KV.",
              session_hits_.value());
  out.Family("minimind_session_turn_commits_total", "counter",
             "Finished session turns by commit outcome: saved, or why the turn was not saved "
             "(the reply was delivered with usage.session_saved false).");
  for (const auto& [labels, value] : session_commits_.Values()) {
    out.Sample("minimind_session_turn_commits_total", {{"outcome", labels[0]}},
               static_cast<double>(value));
  }
  out.Counter("minimind_context_truncations_total",
              "Requests whose oldest turns left the context window (context_overflow truncate).",
              context_truncations_.value());
  out.Counter("minimind_context_dropped_tokens_total", "Prompt tokens those truncations saved.",
              context_dropped_tokens_.value());
  out.Histogram("minimind_session_turn_commit_seconds",
                "Time from a session turn's end in the engine to its commit's outcome.",
                session_commit_time_.Read());
  out.Histogram("minimind_request_queue_time_seconds",
                "Time from submission to first admission into the running batch.",
                queue_time_.Read());
  out.Histogram("minimind_time_to_first_token_seconds",
                "Time from submission to the first generated token.", time_to_first_token_.Read());
  out.Histogram("minimind_time_per_output_token_seconds",
                "Decode time per generated token after the first.", time_per_output_token_.Read());
  out.Histogram("minimind_e2e_request_latency_seconds",
                "Time from submission to the request's end.", e2e_latency_.Read());

  if (inputs.kv_spill.has_value()) {
    const KvSpillStats& spill = *inputs.kv_spill;
    out.Gauge("minimind_kv_spill_files", "Session KV files in the spill directory.",
              static_cast<double>(spill.files));
    out.Gauge("minimind_kv_spill_bytes", "Bytes of those files.", static_cast<double>(spill.bytes));
    out.Gauge("minimind_kv_spill_budget_bytes", "The spill directory's byte budget.",
              static_cast<double>(spill.budget_bytes));
    out.Counter("minimind_kv_spilled_files_total",
                "Session KV written to the spill tier (pin cap drops, drain).",
                spill.spilled_files);
    out.Counter("minimind_kv_spilled_bytes_total", "Bytes written.", spill.spilled_bytes);
    out.Counter("minimind_kv_restored_files_total",
                "Session turns that resumed from spilled KV instead of prefilling the history.",
                spill.restored_files);
    out.Counter("minimind_kv_restored_bytes_total", "Bytes read for them.", spill.restored_bytes);
    out.Family("minimind_kv_restore_seconds_total", "counter",
               "Time spent restoring (read, check, import): divide by restored files.");
    out.Sample("minimind_kv_restore_seconds_total", {}, spill.restore_seconds);
    out.Counter("minimind_kv_spill_restore_misses_total",
                "Turns without KV that found no usable spill file (or no pool room).",
                spill.restore_misses);
    out.Counter("minimind_kv_spill_corrupt_files_total",
                "Torn or corrupt spill files detected (deleted; the turn recomputed).",
                spill.corrupt_files);
    out.Counter("minimind_kv_spill_foreign_files_total",
                "Spill files of another model or KV layout (ignored).", spill.foreign_files);
    out.Counter("minimind_kv_spill_stale_files_total",
                "Spill files whose tokens no longer prefix the session's (deleted).",
                spill.stale_files);
    out.Counter("minimind_kv_spill_write_errors_total",
                "Spill writes that failed (e.g. ENOSPC) or exceeded the budget.",
                spill.write_errors);
    out.Counter("minimind_kv_spill_evicted_files_total",
                "Spill files deleted to stay within the budget.", spill.evicted_files);
  }
  if (inputs.constraints.has_value()) {
    const ConstraintCompilerStats& constraints = *inputs.constraints;
    out.Counter("minimind_constraint_compiles_total",
                "Structured-output constraints compiled (JSON Schema, JSON object, regex, choice).",
                constraints.compiled);
    out.Counter("minimind_constraint_cache_hits_total",
                "Requests whose constraint was already compiled.", constraints.cache_hits);
    out.Family("minimind_constraint_compile_seconds_total", "counter",
               "Time spent compiling constraints: divide by compiles.");
    out.Sample("minimind_constraint_compile_seconds_total", {}, constraints.compile_seconds);
    out.Gauge("minimind_constraints_cached", "Compiled constraints kept for reuse.",
              static_cast<double>(constraints.cached));
    out.Gauge("minimind_constraint_cache_bytes",
              "Bytes the cached constraints held when the last one was compiled "
              "(--constraint-cache-memory bounds it).",
              static_cast<double>(constraints.cached_bytes));
    out.Counter("minimind_constraint_cache_evictions_total",
                "Compiled constraints dropped from the cache (entries or bytes over the limit).",
                constraints.evicted);
  }
  if (inputs.engine.has_value()) {
    const EngineStats& engine = *inputs.engine;
    out.Gauge("minimind_num_requests_running", "Sequences in the running batch.",
              static_cast<double>(engine.running));
    out.Gauge("minimind_num_requests_waiting", "Requests waiting for admission (or preempted).",
              static_cast<double>(engine.waiting));
    out.Gauge("minimind_kv_blocks_total", "KV blocks in the pool.",
              static_cast<double>(engine.kv.blocks_total));
    out.Gauge("minimind_kv_blocks_used", "KV blocks referenced by sequences or retained handles.",
              static_cast<double>(engine.kv.blocks_used));
    out.Gauge("minimind_kv_blocks_free", "KV blocks on the free list.",
              static_cast<double>(engine.kv.blocks_free));
    out.Gauge("minimind_kv_blocks_cached",
              "Unreferenced KV blocks kept by the prefix cache (reclaimable).",
              static_cast<double>(engine.kv.blocks_cached));
    out.Counter("minimind_prefix_cache_queries_total",
                "Prompt tokens offered to the prefix cache at admission.", engine.kv.lookup_tokens);
    out.Counter("minimind_prefix_cache_hits_total",
                "Prompt tokens whose KV the prefix cache supplied.", engine.kv.hit_tokens);
    out.Counter("minimind_kv_evictions_total", "Cached prefix blocks reclaimed for new sequences.",
                engine.kv.evictions);
    out.Counter("minimind_preemptions_total",
                "Sequences evicted from the batch to free KV (recomputed later).",
                engine.preemptions);
    out.Counter("minimind_engine_steps_total", "Batched forward passes run.", engine.steps);
  }
  if (inputs.sessions.has_value()) {
    const SessionStoreStats& sessions = *inputs.sessions;
    out.Gauge("minimind_sessions_active", "Live sessions.", static_cast<double>(sessions.sessions));
    out.Gauge("minimind_session_kv_blocks_pinned",
              "KV blocks sessions keep between turns (each shared handle once).",
              static_cast<double>(sessions.pinned_kv_blocks));
    out.Counter("minimind_sessions_created_total", "Sessions created (forks included).",
                sessions.created);
    out.Counter("minimind_sessions_expired_total", "Sessions removed after their idle TTL.",
                sessions.evicted_ttl);
    out.Counter("minimind_sessions_evicted_total",
                "Idle sessions evicted at the max-sessions limit.", sessions.evicted_lru);
    out.Counter("minimind_sessions_deleted_total", "Sessions deleted by clients.",
                sessions.deleted);
  }
  if (inputs.model.has_value()) {
    out.Family("minimind_model_info", "gauge", "The served model; the value is always 1.");
    out.Sample("minimind_model_info",
               {{"model", inputs.model->model},
                {"architecture", inputs.model->architecture},
                {"kv_cache_dtype", inputs.model->kv_cache_dtype},
                {"version", inputs.model->version}},
               1);
  }
  out.Gauge("minimind_draining", "1 while the server drains after SIGTERM.",
            inputs.draining ? 1 : 0);
  return out.text();
}

}  // namespace minimind
