// Engine behaviour: results match an engine-free reference, validation errors, admission under
// a small KV budget, preemption, cancellation, retained KV and resume, prompt logprobs.
#include "engine/scheduler/engine.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/engine/scheduler/engine_test_support.h"

namespace minimind {
namespace {

using ::minimind::testing::GenerateReference;
using ::minimind::testing::MakeEngine;
using ::minimind::testing::MakePrompt;
using ::minimind::testing::RecordingSink;
using ::minimind::testing::TinyBundle;
using ::minimind::testing::TinyEngineOptions;
using ::testing::HasSubstr;

GenerationRequest MakeRequest(const std::string& id, std::vector<int32_t> prompt,
                              int32_t max_tokens, uint64_t seed) {
  GenerationRequest request;
  request.request_id = id;
  request.prompt_tokens = std::move(prompt);
  request.params.temperature = 0.9f;
  request.params.seed = seed;
  request.params.max_tokens = max_tokens;
  request.params.ignore_eos = true;
  request.params.logprobs = true;
  request.params.top_logprobs = 2;
  return request;
}

// Waits until the published stats satisfy `done` (they are refreshed at the end of every step).
template <typename Predicate>
EngineStats WaitForStats(const Engine& engine, Predicate done) {
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  EngineStats stats = engine.Stats();
  while (!done(stats) && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
    stats = engine.Stats();
  }
  return stats;
}

TEST(EngineTest, MatchesEngineFreeReference) {
  std::unique_ptr<Engine> engine = MakeEngine(TinyEngineOptions(64));
  GenerationRequest request = MakeRequest("a", MakePrompt(1, 37), 20, 11);
  const testing::ReferenceOutput expected = GenerateReference(request);
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_TRUE(engine->Submit(request, sink).ok());
  const absl::StatusOr<GenerationResult>& result = sink->Wait();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->finish_reason, FinishReason::kLength);
  EXPECT_EQ(result->prompt_tokens, 37);
  EXPECT_EQ(result->completion_tokens, 20);
  EXPECT_EQ(result->output_tokens, expected.tokens);
  EXPECT_EQ(sink->tokens(), expected.tokens);
  EXPECT_EQ(sink->sampled(), expected.sampled);
  EXPECT_EQ(sink->num_finishes(), 1);
}

TEST(EngineTest, StopsAtEndOfSequenceLikeTheReference) {
  std::unique_ptr<Engine> engine = MakeEngine(TinyEngineOptions(64));
  // High temperature over a byte vocabulary: some seeds hit an eos id (0 or 2) early.
  for (uint64_t seed = 0; seed < 6; ++seed) {
    GenerationRequest request = MakeRequest(absl::StrCat("r", seed), MakePrompt(seed, 9), 40, seed);
    request.params.ignore_eos = false;
    request.params.temperature = 3.0f;
    const testing::ReferenceOutput expected = GenerateReference(request);
    auto sink = std::make_shared<RecordingSink>();
    ASSERT_TRUE(engine->Submit(request, sink).ok());
    ASSERT_TRUE(sink->Wait().ok());
    EXPECT_EQ(sink->Wait()->output_tokens, expected.tokens) << "seed " << seed;
  }
}

TEST(EngineTest, RejectsInvalidRequestsWithoutCallingTheSink) {
  std::unique_ptr<Engine> engine = MakeEngine(TinyEngineOptions(64));
  auto sink = std::make_shared<RecordingSink>();

  GenerationRequest empty = MakeRequest("e", {}, 4, 1);
  EXPECT_EQ(engine->Submit(empty, sink).code(), absl::StatusCode::kInvalidArgument);

  GenerationRequest bad_id = MakeRequest("b", {5, 259, 6}, 4, 1);
  absl::Status status = engine->Submit(bad_id, sink);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("259"));

  GenerationRequest bad_params = MakeRequest("p", {5, 6}, 4, 1);
  bad_params.params.top_p = 0.0f;
  status = engine->Submit(bad_params, sink);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("top_p"));

  GenerationRequest no_id = MakeRequest("", {5, 6}, 4, 1);
  EXPECT_EQ(engine->Submit(no_id, sink).code(), absl::StatusCode::kInvalidArgument);

  GenerationRequest bad_stop = MakeRequest("s", {5, 6}, 4, 1);
  bad_stop.params.stop_token_ids = {3, 259};
  status = engine->Submit(bad_stop, sink);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              HasSubstr("stop_token_ids[1] must be in [0, 259) (the model's vocabulary), got 259"));

  absl::SleepFor(absl::Milliseconds(20));
  EXPECT_EQ(sink->num_deltas(), 0);
  EXPECT_EQ(sink->num_finishes(), 0);
}

// Options out of range are refused by name, with the value given.
TEST(EngineTest, OptionsOutOfRangeAreInvalidArgument) {
  const auto refused = [](void (*set)(EngineOptions&), const char* message) {
    EngineOptions options = TinyEngineOptions(8);
    set(options);
    const absl::StatusOr<std::unique_ptr<Engine>> engine =
        Engine::Create(TinyBundle().model, TinyBundle().tokenizer, options);
    EXPECT_EQ(engine.status().code(), absl::StatusCode::kInvalidArgument) << message;
    EXPECT_THAT(engine.status().message(), HasSubstr(message));
  };
  refused([](EngineOptions& o) { o.max_running = 0; }, "max_running must be at least 1, got 0");
  refused([](EngineOptions& o) { o.max_step_tokens = 0; },
          "max_step_tokens must be at least 1, got 0");
  refused([](EngineOptions& o) { o.constraint_cache_bytes = -1; },
          "constraint_cache_bytes must be at least 0, got -1");
  refused([](EngineOptions& o) { o.max_waiting_per_tenant = -2; },
          "max_waiting_per_tenant must not be negative");
}

// A RecordingSink whose first OnDelta holds the engine thread until Open: the request stays live
// however fast the machine (or however slowly the test thread gets the CPU).
class GatedSink : public RecordingSink {
 public:
  void OnDelta(const TokenDelta& delta) override {
    {
      absl::MutexLock lock(&gate_mutex_);
      entered_ = true;
      gate_mutex_.Await(absl::Condition(&open_));
    }
    RecordingSink::OnDelta(delta);
  }
  void WaitEntered() {
    absl::MutexLock lock(&gate_mutex_);
    gate_mutex_.Await(absl::Condition(&entered_));
  }
  void Open() {
    absl::MutexLock lock(&gate_mutex_);
    open_ = true;
  }

 private:
  absl::Mutex gate_mutex_;
  bool entered_ = false;
  bool open_ = false;
};

TEST(EngineTest, RejectsDuplicateLiveRequestIdsAndAllowsReuseAfterFinish) {
  std::unique_ptr<Engine> engine = MakeEngine(TinyEngineOptions(64));
  auto first = std::make_shared<GatedSink>();
  ASSERT_TRUE(engine->Submit(MakeRequest("same", MakePrompt(2, 8), 500, 1), first).ok());
  first->WaitEntered();  // running, and held at its first token
  auto second = std::make_shared<RecordingSink>();
  absl::Status duplicate = engine->Submit(MakeRequest("same", MakePrompt(3, 8), 4, 1), second);
  EXPECT_EQ(duplicate.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(duplicate.message(), HasSubstr("same"));
  engine->Cancel("same");
  first->Open();
  ASSERT_TRUE(first->Wait().ok());
  ASSERT_TRUE(engine->Submit(MakeRequest("same", MakePrompt(3, 8), 4, 1), second).ok());
  EXPECT_TRUE(second->Wait().ok());
}

TEST(EngineTest, NeverFittingRequestIsResourceExhaustedWithNeedAndBudget) {
  std::unique_ptr<Engine> engine = MakeEngine(TinyEngineOptions(8));  // 8 blocks = 128 positions
  auto sink = std::make_shared<RecordingSink>();
  // 120 + 20 - 1 = 139 positions = 9 blocks > 8.
  absl::Status status = engine->Submit(MakeRequest("big", MakePrompt(4, 120), 20, 1), sink);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(status.message(),
              HasSubstr("prompt of 120 tokens + max_tokens 20 needs 9 KV blocks"));
  EXPECT_THAT(status.message(), HasSubstr("the KV budget holds 8 blocks"));
  EXPECT_THAT(status.message(), HasSubstr("MB"));
  // Exactly at the budget it is accepted: 120 + 9 - 1 = 128 positions.
  EXPECT_TRUE(engine->Submit(MakeRequest("fits", MakePrompt(4, 120), 9, 1), sink).ok());
  EXPECT_TRUE(sink->Wait().ok());

  // The context limit (max_position_embeddings 512).
  std::unique_ptr<Engine> large = MakeEngine(TinyEngineOptions(256));
  status = large->Submit(MakeRequest("ctx", MakePrompt(5, 500), 20, 1),
                         std::make_shared<RecordingSink>());
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(status.message(), HasSubstr("context limit of 512"));
}

TEST(EngineTest, MaxNewTokensIsExactlyTheLargestAcceptedMaxTokens) {
  // KV-bound: 8 blocks = 128 positions; the context (512) is larger.
  std::unique_ptr<Engine> small = MakeEngine(TinyEngineOptions(8));
  EXPECT_EQ(small->max_context(), 512);
  EXPECT_EQ(small->MaxNewTokens(120), 9);
  // Context-bound: 256 blocks = 4096 positions.
  std::unique_ptr<Engine> large = MakeEngine(TinyEngineOptions(256));
  EXPECT_EQ(large->MaxNewTokens(500), 12);
  EXPECT_EQ(large->MaxNewTokens(512), 0);
  for (Engine* engine : {small.get(), large.get()}) {
    for (int prompt : {1, 100, 120, 127, 128, 500, 511}) {
      const int64_t room = engine->MaxNewTokens(prompt);
      if (room >= 1) {
        auto sink = std::make_shared<RecordingSink>();
        EXPECT_TRUE(engine->Submit(MakeRequest("fits", MakePrompt(6, prompt), room, 1), sink).ok())
            << prompt;
        EXPECT_TRUE(sink->Wait().ok()) << prompt;
      }
      EXPECT_EQ(engine
                    ->Submit(MakeRequest("over", MakePrompt(6, prompt), room + 1, 1),
                             std::make_shared<RecordingSink>())
                    .code(),
                absl::StatusCode::kResourceExhausted)
          << prompt;
    }
  }
}

TEST(EngineTest, RequestsBeyondKvCapacityWaitAndComplete) {
  // 12 blocks; each request needs 3 blocks (40 + 8 - 1 = 47 positions): at most 4 at a time.
  EngineOptions options = TinyEngineOptions(12);
  std::unique_ptr<Engine> engine = MakeEngine(options);
  std::vector<GenerationRequest> requests;
  std::vector<std::shared_ptr<RecordingSink>> sinks;
  for (int i = 0; i < 16; ++i) {
    requests.push_back(MakeRequest(absl::StrCat("q", i), MakePrompt(100 + i, 40), 8, i));
    sinks.push_back(std::make_shared<RecordingSink>());
    ASSERT_TRUE(engine->Submit(requests.back(), sinks.back()).ok());
  }
  for (int i = 0; i < 16; ++i) {
    const absl::StatusOr<GenerationResult>& result = sinks[i]->Wait();
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->output_tokens, GenerateReference(requests[i]).tokens) << i;
  }
  const EngineStats stats = WaitForStats(
      *engine, [](const EngineStats& s) { return s.completed == 16 && s.running == 0; });
  EXPECT_EQ(stats.completed, 16);
  EXPECT_EQ(stats.kv.blocks_used, 0);
  EXPECT_EQ(stats.kv.blocks_free + stats.kv.blocks_cached, stats.kv.blocks_total);
}

TEST(EngineTest, PreemptsUnderATightBudgetAndOutputStaysIdentical) {
  // 8 blocks of 4 positions = 32 positions; 6 requests of 6 + 24 tokens each need 8 blocks alone.
  EngineOptions options = TinyEngineOptions(8, KvElementType::kF32, /*block_size=*/4);
  options.max_step_tokens = 8;
  std::unique_ptr<Engine> engine = MakeEngine(options);
  std::vector<GenerationRequest> requests;
  std::vector<std::shared_ptr<RecordingSink>> sinks;
  for (int i = 0; i < 6; ++i) {
    requests.push_back(MakeRequest(absl::StrCat("p", i), MakePrompt(200 + i, 6), 24, 50 + i));
    sinks.push_back(std::make_shared<RecordingSink>());
    ASSERT_TRUE(engine->Submit(requests.back(), sinks.back()).ok());
  }
  for (int i = 0; i < 6; ++i) {
    const absl::StatusOr<GenerationResult>& result = sinks[i]->Wait();
    ASSERT_TRUE(result.ok()) << result.status();
    const testing::ReferenceOutput expected = GenerateReference(requests[i]);
    EXPECT_EQ(result->output_tokens, expected.tokens) << i;
    EXPECT_EQ(sinks[i]->sampled(), expected.sampled) << i;
  }
  const EngineStats stats =
      WaitForStats(*engine, [](const EngineStats& s) { return s.completed == 6; });
  EXPECT_GT(stats.preemptions, 0);
  EXPECT_EQ(stats.kv.blocks_used, 0);
}

TEST(EngineTest, CancellationFreesBlocksByTheEndOfTheStep) {
  std::unique_ptr<Engine> engine = MakeEngine(TinyEngineOptions(64));
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_TRUE(engine->Submit(MakeRequest("c", MakePrompt(9, 50), 400, 3), sink).ok());
  WaitForStats(*engine, [](const EngineStats& s) { return s.tokens_generated >= 3; });
  EXPECT_GT(engine->Stats().kv.blocks_used, 0);
  EXPECT_TRUE(engine->Cancel("c"));
  const absl::StatusOr<GenerationResult>& result = sink->Wait();
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->finish_reason, FinishReason::kCancelled);
  EXPECT_GE(result->completion_tokens, 3);
  EXPECT_LT(result->completion_tokens, 400);
  EXPECT_EQ(result->output_tokens, sink->tokens());
  // The first snapshot that counts the cancellation is published at the end of that step.
  const EngineStats stats =
      WaitForStats(*engine, [](const EngineStats& s) { return s.cancelled == 1; });
  EXPECT_EQ(stats.cancelled, 1);
  EXPECT_EQ(stats.running, 0);
  EXPECT_EQ(stats.kv.blocks_used, 0);
  EXPECT_FALSE(engine->Cancel("c"));
  EXPECT_FALSE(engine->Cancel("unknown"));
}

TEST(EngineTest, CancelAllEndsRunningAndQueuedRequestsAndFreesTheirBlocks) {
  EngineOptions options = TinyEngineOptions(64);
  options.max_running = 1;
  std::unique_ptr<Engine> engine = MakeEngine(options);
  auto running = std::make_shared<RecordingSink>();
  auto queued = std::make_shared<RecordingSink>();
  const auto longest = static_cast<int32_t>(engine->MaxNewTokens(10));
  ASSERT_TRUE(engine->Submit(MakeRequest("r", MakePrompt(1, 10), longest, 1), running).ok());
  ASSERT_TRUE(engine->Submit(MakeRequest("q", MakePrompt(2, 10), longest, 1), queued).ok());
  EXPECT_EQ(engine->LiveRequests(), 2);
  WaitForStats(*engine, [](const EngineStats& s) { return s.tokens_generated >= 2; });

  EXPECT_EQ(engine->CancelAll(), 2);
  EXPECT_EQ(running->Wait()->finish_reason, FinishReason::kCancelled);
  EXPECT_EQ(queued->Wait()->finish_reason, FinishReason::kCancelled);
  const EngineStats stats =
      WaitForStats(*engine, [](const EngineStats& s) { return s.cancelled == 2; });
  EXPECT_EQ(stats.kv.blocks_used, 0);
  EXPECT_EQ(engine->LiveRequests(), 0);
  EXPECT_EQ(engine->CancelAll(), 0);
}

TEST(EngineTest, PrefixCacheCountsTheTokensItWasOfferedAndTheTokensItHit) {
  std::unique_ptr<Engine> engine = MakeEngine(TinyEngineOptions(64));
  const std::vector<int32_t> prompt = MakePrompt(7, 40);
  for (const char* id : {"first", "second"}) {
    auto sink = std::make_shared<RecordingSink>();
    ASSERT_TRUE(engine->Submit(MakeRequest(id, prompt, 2, 1), sink).ok());
    ASSERT_TRUE(sink->Wait().ok());
  }
  const EngineStats stats =
      WaitForStats(*engine, [](const EngineStats& s) { return s.completed == 2; });
  EXPECT_EQ(stats.kv.lookups, 2);
  EXPECT_EQ(stats.kv.lookup_tokens, 2 * 40);
  // The second request hits every full block of the first one's prompt but the last token's.
  const int64_t block = engine->kv_config().block_size;
  EXPECT_EQ(stats.kv.hit_tokens, (40 - 1) / block * block);
}

TEST(EngineTest, DestroyingTheEngineCancelsLiveRequests) {
  auto running = std::make_shared<RecordingSink>();
  auto queued = std::make_shared<RecordingSink>();
  {
    // As long as the context allows, so that a descheduled test thread cannot see "r" finish.
    EngineOptions options = TinyEngineOptions(64);
    options.max_running = 1;
    std::unique_ptr<Engine> engine = MakeEngine(options);
    const auto longest = static_cast<int32_t>(engine->MaxNewTokens(10));
    ASSERT_TRUE(engine->Submit(MakeRequest("r", MakePrompt(1, 10), longest, 1), running).ok());
    ASSERT_TRUE(engine->Submit(MakeRequest("q", MakePrompt(2, 10), longest, 1), queued).ok());
  }
  ASSERT_TRUE(running->finished() && queued->finished());
  EXPECT_EQ(running->Wait()->finish_reason, FinishReason::kCancelled);
  EXPECT_EQ(queued->Wait()->finish_reason, FinishReason::kCancelled);
}

TEST(EngineTest, RetainedKvResumesWithTheSameOutputAndIsReleased) {
  std::unique_ptr<Engine> engine = MakeEngine(TinyEngineOptions(64));
  GenerationRequest turn1 = MakeRequest("t1", MakePrompt(30, 21), 10, 5);
  turn1.retain_kv = true;
  auto sink1 = std::make_shared<RecordingSink>();
  ASSERT_TRUE(engine->Submit(turn1, sink1).ok());
  ASSERT_TRUE(sink1->Wait().ok());
  std::shared_ptr<const KvHandle> handle = sink1->TakeKv();
  ASSERT_NE(handle, nullptr);
  EXPECT_EQ(handle->num_tokens(), 21 + 10 - 1);
  EXPECT_EQ(handle->tokens()[21], sink1->tokens()[0]);
  EXPECT_EQ(handle->num_blocks(), 2);

  // Turn 2 continues the transcript: prompt = turn 1's prompt + output + new tokens.
  GenerationRequest turn2 = MakeRequest("t2", turn1.prompt_tokens, 12, 6);
  for (int32_t id : sink1->tokens()) turn2.prompt_tokens.push_back(id);
  for (int32_t id : MakePrompt(31, 7)) turn2.prompt_tokens.push_back(id);
  turn2.resume = handle;
  turn2.use_prefix_cache = false;
  auto sink2 = std::make_shared<RecordingSink>();
  ASSERT_TRUE(engine->Submit(turn2, sink2).ok());
  const absl::StatusOr<GenerationResult>& result = sink2->Wait();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->cached_prompt_tokens, 30);
  EXPECT_EQ(result->output_tokens, GenerateReference(turn2).tokens);

  EXPECT_GT(
      WaitForStats(*engine, [](const EngineStats& s) { return s.completed == 2; }).kv.blocks_used,
      0);  // The handle still pins its blocks.
  handle.reset();
  turn2.resume.reset();
  const EngineStats stats = WaitForStats(*engine, [](const EngineStats& s) {
    return s.retained_handles == 0 && s.kv.blocks_used == 0;
  });
  EXPECT_EQ(stats.retained_handles, 0);
  EXPECT_EQ(stats.kv.blocks_used, 0);
}

// The KV spill round trip: a retained handle exported (tokens and blocks), dropped, and imported
// into another engine of the same config resumes exactly as the original did: the same cached
// prompt tokens and bitwise the same output as a full recompute. Every KV element type.
TEST(EngineTest, ExportedKvImportsIntoAnotherEngineAndResumesBitwise) {
  for (const KvElementType type :
       {KvElementType::kF32, KvElementType::kBF16, KvElementType::kF16, KvElementType::kInt8}) {
    std::unique_ptr<Engine> engine = MakeEngine(TinyEngineOptions(64, type));
    GenerationRequest turn1 = MakeRequest("t1", MakePrompt(40, 37), 8, 5);
    turn1.retain_kv = true;
    auto sink1 = std::make_shared<RecordingSink>();
    ASSERT_TRUE(engine->Submit(turn1, sink1).ok());
    ASSERT_TRUE(sink1->Wait().ok());
    std::shared_ptr<const KvHandle> handle = sink1->TakeKv();
    ASSERT_NE(handle, nullptr);
    absl::StatusOr<KvSpill> spill = engine->ExportKv(*handle);
    ASSERT_TRUE(spill.ok()) << spill.status();
    EXPECT_EQ(spill->tokens, handle->tokens());
    EXPECT_EQ(static_cast<int64_t>(spill->blocks.size()),
              handle->num_blocks() * engine->kv_config().BytesPerBlock());
    handle.reset();
    engine.reset();  // The KV now lives only in `spill`.

    std::unique_ptr<Engine> restarted = MakeEngine(TinyEngineOptions(64, type));
    const int64_t held = static_cast<int64_t>(spill->tokens.size());
    GenerationRequest turn2 = MakeRequest("t2", spill->tokens, 10, 6);
    for (int32_t id : MakePrompt(41, 9)) turn2.prompt_tokens.push_back(id);
    turn2.use_prefix_cache = false;
    auto fresh = std::make_shared<RecordingSink>();
    ASSERT_TRUE(restarted->Submit(turn2, fresh).ok());
    ASSERT_TRUE(fresh->Wait().ok());
    EXPECT_EQ(fresh->Wait()->cached_prompt_tokens, 0);

    absl::StatusOr<std::shared_ptr<const KvHandle>> imported = restarted->ImportKv(*spill);
    ASSERT_TRUE(imported.ok()) << imported.status();
    EXPECT_EQ((*imported)->tokens(), spill->tokens);
    turn2.request_id = "t2-restored";
    turn2.resume = *imported;
    auto restored = std::make_shared<RecordingSink>();
    ASSERT_TRUE(restarted->Submit(turn2, restored).ok());
    const absl::StatusOr<GenerationResult>& result = restored->Wait();
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->cached_prompt_tokens, held);
    EXPECT_EQ(result->output_tokens, fresh->Wait()->output_tokens) << static_cast<int>(type);

    turn2.resume.reset();
    imported->reset();
    const EngineStats stats = WaitForStats(*restarted, [](const EngineStats& s) {
      return s.retained_handles == 0 && s.kv.blocks_used == 0;
    });
    EXPECT_EQ(stats.kv.blocks_used, 0);
  }
}

// ExportKv reads a held KV on the caller's thread while the engine runs: requests resuming from
// the same handle share its blocks (and copy its partial last block before writing), others
// allocate and free blocks around it. Every export taken meanwhile equals the one taken idle.
TEST(EngineTest, ExportWhileTheEngineRunsSeesTheHeldKvUnchanged) {
  std::unique_ptr<Engine> engine = MakeEngine(TinyEngineOptions(64));
  GenerationRequest turn1 = MakeRequest("t1", MakePrompt(40, 37), 8, 5);  // 45 positions held
  turn1.retain_kv = true;
  auto sink1 = std::make_shared<RecordingSink>();
  ASSERT_TRUE(engine->Submit(turn1, sink1).ok());
  ASSERT_TRUE(sink1->Wait().ok());
  std::shared_ptr<const KvHandle> handle = sink1->TakeKv();
  ASSERT_NE(handle, nullptr);
  const absl::StatusOr<KvSpill> idle = engine->ExportKv(*handle);
  ASSERT_TRUE(idle.ok()) << idle.status();

  std::vector<std::shared_ptr<RecordingSink>> sinks;
  for (int i = 0; i < 6; ++i) {
    GenerationRequest request =
        i % 2 == 0 ? MakeRequest(absl::StrCat("resume-", i), handle->tokens(), 40, 10 + i)
                   : MakeRequest(absl::StrCat("other-", i), MakePrompt(50 + i, 30), 40, 10 + i);
    if (i % 2 == 0) {
      for (int32_t id : MakePrompt(60 + i, 5)) request.prompt_tokens.push_back(id);
      request.resume = handle;
    }
    sinks.push_back(std::make_shared<RecordingSink>());
    ASSERT_TRUE(engine->Submit(request, sinks.back()).ok());
  }
  int exports = 0;
  while (engine->LiveRequests() > 0 || exports < 10) {
    absl::StatusOr<KvSpill> busy = engine->ExportKv(*handle);
    ASSERT_TRUE(busy.ok()) << busy.status();
    ASSERT_EQ(busy->tokens, idle->tokens);
    ASSERT_TRUE(busy->blocks == idle->blocks) << "export " << exports << " saw the KV change";
    ++exports;
  }
  for (const auto& sink : sinks) ASSERT_TRUE(sink->Wait().ok());
  EXPECT_GE(exports, 10);
}

TEST(EngineTest, ImportKvChecksItsBlocksAndTheEngine) {
  std::unique_ptr<Engine> engine = MakeEngine(TinyEngineOptions(4));
  KvSpill wrong;
  wrong.tokens = MakePrompt(1, 20);
  wrong.blocks.resize(3);
  EXPECT_EQ(engine->ImportKv(wrong).status().code(), absl::StatusCode::kInvalidArgument);
  KvSpill too_big;
  too_big.tokens = MakePrompt(1, 100);  // more blocks than the pool holds
  too_big.blocks.resize(engine->kv_config().BlocksFor(100) * engine->kv_config().BytesPerBlock());
  EXPECT_EQ(engine->ImportKv(too_big).status().code(), absl::StatusCode::kResourceExhausted);

  std::unique_ptr<Engine> other = MakeEngine(TinyEngineOptions(64));
  GenerationRequest request = MakeRequest("r", MakePrompt(2, 10), 3, 1);
  request.retain_kv = true;
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_TRUE(other->Submit(request, sink).ok());
  ASSERT_TRUE(sink->Wait().ok());
  std::shared_ptr<const KvHandle> foreign = sink->TakeKv();
  EXPECT_EQ(engine->ExportKv(*foreign).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(EngineTest, KvHandleOutlivingTheEngineIsSafe) {
  std::shared_ptr<const KvHandle> handle;
  {
    std::unique_ptr<Engine> engine = MakeEngine(TinyEngineOptions(16));
    GenerationRequest request = MakeRequest("h", MakePrompt(3, 20), 4, 1);
    request.retain_kv = true;
    auto sink = std::make_shared<RecordingSink>();
    ASSERT_TRUE(engine->Submit(request, sink).ok());
    ASSERT_TRUE(sink->Wait().ok());
    handle = sink->TakeKv();
  }
  ASSERT_NE(handle, nullptr);
  EXPECT_EQ(handle->num_tokens(), 23);
  handle.reset();  // Releases the blocks itself; the pool is kept alive by the handle.
}

TEST(EngineTest, PromptLogprobsAreTheSameChunkedOrNot) {
  GenerationRequest request = MakeRequest("lp", MakePrompt(40, 45), 3, 2);
  request.params.prompt_logprobs = 3;
  std::optional<std::vector<PromptTokenLogprobs>> reference;
  for (int64_t step_tokens : {256, 7}) {
    EngineOptions options = TinyEngineOptions(32);
    options.max_step_tokens = step_tokens;
    std::unique_ptr<Engine> engine = MakeEngine(options);
    // A cached prefix must not hide prompt logprobs.
    auto warm = std::make_shared<RecordingSink>();
    ASSERT_TRUE(engine->Submit(MakeRequest("warm", request.prompt_tokens, 2, 1), warm).ok());
    ASSERT_TRUE(warm->Wait().ok());
    auto sink = std::make_shared<RecordingSink>();
    ASSERT_TRUE(engine->Submit(request, sink).ok());
    const absl::StatusOr<GenerationResult>& result = sink->Wait();
    ASSERT_TRUE(result.ok()) << result.status();
    ASSERT_TRUE(result->prompt_logprobs.has_value());
    ASSERT_EQ(result->prompt_logprobs->size(), 44u);
    for (size_t i = 0; i < 44; ++i) {
      EXPECT_EQ((*result->prompt_logprobs)[i].id, request.prompt_tokens[i + 1]);
      EXPECT_EQ((*result->prompt_logprobs)[i].top.size(), 3u);
    }
    if (!reference.has_value()) {
      reference = result->prompt_logprobs;
    } else {
      EXPECT_EQ(*result->prompt_logprobs, *reference);
    }
  }
}

}  // namespace
}  // namespace minimind
