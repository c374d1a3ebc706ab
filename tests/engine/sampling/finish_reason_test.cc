#include "engine/sampling/finish_reason.h"

#include "gtest/gtest.h"

namespace minimind {
namespace {

TEST(FinishReasonTest, NamesAreTheApiStrings) {
  EXPECT_EQ(FinishReasonName(FinishReason::kStop), "stop");
  EXPECT_EQ(FinishReasonName(FinishReason::kLength), "length");
  EXPECT_EQ(FinishReasonName(FinishReason::kStopSequence), "stop_sequence");
}

}  // namespace
}  // namespace minimind
