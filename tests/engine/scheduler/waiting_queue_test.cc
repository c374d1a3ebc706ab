// WaitingQueue: per-tenant queues ordered by arrival — a preempted generation goes back to its
// arrival place (its tenant's front), heads are one per tenant, removal from any position.
#include "engine/scheduler/waiting_queue.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/engine/scheduler/engine_test_support.h"

namespace minimind {
namespace {

std::unique_ptr<Generation> MakeGeneration(const std::string& tenant, int64_t arrival) {
  SubmittedRequest submitted;
  submitted.request.request_id = absl::StrCat(tenant, arrival);
  submitted.request.tenant = tenant;
  submitted.request.prompt_tokens = {5, 6, 7};
  submitted.request.params.seed = 1;
  absl::StatusOr<Sampler> sampler = Sampler::Create(submitted.request.params);
  absl::StatusOr<StopChecker> stop =
      StopChecker::Create(submitted.request.params, testing::TinyBundle().tokenizer,
                          testing::TinyBundle().eos_token_ids);
  EXPECT_TRUE(sampler.ok() && stop.ok());
  auto generation =
      std::make_unique<Generation>(std::move(submitted), *std::move(sampler), *std::move(stop));
  generation->arrival = arrival;
  return generation;
}

std::vector<int64_t> HeadArrivals(const WaitingQueue& queue) {
  std::vector<int64_t> arrivals;
  for (const Generation* head : queue.Heads()) arrivals.push_back(head->arrival);
  std::sort(arrivals.begin(), arrivals.end());
  return arrivals;
}

TEST(WaitingQueueTest, KeepsEachTenantInArrivalOrder) {
  WaitingQueue queue;
  EXPECT_TRUE(queue.empty());
  queue.Insert(MakeGeneration("a", 1));
  queue.Insert(MakeGeneration("a", 3));
  queue.Insert(MakeGeneration("b", 2));
  queue.Insert(MakeGeneration("a", 4));
  EXPECT_EQ(queue.size(), 4);
  EXPECT_EQ(HeadArrivals(queue), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(queue.SizesByTenant().at("a"), 3);
  EXPECT_EQ(queue.SizesByTenant().at("b"), 1);

  // Taking the head and putting it back (a preemption) restores it at the front.
  Generation* head_a = nullptr;
  for (Generation* head : queue.Heads()) {
    if (head->request().tenant == "a") head_a = head;
  }
  std::unique_ptr<Generation> taken = queue.Remove(*head_a);
  ASSERT_NE(taken, nullptr);
  EXPECT_EQ(HeadArrivals(queue), (std::vector<int64_t>{2, 3}));
  queue.Insert(std::move(taken));
  EXPECT_EQ(HeadArrivals(queue), (std::vector<int64_t>{1, 2}));
}

TEST(WaitingQueueTest, RemovesFromAnyPositionAndForgetsEmptyTenants) {
  WaitingQueue queue;
  queue.Insert(MakeGeneration("a", 1));
  queue.Insert(MakeGeneration("a", 2));
  queue.Insert(MakeGeneration("b", 3));
  std::vector<Generation*> all = queue.All();
  ASSERT_EQ(all.size(), 3u);
  Generation* middle =
      *std::find_if(all.begin(), all.end(), [](Generation* g) { return g->arrival == 2; });
  // Keep the removed generation alive: `middle` points into it.
  std::unique_ptr<Generation> removed = queue.Remove(*middle);
  EXPECT_NE(removed, nullptr);
  EXPECT_EQ(queue.Remove(*middle), nullptr);  // No longer waiting.
  Generation* b =
      *std::find_if(all.begin(), all.end(), [](Generation* g) { return g->arrival == 3; });
  EXPECT_NE(queue.Remove(*b), nullptr);
  EXPECT_EQ(queue.size(), 1);
  EXPECT_FALSE(queue.SizesByTenant().contains("b"));
  EXPECT_EQ(HeadArrivals(queue), (std::vector<int64_t>{1}));
}

}  // namespace
}  // namespace minimind
