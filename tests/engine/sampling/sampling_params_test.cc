#include "engine/sampling/sampling_params.h"

#include <limits>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace minimind {
namespace {

using ::testing::HasSubstr;

// The message of ValidateSamplingParams, which must be InvalidArgument.
std::string Error(const SamplingParams& params) {
  const absl::Status status = ValidateSamplingParams(params);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  return std::string(status.message());
}

TEST(SamplingParamsTest, DefaultsAreTheDocumentedServerDefaults) {
  const SamplingParams params;
  EXPECT_EQ(params.temperature, 1.0f);
  EXPECT_EQ(params.top_k, 0);
  EXPECT_EQ(params.top_p, 1.0f);
  EXPECT_EQ(params.min_p, 0.0f);
  EXPECT_EQ(params.repetition_penalty, 1.0f);
  EXPECT_EQ(params.presence_penalty, 0.0f);
  EXPECT_EQ(params.frequency_penalty, 0.0f);
  EXPECT_FALSE(params.seed.has_value());
  EXPECT_FALSE(params.max_tokens.has_value());
  EXPECT_TRUE(params.stop.empty());
  EXPECT_TRUE(params.stop_token_ids.empty());
  EXPECT_FALSE(params.ignore_eos);
  EXPECT_FALSE(params.logprobs);
  EXPECT_EQ(params.top_logprobs, 0);
  EXPECT_FALSE(params.prompt_logprobs.has_value());
  EXPECT_TRUE(ValidateSamplingParams(params).ok());
}

TEST(SamplingParamsTest, AcceptsEveryBoundary) {
  SamplingParams params{.temperature = 0.0f,
                        .top_k = 1,
                        .top_p = 1.0f,
                        .min_p = 1.0f,
                        .repetition_penalty = kMaxRepetitionPenalty,
                        .presence_penalty = -2.0f,
                        .frequency_penalty = 2.0f,
                        .seed = 0,
                        .max_tokens = kMaxTokensLimit,
                        .stop = {std::string(kMaxStopStringBytes, 'x'), "é"},
                        .stop_token_ids = {0},
                        .logprobs = true,
                        .top_logprobs = kMaxTopLogprobs,
                        .prompt_logprobs = 0};
  EXPECT_TRUE(ValidateSamplingParams(params).ok()) << ValidateSamplingParams(params);
  params.temperature = kMaxTemperature;
  params.max_tokens = 1;
  params.min_p = 0.0f;
  params.prompt_logprobs = kMaxTopLogprobs;
  EXPECT_TRUE(ValidateSamplingParams(params).ok()) << ValidateSamplingParams(params);
}

TEST(SamplingParamsTest, MessagesNameFieldValueAndRange) {
  EXPECT_EQ(Error({.temperature = 150.0f}), "temperature must be in [0, 100], got 150");
  EXPECT_EQ(Error({.temperature = -0.5f}), "temperature must be in [0, 100], got -0.5");
  EXPECT_EQ(Error({.top_k = -1}), "top_k must be in [0, inf) (0 disables it), got -1");
  EXPECT_EQ(Error({.top_p = 0.0f}), "top_p must be in (0, 1], got 0");
  EXPECT_EQ(Error({.top_p = 1.5f}), "top_p must be in (0, 1], got 1.5");
  EXPECT_EQ(Error({.min_p = -0.25f}), "min_p must be in [0, 1], got -0.25");
  EXPECT_EQ(Error({.repetition_penalty = 0.0f}), "repetition_penalty must be in (0, 10], got 0");
  EXPECT_EQ(Error({.presence_penalty = 2.5f}), "presence_penalty must be in [-2, 2], got 2.5");
  EXPECT_EQ(Error({.frequency_penalty = -3.0f}), "frequency_penalty must be in [-2, 2], got -3");
  EXPECT_EQ(Error({.max_tokens = 0}), "max_tokens must be in [1, 131072], got 0");
  EXPECT_EQ(Error({.max_tokens = kMaxTokensLimit + 1}),
            "max_tokens must be in [1, 131072], got 131073");
  EXPECT_EQ(Error({.logprobs = true, .top_logprobs = 21}),
            "top_logprobs must be in [0, 20], got 21");
  EXPECT_EQ(Error({.top_logprobs = 3}),
            "top_logprobs is 3 but logprobs is false; set logprobs to true");
  EXPECT_EQ(Error({.prompt_logprobs = -1}), "prompt_logprobs must be in [0, 20], got -1");
  EXPECT_EQ(Error({.stop_token_ids = {3, -7}}),
            "stop_token_ids[1] must be in [0, vocabulary size), got -7");
}

TEST(SamplingParamsTest, RejectsNan) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THAT(Error({.temperature = nan}), HasSubstr("temperature must be in [0, 100], got nan"));
  EXPECT_THAT(Error({.top_p = nan}), HasSubstr("top_p"));
  EXPECT_THAT(Error({.min_p = nan}), HasSubstr("min_p"));
  EXPECT_THAT(Error({.repetition_penalty = nan}), HasSubstr("repetition_penalty"));
  EXPECT_THAT(Error({.presence_penalty = nan}), HasSubstr("presence_penalty"));
  EXPECT_THAT(Error({.frequency_penalty = nan}), HasSubstr("frequency_penalty"));
}

TEST(SamplingParamsTest, ChecksStopStrings) {
  EXPECT_EQ(Error({.stop = std::vector<std::string>(17, "x")}),
            "stop has 17 strings; at most 16 are allowed");
  EXPECT_EQ(Error({.stop = {"ok", ""}}),
            "stop[1] is 0 bytes; each stop string must be 1..256 bytes");
  EXPECT_EQ(Error({.stop = {std::string(257, 'x')}}),
            "stop[0] is 257 bytes; each stop string must be 1..256 bytes");
  EXPECT_EQ(Error({.stop = {"ab\xC3"}}), "stop[0] is not valid UTF-8 (byte offset 2)");
  EXPECT_EQ(Error({.stop_token_ids = std::vector<TokenId>(65, 1)}),
            "stop_token_ids has 65 ids; at most 64 are allowed");
}

}  // namespace
}  // namespace minimind
