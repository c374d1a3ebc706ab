#include "engine/model/rope_table.h"

#include <cmath>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "engine/model/model_config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace minimind {
namespace {

using ::testing::HasSubstr;

ModelConfig PlainConfig() {
  ModelConfig config;
  config.head_dim = 16;
  config.rope_theta = 1e4;
  config.max_position_embeddings = 512;
  return config;
}

ModelConfig YarnConfig() {
  // tiny-llama-yarn: factor 4, original context 128 (tools/reference/README.md).
  ModelConfig config = PlainConfig();
  config.rope_scaling.type = RopeScaling::Type::kYarn;
  config.rope_scaling.factor = 4.0;
  config.rope_scaling.original_max_position_embeddings = 128;
  config.rope_scaling.attention_factor = 0.1 * std::log(4.0) + 1.0;
  return config;
}

TEST(RopeTableTest, InverseFrequenciesArePowersOfTheta) {
  const std::vector<double> inverse = RopeInverseFrequencies(PlainConfig());
  ASSERT_EQ(inverse.size(), 8u);
  for (int i = 0; i < 8; ++i) EXPECT_DOUBLE_EQ(inverse[i], std::pow(1e4, -2.0 * i / 16)) << i;
}

TEST(RopeTableTest, YarnFrequenciesMatchTheReference) {
  // The values tools/reference/README.md lists for tiny-llama-yarn (low 0, high 3).
  const std::vector<double> expected = {
      1.0,    0.2371708245126285,    0.05,    0.007905694150420948,
      0.0025, 0.0007905694150420947, 0.00025, 7.905694150420948e-05};
  const std::vector<double> inverse = RopeInverseFrequencies(YarnConfig());
  ASSERT_EQ(inverse.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NEAR(inverse[i], expected[i], 1e-15 * expected[i] + 1e-18) << i;
  }
}

TEST(RopeTableTest, YarnWithFactorOneIsPlainRope) {
  ModelConfig config = YarnConfig();
  config.rope_scaling.factor = 1.0;
  EXPECT_EQ(RopeInverseFrequencies(config), RopeInverseFrequencies(PlainConfig()));
}

TEST(RopeTableTest, MiniMindClampsTheRampToHalfTheHeadDim) {
  ModelConfig config = YarnConfig();
  config.rope_scaling.clamp_high_to_half_dim = true;
  config.rope_scaling.beta_slow = 0.01;  // Pushes `high` past d/2 - 1 = 7, so the clamp decides.
  const std::vector<double> inverse = RopeInverseFrequencies(config);
  const std::vector<double> plain = RopeInverseFrequencies(PlainConfig());
  // low 0, high 7: ramp_i = i / 7, so frequency 7 is fully interpolated.
  EXPECT_DOUBLE_EQ(inverse[7], plain[7] / 4.0);
  EXPECT_DOUBLE_EQ(inverse[0], plain[0]);
  EXPECT_NEAR(inverse[3], plain[3] * ((1 - 3.0 / 7) + 3.0 / 7 / 4), 1e-18);
}

TEST(RopeTableTest, TablesHoldCosAndSinOfPositionTimesFrequency) {
  absl::StatusOr<RopeTable> table = RopeTable::Create(PlainConfig());
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->num_positions(), 512);
  EXPECT_EQ(table->half_dim(), 8);
  const std::vector<double> inverse = RopeInverseFrequencies(PlainConfig());
  for (int64_t position : {0, 1, 37, 511}) {
    for (int64_t i = 0; i < 8; ++i) {
      EXPECT_EQ(table->cos(position)[i], static_cast<float>(std::cos(position * inverse[i])));
      EXPECT_EQ(table->sin(position)[i], static_cast<float>(std::sin(position * inverse[i])));
    }
  }
}

TEST(RopeTableTest, YarnAttentionFactorScalesCosAndSin) {
  const ModelConfig config = YarnConfig();
  absl::StatusOr<RopeTable> table = RopeTable::Create(config);
  ASSERT_TRUE(table.ok()) << table.status();
  const double m = 1.1386294361119891;  // README value for factor 4.
  EXPECT_EQ(table->cos(0)[3], static_cast<float>(m));
  EXPECT_EQ(table->sin(0)[3], 0.0f);
  const std::vector<double> inverse = RopeInverseFrequencies(config);
  EXPECT_EQ(table->sin(200)[1], static_cast<float>(std::sin(200 * inverse[1]) * m));
}

TEST(RopeTableTest, RejectsUnusableConfigs) {
  ModelConfig odd = PlainConfig();
  odd.head_dim = 15;
  EXPECT_THAT(RopeTable::Create(odd).status().message(), HasSubstr("even head_dim, got 15"));
  ModelConfig no_context = PlainConfig();
  no_context.max_position_embeddings = 0;
  EXPECT_EQ(RopeTable::Create(no_context).status().code(), absl::StatusCode::kInvalidArgument);
  ModelConfig bad_yarn = YarnConfig();
  bad_yarn.rope_scaling.original_max_position_embeddings = 0;
  EXPECT_THAT(RopeTable::Create(bad_yarn).status().message(),
              HasSubstr("original_max_position_embeddings 0"));
}

}  // namespace
}  // namespace minimind
