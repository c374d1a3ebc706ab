// Acceptance for the engine loop's accounting: 10,000 mixed requests — random prompt and output
// lengths, shared prefixes, retained KV, random cancellations, a pool small enough to force
// preemption — each finish exactly once, and afterwards no block is in use and the pool's
// counters add up exactly.
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "engine/scheduler/engine.h"
#include "gtest/gtest.h"
#include "tests/engine/scheduler/engine_test_support.h"

namespace minimind {
namespace {

using ::minimind::testing::MakeEngine;
using ::minimind::testing::MakePrompt;
using ::minimind::testing::RecordingSink;
using ::minimind::testing::TinyEngineOptions;

TEST(EngineLoopTest, TenThousandMixedRequestsLeaveThePoolExact) {
  constexpr int kRequests = 10000;
  EngineOptions options = TinyEngineOptions(96, KvElementType::kF32, /*block_size=*/8);
  options.max_step_tokens = 64;
  options.max_waiting = 256;
  std::unique_ptr<Engine> engine = MakeEngine(options);
  std::mt19937_64 random(42);
  const std::vector<int32_t> shared_prefix = MakePrompt(9, 40);
  std::vector<std::shared_ptr<RecordingSink>> sinks;
  std::vector<std::shared_ptr<const KvHandle>> handles;
  int64_t cancels_sent = 0;
  int64_t retained = 0;
  for (int i = 0; i < kRequests; ++i) {
    GenerationRequest request;
    request.request_id = absl::StrCat("m", i);
    const int64_t length = 1 + static_cast<int64_t>(random() % 60);
    request.prompt_tokens = MakePrompt(i, length);
    if (random() % 3 == 0) {  // Shares a cached prefix with others.
      request.prompt_tokens.insert(request.prompt_tokens.begin(), shared_prefix.begin(),
                                   shared_prefix.begin() + static_cast<int64_t>(random() % 40));
    }
    request.params.temperature = (random() % 2) ? 0.0f : 1.0f;
    request.params.seed = random();
    request.params.max_tokens = 1 + static_cast<int32_t>(random() % 24);
    request.params.ignore_eos = random() % 2;
    request.cache_salt = random() % 2;
    request.use_prefix_cache = random() % 4 != 0;
    request.retain_kv = random() % 10 == 0;
    auto sink = std::make_shared<RecordingSink>();
    sink->drop_kv = random() % 4 != 0;
    absl::Status status = engine->Submit(request, sink);
    while (absl::IsResourceExhausted(status)) {  // Waiting queue full: back off.
      absl::SleepFor(absl::Microseconds(200));
      status = engine->Submit(request, sink);
    }
    ASSERT_TRUE(status.ok()) << status;
    sinks.push_back(sink);
    if (random() % 8 == 0) {
      const int target = static_cast<int>(random() % sinks.size());
      cancels_sent += engine->Cancel(absl::StrCat("m", target)) ? 1 : 0;
    }
    // Now and then, take the retained handles finished so far and drop the previous ones.
    if (i % 50 == 49) {
      handles.clear();
      for (const auto& done : sinks) {
        if (std::shared_ptr<const KvHandle> kv = done->TakeKv()) handles.push_back(std::move(kv));
      }
      retained += static_cast<int64_t>(handles.size());
    }
  }
  int64_t cancelled = 0, completed = 0, failed = 0, tokens = 0;
  for (const auto& sink : sinks) {
    ASSERT_TRUE(sink->WaitFor(absl::Seconds(60)));
    EXPECT_EQ(sink->num_finishes(), 1);
    const absl::StatusOr<GenerationResult>& result = sink->Wait();
    if (!result.ok()) {
      ++failed;
      continue;
    }
    EXPECT_EQ(result->output_tokens, sink->tokens());
    tokens += result->completion_tokens;
    if (result->finish_reason == FinishReason::kCancelled) {
      ++cancelled;
    } else {
      ++completed;
    }
  }
  handles.clear();
  for (auto& sink : sinks) {
    if (sink->dropped_kv()) ++retained;
    sink.reset();  // Drops the results' remaining KvHandles too.
  }
  EXPECT_EQ(failed, 0);
  EXPECT_GT(cancelled, 0);
  EXPECT_LE(cancelled, cancels_sent);
  EXPECT_GT(retained, 0);

  EngineStats stats;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  do {
    absl::SleepFor(absl::Milliseconds(2));
    stats = engine->Stats();
  } while ((stats.retained_handles != 0 || stats.kv.blocks_used != 0) && absl::Now() < deadline);
  EXPECT_EQ(stats.running, 0);
  EXPECT_EQ(stats.waiting, 0);
  EXPECT_EQ(stats.completed, completed);
  EXPECT_EQ(stats.cancelled, cancelled);
  EXPECT_EQ(stats.failed, 0);
  EXPECT_EQ(stats.tokens_generated, tokens);
  EXPECT_EQ(stats.retained_handles, 0);
  EXPECT_EQ(stats.kv.blocks_used, 0);
  EXPECT_EQ(stats.kv.blocks_total, engine->kv_num_blocks());
  EXPECT_EQ(stats.kv.blocks_free + stats.kv.blocks_cached, stats.kv.blocks_total);
  EXPECT_GT(stats.kv.hit_tokens, 0);
  EXPECT_GT(stats.preemptions, 0);
}

}  // namespace
}  // namespace minimind
