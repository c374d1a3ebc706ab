#include "service/sessions/redis_url.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace minimind {
namespace {

using ::testing::HasSubstr;

TEST(ParseRedisUrlTest, AcceptsHostPortAndDb) {
  absl::StatusOr<RedisAddress> plain = ParseRedisUrl("redis://cache.internal:6380");
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(plain->host, "cache.internal");
  EXPECT_EQ(plain->port, 6380);
  EXPECT_EQ(plain->db, 0);
  EXPECT_EQ(plain->HostPort(), "cache.internal:6380");

  absl::StatusOr<RedisAddress> with_db = ParseRedisUrl("redis://10.0.0.7:6379/3");
  ASSERT_TRUE(with_db.ok()) << with_db.status();
  EXPECT_EQ(with_db->host, "10.0.0.7");
  EXPECT_EQ(with_db->db, 3);

  absl::StatusOr<RedisAddress> ipv6 = ParseRedisUrl("redis://[::1]:7000/1");
  ASSERT_TRUE(ipv6.ok()) << ipv6.status();
  EXPECT_EQ(ipv6->host, "::1");
  EXPECT_EQ(ipv6->port, 7000);
  EXPECT_EQ(ipv6->HostPort(), "[::1]:7000");
}

TEST(ParseRedisUrlTest, RejectsEverythingElseWithAReason) {
  struct Case {
    const char* url;
    const char* reason;
  };
  for (const Case& c :
       {Case{"http://h:1", "scheme"}, Case{"redis://h", "missing :PORT"},
        Case{"redis://:6379", "missing HOST"}, Case{"redis://h:0", "PORT"},
        Case{"redis://h:65536", "PORT"}, Case{"redis://h:port", "PORT"}, Case{"redis://h:1/", "DB"},
        Case{"redis://h:1/-1", "DB"}, Case{"redis://h:1/x", "DB"},
        Case{"redis://h:1/99999999999", "DB"}, Case{"redis://user:pw@h:1", "credentials"},
        Case{"redis://h:1?x=1", "query"}, Case{"redis://::1:6379", "brackets"},
        Case{"redis://[::1:6379", "unclosed"}, Case{"", "scheme"}}) {
    absl::Status status = ParseRedisUrl(c.url).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.url;
    EXPECT_THAT(status.message(), HasSubstr(c.reason)) << c.url;
    EXPECT_THAT(status.message(), HasSubstr("redis://HOST:PORT[/DB]")) << c.url;
  }
}

}  // namespace
}  // namespace minimind
