#include "tools/cli/load_bench_command.h"

#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/tools/cli/fake_minimind_server.h"

namespace minimind::cli {
namespace {

using ::testing::HasSubstr;

TEST(PercentileTest, InterpolatesBetweenRanks) {
  EXPECT_EQ(Percentile({}, 0.5), 0);
  EXPECT_DOUBLE_EQ(Percentile({3, 1, 2}, 0.5), 2);
  EXPECT_DOUBLE_EQ(Percentile({1, 2, 3, 4}, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(Percentile({10, 20}, 0.99), 19.9);
  EXPECT_DOUBLE_EQ(Percentile({5}, 0.99), 5);
}

TEST(LoadBenchCommandTest, SendsTheRequestedLoadAndReports) {
  FakeMinimindServer server;
  std::ostringstream out, err;
  ASSERT_EQ(RunLoadBench({"--target", server.target(), "--concurrency", "3", "--requests", "7",
                          "--prompt-tokens", "5", "--max-tokens", "4", "--json"},
                         out, err),
            0)
      << err.str();
  const auto requests = server.generate_requests();
  ASSERT_EQ(requests.size(), 7u);
  for (const auto& request : requests) {
    ASSERT_EQ(request.token_ids().ids_size(), 5);
    for (int32_t id : request.token_ids().ids()) {
      EXPECT_GE(id, 0);
      EXPECT_LT(id, FakeMinimindServer::kTokenizerVocab);  // from GetModelInfo
    }
    EXPECT_EQ(request.max_tokens(), 4);
    EXPECT_TRUE(request.ignore_eos());
    EXPECT_FALSE(request.use_cache());
  }
  const nlohmann::json report = nlohmann::json::parse(out.str());
  EXPECT_EQ(report["requests"], 7);
  EXPECT_EQ(report["errors"], 0);
  EXPECT_EQ(report["concurrency"], 3);
  EXPECT_GT(report["output_tokens_per_second"].get<double>(), 0);
  EXPECT_GT(report["ttft_ms_p50"].get<double>(), 0);
  EXPECT_GE(report["ttft_ms_p99"].get<double>(), report["ttft_ms_p50"].get<double>());
  EXPECT_GE(report["tpot_ms_p99"].get<double>(), report["tpot_ms_p50"].get<double>());
}

TEST(LoadBenchCommandTest, TextReportAndValidation) {
  FakeMinimindServer server;
  std::ostringstream out, err;
  ASSERT_EQ(RunLoadBench({"--target", server.target(), "--concurrency", "2", "--max-tokens", "2",
                          "--prompt-tokens", "3", "--vocab", "10"},
                         out, err),
            0)
      << err.str();
  EXPECT_THAT(out.str(), HasSubstr("8 requests ok, 0 failed"));  // default 4 * concurrency
  EXPECT_THAT(out.str(), HasSubstr("TTFT ms: p50"));
  EXPECT_THAT(out.str(), HasSubstr("TPOT ms: p50"));
  for (const auto& request : server.generate_requests()) {
    for (int32_t id : request.token_ids().ids()) EXPECT_LT(id, 10);
  }
  std::ostringstream out2, err2;
  EXPECT_EQ(RunLoadBench({"--target", server.target(), "--concurrency", "0"}, out2, err2), 2);
  EXPECT_THAT(err2.str(), HasSubstr("--concurrency must be at least 1"));
}

TEST(LoadBenchCommandTest, FailedRequestsAreCountedAndFailTheRun) {
  std::ostringstream out, err;
  EXPECT_EQ(RunLoadBench({"--target", "127.0.0.1:1", "--vocab", "10", "--requests", "2",
                          "--concurrency", "1"},
                         out, err),
            1);
  EXPECT_THAT(out.str(), HasSubstr("0 requests ok, 2 failed"));
  EXPECT_THAT(err.str(), HasSubstr("UNAVAILABLE"));
}

}  // namespace
}  // namespace minimind::cli
