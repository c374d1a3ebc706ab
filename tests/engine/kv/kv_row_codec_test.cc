#include "engine/kv/kv_row_codec.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "engine/kernels/float_convert.h"
#include "gtest/gtest.h"

namespace minimind {
namespace {

std::vector<float> RandomRow(std::mt19937& rng, int64_t n, float spread) {
  std::normal_distribution<float> normal(0.0f, spread);
  std::vector<float> row(n);
  for (float& x : row) x = normal(rng);
  return row;
}

TEST(KvRowCodecTest, F32IsBitwise) {
  std::mt19937 rng(1);
  const std::vector<float> row = RandomRow(rng, 33, 3.0f);
  std::vector<float> stored(33), decoded(33);
  EncodeKvRow(KvElementType::kF32, row.data(), 33, stored.data(), nullptr);
  DecodeKvRow(KvElementType::kF32, stored.data(), 0.0f, 33, decoded.data());
  EXPECT_EQ(std::memcmp(decoded.data(), row.data(), 33 * sizeof(float)), 0);
}

TEST(KvRowCodecTest, HalfTypesRoundToNearestEven) {
  std::mt19937 rng(2);
  const std::vector<float> row = RandomRow(rng, 64, 10.0f);
  std::vector<uint16_t> bits(64);
  std::vector<float> decoded(64);
  EncodeKvRow(KvElementType::kBF16, row.data(), 64, bits.data(), nullptr);
  for (int j = 0; j < 64; ++j) EXPECT_EQ(bits[j], F32ToBF16(row[j]));
  DecodeKvRow(KvElementType::kBF16, bits.data(), 0.0f, 64, decoded.data());
  for (int j = 0; j < 64; ++j) EXPECT_LE(std::fabs(decoded[j] - row[j]), std::fabs(row[j]) / 256);
  EncodeKvRow(KvElementType::kF16, row.data(), 64, bits.data(), nullptr);
  for (int j = 0; j < 64; ++j) EXPECT_EQ(bits[j], F32ToF16(row[j]));
  DecodeKvRow(KvElementType::kF16, bits.data(), 0.0f, 64, decoded.data());
  for (int j = 0; j < 64; ++j) EXPECT_LE(std::fabs(decoded[j] - row[j]), std::fabs(row[j]) / 2048);
  // A tie: 1 + 2^-8 lies halfway between two bf16 values; even mantissa wins (1.0).
  const float tie = 1.0f + 0x1p-8f;
  EncodeKvRow(KvElementType::kBF16, &tie, 1, bits.data(), nullptr);
  EXPECT_EQ(bits[0], 0x3f80);
}

TEST(KvRowCodecTest, Int8ScaleIsMaxOver127AndErrorIsHalfAStep) {
  std::mt19937 rng(3);
  for (int trial = 0; trial < 50; ++trial) {
    const std::vector<float> row = RandomRow(rng, 48, 0.01f + trial);
    float max_abs = 0.0f;
    for (const float x : row) max_abs = std::fmax(max_abs, std::fabs(x));
    std::vector<int8_t> codes(48);
    float scale = -1.0f;
    EncodeKvRow(KvElementType::kInt8, row.data(), 48, codes.data(), &scale);
    EXPECT_EQ(scale, max_abs / 127.0f);
    bool saw_extreme = false;
    std::vector<float> decoded(48);
    DecodeKvRow(KvElementType::kInt8, codes.data(), scale, 48, decoded.data());
    for (int j = 0; j < 48; ++j) {
      EXPECT_GE(codes[j], -127);
      EXPECT_LE(std::fabs(decoded[j] - row[j]), scale * 0.5f * 1.0001f) << j;
      saw_extreme |= codes[j] == 127 || codes[j] == -127;
    }
    EXPECT_TRUE(saw_extreme);  // The largest magnitude maps to ±127.
  }
}

TEST(KvRowCodecTest, Int8RoundsTiesToEven) {
  // max 127 makes scale 1, so codes are the values rounded: 2.5 -> 2, 3.5 -> 4, -0.5 -> -0.
  const float row[5] = {127.0f, 2.5f, 3.5f, -0.5f, -1.5f};
  int8_t codes[5];
  float scale = 0.0f;
  EncodeKvRow(KvElementType::kInt8, row, 5, codes, &scale);
  EXPECT_EQ(scale, 1.0f);
  EXPECT_EQ(codes[0], 127);
  EXPECT_EQ(codes[1], 2);
  EXPECT_EQ(codes[2], 4);
  EXPECT_EQ(codes[3], 0);
  EXPECT_EQ(codes[4], -2);
}

TEST(KvRowCodecTest, Int8CodesAreTheNearestEvenRoundingOfValueOverScale) {
  std::mt19937 rng(4);
  for (int trial = 0; trial < 200; ++trial) {
    const std::vector<float> row = RandomRow(rng, 64, 1e-3f * (trial + 1));
    std::vector<int8_t> codes(64);
    float scale = 0.0f;
    EncodeKvRow(KvElementType::kInt8, row.data(), 64, codes.data(), &scale);
    for (int j = 0; j < 64; ++j) {
      const float expected = std::fmin(127.0f, std::fmax(-127.0f, std::nearbyint(row[j] / scale)));
      ASSERT_EQ(codes[j], static_cast<int8_t>(expected)) << row[j] << " / " << scale;
    }
  }
}

TEST(KvRowCodecTest, Int8ZeroAndNonFiniteRows) {
  const float zeros[4] = {0.0f, -0.0f, 0.0f, 0.0f};
  int8_t codes[4] = {1, 1, 1, 1};
  float scale = -1.0f;
  EncodeKvRow(KvElementType::kInt8, zeros, 4, codes, &scale);
  EXPECT_EQ(scale, 0.0f);
  for (const int8_t code : codes) EXPECT_EQ(code, 0);

  const float with_nan[4] = {1.0f, std::numeric_limits<float>::quiet_NaN(), -2.0f, 0.5f};
  EncodeKvRow(KvElementType::kInt8, with_nan, 4, codes, &scale);
  EXPECT_EQ(scale, 2.0f / 127.0f);
  EXPECT_EQ(codes[1], 0);
  EXPECT_EQ(codes[2], -127);
}

}  // namespace
}  // namespace minimind
