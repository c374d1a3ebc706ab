#include "service/sessions/session_id.h"

#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace minimind {
namespace {

using ::testing::HasSubstr;

TEST(SessionIdTest, RoundTripsThroughHex) {
  const SessionKey key{0x0123456789abcdefULL, 0xfedcba9876543210ULL};
  const std::string id = SessionKeyToId(key);
  EXPECT_EQ(id, "0123456789abcdeffedcba9876543210");
  absl::StatusOr<SessionKey> parsed = SessionKeyFromId(id);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, key);
  absl::StatusOr<SessionKey> upper = SessionKeyFromId("0123456789ABCDEFFEDCBA9876543210");
  ASSERT_TRUE(upper.ok());
  EXPECT_EQ(*upper, key);
}

TEST(SessionIdTest, RejectsMalformedIds) {
  EXPECT_THAT(SessionKeyFromId("").status().message(), HasSubstr("empty"));
  absl::Status short_id = SessionKeyFromId("abc").status();
  EXPECT_EQ(short_id.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(short_id.message(), HasSubstr("32 hex digits, got 3"));
  absl::Status bad_char = SessionKeyFromId("0123456789abcdeffedcba987654321g").status();
  EXPECT_EQ(bad_char.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_char.message(), HasSubstr("character 31"));
}

TEST(SessionIdTest, GeneratedIdsAreDistinctAndUseAllBits) {
  SessionIdGenerator generator;
  absl::flat_hash_set<SessionKey> seen;
  uint64_t high_or = 0, low_or = 0, high_and = ~0ULL, low_and = ~0ULL;
  // More than one 4 KiB refill (256 ids each).
  for (int i = 0; i < 2000; ++i) {
    absl::StatusOr<SessionKey> key = generator.Next();
    ASSERT_TRUE(key.ok()) << key.status();
    EXPECT_TRUE(seen.insert(*key).second) << "duplicate id " << SessionKeyToId(*key);
    high_or |= key->high;
    low_or |= key->low;
    high_and &= key->high;
    low_and &= key->low;
  }
  // With random bits every bit is set in some id and clear in another.
  EXPECT_EQ(high_or, ~0ULL);
  EXPECT_EQ(low_or, ~0ULL);
  EXPECT_EQ(high_and, 0ULL);
  EXPECT_EQ(low_and, 0ULL);
}

}  // namespace
}  // namespace minimind
