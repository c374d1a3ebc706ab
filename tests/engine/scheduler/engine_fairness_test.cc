// Multi-tenant scheduling: fair admission across tenants (a flood from one tenant does not delay
// another's admission, batch slot or prefill chunk), per-tenant KV block limits (Submit rejects
// what can never fit, a tenant at its limit waits while others run, growing past the limit
// preempts only within the tenant) — with every output equal to the request run alone.
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "engine/scheduler/engine.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/engine/scheduler/engine_test_support.h"

namespace minimind {
namespace {

using ::minimind::testing::GenerateReference;
using ::minimind::testing::MakeEngine;
using ::minimind::testing::MakePrompt;
using ::minimind::testing::RecordingSink;
using ::minimind::testing::TinyEngineOptions;
using ::testing::HasSubstr;

GenerationRequest TenantRequest(const std::string& tenant, int index, int64_t prompt_length,
                                int32_t max_tokens, int64_t kv_block_limit = 0) {
  GenerationRequest request;
  request.request_id = absl::StrCat(tenant, index);
  request.tenant = tenant;
  request.tenant_kv_block_limit = kv_block_limit;
  request.prompt_tokens = MakePrompt(tenant == "a" ? 100 + index : 500 + index, prompt_length);
  request.params.temperature = 0.9f;
  request.params.seed = 17 + index;
  request.params.max_tokens = max_tokens;
  request.params.ignore_eos = true;
  request.params.logprobs = true;
  return request;
}

// Numbers the engine's callbacks (all made on the engine thread) in the order they happen, so a
// test can tell what happened before what without depending on timing.
class EventClock {
 public:
  int64_t Tick() { return next_.fetch_add(1); }

 private:
  std::atomic<int64_t> next_{0};
};

class OrderedSink : public RecordingSink {
 public:
  explicit OrderedSink(EventClock& clock) : clock_(clock) {}
  void OnDelta(const TokenDelta& delta) override {
    {
      absl::MutexLock lock(&mutex_);
      if (first_token_ < 0 && !delta.token_ids.empty()) first_token_ = clock_.Tick();
    }
    RecordingSink::OnDelta(delta);
    if (on_delta) on_delta(static_cast<int64_t>(tokens().size()));
  }
  // Set before Submit: runs on the engine thread after each delta, with the tokens so far (a
  // test submits or blocks at a chosen point of the engine's progress).
  std::function<void(int64_t)> on_delta;
  void OnFinish(absl::StatusOr<GenerationResult> result) override {
    {
      absl::MutexLock lock(&mutex_);
      finish_ = clock_.Tick();
    }
    RecordingSink::OnFinish(std::move(result));
  }
  int64_t first_token() const {
    absl::MutexLock lock(&mutex_);
    return first_token_;
  }
  int64_t finish() const {
    absl::MutexLock lock(&mutex_);
    return finish_;
  }

 private:
  EventClock& clock_;
  mutable absl::Mutex mutex_;
  int64_t first_token_ = -1;
  int64_t finish_ = -1;
};

struct Submitted {
  GenerationRequest request;
  std::shared_ptr<OrderedSink> sink;
};

Submitted SubmitTo(Engine& engine, EventClock& clock, GenerationRequest request,
                   std::function<void(int64_t)> on_delta = nullptr) {
  Submitted submitted{.request = request, .sink = std::make_shared<OrderedSink>(clock)};
  submitted.sink->on_delta = std::move(on_delta);
  EXPECT_TRUE(engine.Submit(std::move(request), submitted.sink).ok());
  return submitted;
}

// Submits every request while the engine thread is held inside a one-token "gate" request's
// callback, so all of them are waiting together when the engine's next step schedules: what the
// test then observes is the scheduler's policy, not how fast this thread submitted.
std::vector<Submitted> SubmitTogether(Engine& engine, EventClock& clock,
                                      const std::vector<GenerationRequest>& requests) {
  GenerationRequest gate;
  gate.request_id = "gate";
  gate.tenant = "gate";
  gate.prompt_tokens = MakePrompt(900, 1);
  gate.params.max_tokens = 1;
  gate.params.ignore_eos = true;
  absl::Notification reached, release;
  Submitted gate_submitted = SubmitTo(engine, clock, gate, [&](int64_t) {
    reached.Notify();
    release.WaitForNotification();
  });
  reached.WaitForNotification();
  std::vector<Submitted> all;
  for (const GenerationRequest& request : requests) all.push_back(SubmitTo(engine, clock, request));
  release.Notify();
  EXPECT_TRUE(gate_submitted.sink->Wait().ok());
  return all;
}

// Waits for every request and checks its output against the request run alone.
void ExpectAllMatchReference(const std::vector<Submitted>& all) {
  for (const Submitted& submitted : all) {
    const absl::StatusOr<GenerationResult>& result = submitted.sink->Wait();
    ASSERT_TRUE(result.ok()) << submitted.request.request_id << ": " << result.status();
    const testing::ReferenceOutput expected = GenerateReference(submitted.request);
    EXPECT_EQ(result->output_tokens, expected.tokens) << submitted.request.request_id;
    EXPECT_EQ(submitted.sink->sampled(), expected.sampled) << submitted.request.request_id;
  }
}

// A submits 20 (200 tokens each), then B submits 1, with room for 2 running. Fair: B takes a
// slot from A at once (before any of A's 20 finishes); FIFO: B waits behind A's 20.
TEST(EngineFairnessTest, LateTenantIsAdmittedBeforeTheFloodDrains) {
  for (const bool fair : {true, false}) {
    EngineOptions options = TinyEngineOptions(64);
    options.max_running = 2;
    options.fair_tenants = fair;
    std::unique_ptr<Engine> engine = MakeEngine(options);
    EventClock clock;
    std::vector<Submitted> all;
    // A's first request holds the engine at its first token until A's other 19 are submitted
    // (so the next step admits A's second one and the batch is full), and submits B at its third.
    Submitted late{.request = TenantRequest("b", 0, 12, 40),
                   .sink = std::make_shared<OrderedSink>(clock)};
    Engine* raw_engine = engine.get();
    absl::Notification reached, release;
    all.push_back(
        SubmitTo(*engine, clock, TenantRequest("a", 0, 12, 200), [&, late](int64_t tokens) {
          if (tokens == 1) {
            reached.Notify();
            release.WaitForNotification();
          } else if (tokens == 3) {
            EXPECT_TRUE(raw_engine->Submit(late.request, late.sink).ok());
          }
        }));
    reached.WaitForNotification();
    for (int i = 1; i < 20; ++i) {
      all.push_back(SubmitTo(*engine, clock, TenantRequest("a", i, 12, 200)));
    }
    release.Notify();
    all.push_back(late);
    ExpectAllMatchReference(all);
    const int64_t b_first_token = all.back().sink->first_token();
    int a_finished_before_b = 0;
    for (int i = 0; i < 20; ++i) a_finished_before_b += all[i].sink->finish() < b_first_token;
    if (fair) {
      EXPECT_EQ(a_finished_before_b, 0);
      EXPECT_GT(engine->Stats().preemptions, 0);  // B's slot came from A's youngest.
    } else {
      EXPECT_GE(a_finished_before_b, 18);
    }
  }
}

// One tenant's long prompts do not take the whole prefill budget: B's short prompt gets its
// chunk while A's 10 prompts of 200 tokens (16 tokens per step in all) are still prefilling.
TEST(EngineFairnessTest, PrefillBudgetIsSharedAcrossTenants) {
  for (const bool fair : {true, false}) {
    EngineOptions options = TinyEngineOptions(256);
    options.max_step_tokens = 16;
    options.fair_tenants = fair;
    std::unique_ptr<Engine> engine = MakeEngine(options);
    EventClock clock;
    std::vector<GenerationRequest> requests;
    for (int i = 0; i < 10; ++i) requests.push_back(TenantRequest("a", i, 200, 4));
    requests.push_back(TenantRequest("b", 0, 8, 4));
    const std::vector<Submitted> all = SubmitTogether(*engine, clock, requests);
    ExpectAllMatchReference(all);
    const int64_t b_first_token = all.back().sink->first_token();
    int a_first_tokens_before_b = 0;
    for (int i = 0; i < 10; ++i)
      a_first_tokens_before_b += all[i].sink->first_token() < b_first_token;
    if (fair) {
      EXPECT_EQ(a_first_tokens_before_b, 0);
    } else {
      EXPECT_EQ(a_first_tokens_before_b, 10);
    }
  }
}

TEST(EngineFairnessTest, SubmitBeyondTheTenantKvShareIsResourceExhaustedNamingIt) {
  std::unique_ptr<Engine> engine = MakeEngine(TinyEngineOptions(64));  // 16-token blocks
  auto sink = std::make_shared<RecordingSink>();
  // 40 + 9 - 1 = 48 positions = 3 blocks.
  absl::Status status = engine->Submit(TenantRequest("acme", 0, 40, 9, /*limit=*/2), sink);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(status.message(), HasSubstr("tenant 'acme''s KV share of 2 blocks cannot hold "
                                          "prompt of 40 tokens + max_tokens 9 (3 KV blocks)"));
  status = engine->Submit(TenantRequest("", 0, 40, 9, /*limit=*/2), sink);
  EXPECT_THAT(status.message(), HasSubstr("the default tenant's KV share of 2 blocks"));
  EXPECT_EQ(engine->Submit(TenantRequest("acme", 1, 40, 9, /*limit=*/-1), sink).code(),
            absl::StatusCode::kInvalidArgument);

  // MaxNewTokens with the tenant's limit is exactly the largest accepted max_tokens.
  EXPECT_EQ(engine->MaxNewTokens(40, 3), 9);
  EXPECT_TRUE(engine->Submit(TenantRequest("acme", 2, 40, 9, /*limit=*/3), sink).ok());
  EXPECT_TRUE(sink->Wait().ok());
  EXPECT_EQ(engine->Submit(TenantRequest("acme", 3, 40, 10, /*limit=*/3), sink).code(),
            absl::StatusCode::kResourceExhausted);
}

// Without max_tokens a generation stops (length) when its tenant's share is full.
TEST(EngineFairnessTest, UnsetMaxTokensStopsAtTheTenantKvShare) {
  std::unique_ptr<Engine> engine = MakeEngine(TinyEngineOptions(64));
  GenerationRequest request = TenantRequest("acme", 0, 20, 1, /*limit=*/2);
  request.params.max_tokens.reset();
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_TRUE(engine->Submit(request, sink).ok());
  const absl::StatusOr<GenerationResult>& result = sink->Wait();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->finish_reason, FinishReason::kLength);
  EXPECT_EQ(result->prompt_tokens + result->completion_tokens, 2 * 16 + 1);
}

// A's share (5 blocks of 16) holds one of its requests at a time (3 blocks of prompt, 4 in
// all), so A's requests run one after another while B's run alongside.
TEST(EngineFairnessTest, TenantAtItsKvLimitWaitsWhileAnotherTenantRuns) {
  std::unique_ptr<Engine> engine = MakeEngine(TinyEngineOptions(64));
  EventClock clock;
  // 40 + 24 - 1 = 63 positions = 4 blocks; the prompt alone needs 3.
  std::vector<GenerationRequest> requests;
  for (int i = 0; i < 3; ++i) requests.push_back(TenantRequest("a", i, 40, 24, /*limit=*/5));
  for (int i = 0; i < 3; ++i) requests.push_back(TenantRequest("b", i, 40, 24));
  const std::vector<Submitted> all = SubmitTogether(*engine, clock, requests);
  ExpectAllMatchReference(all);
  EXPECT_GT(all[1].sink->first_token(), all[0].sink->finish());
  EXPECT_GT(all[2].sink->first_token(), all[1].sink->finish());
  for (int i = 3; i < 6; ++i) EXPECT_LT(all[i].sink->first_token(), all[1].sink->finish()) << i;
  EXPECT_EQ(engine->Stats().preemptions, 0);
}

// A's share (8 blocks of 4) admits all four of its requests (2 blocks of prompt each), which
// then grow past it: A preempts its own youngest, never B's, though B runs in the same pool.
TEST(EngineFairnessTest, GrowingPastTheTenantLimitPreemptsOnlyWithinTheTenant) {
  EngineOptions options = TinyEngineOptions(64, KvElementType::kF32, /*block_size=*/4);
  options.max_step_tokens = 8;
  std::unique_ptr<Engine> engine = MakeEngine(options);
  EventClock clock;
  // 6 + 24 - 1 = 29 positions = 8 blocks: each fits the share alone.
  std::vector<GenerationRequest> requests;
  for (int i = 0; i < 4; ++i) {
    requests.push_back(TenantRequest("a", i, 6, 24, /*limit=*/8));
    requests.push_back(TenantRequest("b", i, 6, 24));
  }
  const std::vector<Submitted> all = SubmitTogether(*engine, clock, requests);
  ExpectAllMatchReference(all);
  int64_t a_preemptions = 0;
  for (const Submitted& submitted : all) {
    const int64_t preemptions = submitted.sink->Wait()->preemptions;
    if (submitted.request.tenant == "a") {
      a_preemptions += preemptions;
    } else {
      EXPECT_EQ(preemptions, 0) << submitted.request.request_id;
    }
  }
  EXPECT_GT(a_preemptions, 0);
  EXPECT_EQ(engine->Stats().preemptions, a_preemptions);
}

// The pool (not a tenant limit) runs short: a generation that cannot grow preempts, among itself
// and the generations admitted after it, the youngest of the tenant holding the most blocks —
// A's own, not B's, although B's is the youngest. FIFO (the previous policy) preempts B's.
TEST(EngineFairnessTest, PoolShortagePreemptsTheHeaviestTenant) {
  for (const bool fair : {true, false}) {
    // 16 blocks of 4 = 64 positions; three requests of 6 + 24 - 1 = 29 positions (8 blocks).
    EngineOptions options = TinyEngineOptions(16, KvElementType::kF32, /*block_size=*/4);
    options.fair_tenants = fair;
    std::unique_ptr<Engine> engine = MakeEngine(options);
    EventClock clock;
    const std::vector<Submitted> all =
        SubmitTogether(*engine, clock,
                       {TenantRequest("a", 0, 6, 24), TenantRequest("a", 1, 6, 24),
                        TenantRequest("b", 0, 6, 24)});
    ExpectAllMatchReference(all);
    EXPECT_GT(engine->Stats().preemptions, 0);
    if (fair) {
      EXPECT_EQ(all.back().sink->Wait()->preemptions, 0);
    } else {
      EXPECT_GT(all.back().sink->Wait()->preemptions, 0);
    }
  }
}

// One tenant cannot fill the waiting queue: past max_waiting_per_tenant its own Submits fail,
// naming the cap, while another tenant's still succeed.
TEST(EngineFairnessTest, PerTenantWaitingCapLeavesRoomForOtherTenants) {
  EngineOptions options = TinyEngineOptions(64);
  options.max_running = 1;
  options.max_waiting_per_tenant = 2;
  std::unique_ptr<Engine> engine = MakeEngine(options);
  EventClock clock;
  // A's first request holds the engine thread at its second token (its admission is counted by
  // then) until the Submits below are done.
  absl::Notification reached, release;
  Submitted first = SubmitTo(*engine, clock, TenantRequest("a", 0, 10, 8), [&](int64_t tokens) {
    if (tokens != 2) return;
    reached.Notify();
    release.WaitForNotification();
  });
  reached.WaitForNotification();
  std::vector<std::shared_ptr<RecordingSink>> sinks = {first.sink};
  auto submit = [&](const std::string& tenant, int index) {
    sinks.push_back(std::make_shared<RecordingSink>());
    return engine->Submit(TenantRequest(tenant, index, 10, 8), sinks.back());
  };
  EXPECT_TRUE(submit("a", 1).ok());
  EXPECT_TRUE(submit("a", 2).ok());
  const absl::Status status = submit("a", 3);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(status.message(), HasSubstr("tenant 'a' already has 2 requests waiting"));
  EXPECT_TRUE(submit("b", 0).ok());
  EXPECT_TRUE(submit("b", 1).ok());
  release.Notify();
  for (int i : {0, 1, 2, 4, 5}) EXPECT_TRUE(sinks[i]->Wait().ok()) << i;
  EXPECT_FALSE(sinks[3]->finished());  // The rejected request's sink is never called.
}

}  // namespace
}  // namespace minimind
