#include "service/outbound_queue.h"

#include "gtest/gtest.h"

namespace minimind {
namespace {

v1::GenerateResponse Delta(const std::string& text, int32_t id) {
  v1::GenerateResponse message;
  message.set_text(text);
  message.add_token_ids(id);
  return message;
}

TEST(OutboundQueueTest, QueuesUpToCapacityThenCoalescesIntoTheLastMessage) {
  OutboundQueue queue(2);
  queue.Push(Delta("a", 1));
  queue.Push(Delta("b", 2));
  queue.Push(Delta("c", 3));
  queue.Push(Delta("d", 4));
  EXPECT_EQ(queue.size(), 2);
  EXPECT_EQ(queue.coalesced(), 2);
  const v1::GenerateResponse first = queue.Pop();
  EXPECT_EQ(first.text(), "a");
  const v1::GenerateResponse second = queue.Pop();
  EXPECT_EQ(second.text(), "bcd");  // Nothing lost, order kept.
  ASSERT_EQ(second.token_ids_size(), 3);
  EXPECT_EQ(second.token_ids(0), 2);
  EXPECT_EQ(second.token_ids(2), 4);
  EXPECT_TRUE(queue.empty());
}

TEST(OutboundQueueTest, TheFinalMessageMergesItsFinishReasonAndUsage) {
  OutboundQueue queue(1);
  queue.Push(Delta("x", 1));
  v1::GenerateResponse last = Delta("y", 2);
  last.set_finish_reason(v1::FINISH_REASON_LENGTH);
  last.mutable_usage()->set_completion_tokens(2);
  queue.Push(std::move(last));
  ASSERT_EQ(queue.size(), 1);
  const v1::GenerateResponse merged = queue.Pop();
  EXPECT_EQ(merged.text(), "xy");
  EXPECT_EQ(merged.finish_reason(), v1::FINISH_REASON_LENGTH);
  EXPECT_EQ(merged.usage().completion_tokens(), 2);
}

TEST(OutboundQueueTest, CapacityBelowOneActsAsOne) {
  OutboundQueue queue(0);
  queue.Push(Delta("a", 1));
  queue.Push(Delta("b", 2));
  EXPECT_EQ(queue.size(), 1);
}

}  // namespace
}  // namespace minimind
