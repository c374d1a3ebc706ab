#include "service/metrics/service_metrics.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace minimind {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

GenerationResult Result(FinishReason reason, int64_t prompt, int64_t cached, int64_t completion) {
  GenerationResult result;
  result.finish_reason = reason;
  result.prompt_tokens = prompt;
  result.cached_prompt_tokens = cached;
  result.completion_tokens = completion;
  result.queue_time = absl::Milliseconds(2);
  result.time_to_first_token = absl::Milliseconds(20);
  result.decode_time = absl::Milliseconds(90);
  return result;
}

TEST(ServiceMetricsTest, ResultsMoveTheRequestAndTokenCounters) {
  ServiceMetrics metrics;
  metrics.RecordResult(Result(FinishReason::kLength, 30, 16, 10), /*session_turn=*/false);
  metrics.RecordResult(Result(FinishReason::kStop, 50, 40, 4), /*session_turn=*/true);
  metrics.RecordEngineFailure();
  metrics.RecordRpc("/minimind.v1.Inference/Complete", 0);
  metrics.RecordRpc("/minimind.v1.Inference/Complete", 3);
  const std::string text = metrics.Render({});
  EXPECT_THAT(text, HasSubstr("minimind_request_finished_total{finish_reason=\"length\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("minimind_request_finished_total{finish_reason=\"stop\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("minimind_request_finished_total{finish_reason=\"error\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("minimind_request_finished_total{finish_reason=\"cancelled\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("minimind_grpc_requests_total{method=\"/minimind.v1.Inference/"
                              "Complete\",code=\"INVALID_ARGUMENT\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("minimind_prompt_tokens_total 80\n"));
  EXPECT_THAT(text, HasSubstr("minimind_cached_prompt_tokens_total 56\n"));
  EXPECT_THAT(text, HasSubstr("minimind_generation_tokens_total 14\n"));
  EXPECT_THAT(text, HasSubstr("minimind_session_cache_queries_total 50\n"));
  EXPECT_THAT(text, HasSubstr("minimind_session_cache_hits_total 40\n"));
  EXPECT_THAT(text, HasSubstr("minimind_time_to_first_token_seconds_count 2\n"));
  // 90 ms over 9 and over 3 tokens after the first.
  EXPECT_THAT(text, HasSubstr("minimind_time_per_output_token_seconds_sum 0.04\n"));
  EXPECT_THAT(text, HasSubstr("minimind_e2e_request_latency_seconds_sum 0.22\n"));
  // Without a served model there is nothing to say about the engine or sessions.
  EXPECT_THAT(text, Not(HasSubstr("minimind_kv_blocks_total")));
  EXPECT_THAT(text, Not(HasSubstr("minimind_sessions_active")));
  EXPECT_THAT(text, HasSubstr("minimind_draining 0\n"));
}

TEST(ServiceMetricsTest, EngineAndSessionSnapshotsBecomeGauges) {
  ServiceMetrics metrics;
  ScrapeInputs inputs;
  EngineStats engine;
  engine.running = 3;
  engine.waiting = 2;
  engine.preemptions = 5;
  engine.kv.blocks_total = 100;
  engine.kv.blocks_used = 60;
  engine.kv.blocks_free = 30;
  engine.kv.blocks_cached = 10;
  engine.kv.lookup_tokens = 900;
  engine.kv.hit_tokens = 320;
  inputs.engine = engine;
  SessionStoreStats sessions;
  sessions.sessions = 7;
  sessions.created = 9;
  sessions.evicted_ttl = 1;
  sessions.evicted_lru = 1;
  inputs.sessions = sessions;
  inputs.model = ModelInfoLabels{"tiny", "qwen3", "int8", "0.1.0"};
  inputs.draining = true;
  const std::string text = metrics.Render(inputs);
  for (const char* line :
       {"minimind_num_requests_running 3\n", "minimind_num_requests_waiting 2\n",
        "minimind_kv_blocks_used 60\n", "minimind_kv_blocks_free 30\n",
        "minimind_kv_blocks_cached 10\n", "minimind_prefix_cache_queries_total 900\n",
        "minimind_prefix_cache_hits_total 320\n", "minimind_preemptions_total 5\n",
        "minimind_sessions_active 7\n", "minimind_sessions_created_total 9\n",
        "minimind_sessions_expired_total 1\n", "minimind_sessions_evicted_total 1\n",
        "minimind_model_info{model=\"tiny\",architecture=\"qwen3\",kv_cache_dtype=\"int8\","
        "version=\"0.1.0\"} 1\n",
        "minimind_draining 1\n"}) {
    EXPECT_THAT(text, HasSubstr(line));
  }
}

TEST(ServiceMetricsTest, StatusCodeNames) {
  EXPECT_EQ(GrpcStatusCodeName(0), "OK");
  EXPECT_EQ(GrpcStatusCodeName(14), "UNAVAILABLE");
  EXPECT_EQ(GrpcStatusCodeName(16), "UNAUTHENTICATED");
  EXPECT_EQ(GrpcStatusCodeName(42), "42");
}

}  // namespace
}  // namespace minimind
