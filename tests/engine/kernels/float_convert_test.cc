#include "engine/kernels/float_convert.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

#include "gtest/gtest.h"

namespace minimind {
namespace {

// binary16 value from its definition: (-1)^s · 2^(e-15) · 1.m, or 2^-14 · 0.m for e = 0.
double F16Reference(uint16_t bits) {
  const int sign = bits >> 15;
  const int exponent = (bits >> 10) & 0x1f;
  const int mantissa = bits & 0x3ff;
  double magnitude;
  if (exponent == 0) {
    magnitude = std::ldexp(mantissa, -24);
  } else if (exponent == 31) {
    magnitude = mantissa == 0 ? std::numeric_limits<double>::infinity()
                              : std::numeric_limits<double>::quiet_NaN();
  } else {
    magnitude = std::ldexp(1024 + mantissa, exponent - 25);
  }
  return sign ? -magnitude : magnitude;
}

TEST(FloatConvertTest, F16ToF32IsExactForAllBitPatterns) {
  for (uint32_t bits = 0; bits <= 0xffff; ++bits) {
    const float widened = F16ToF32(static_cast<uint16_t>(bits));
    const double expected = F16Reference(static_cast<uint16_t>(bits));
    if (std::isnan(expected)) {
      ASSERT_TRUE(std::isnan(widened)) << bits;
      // The payload survives in the top mantissa bits.
      ASSERT_EQ((std::bit_cast<uint32_t>(widened) >> 13) & 0x3ff, bits & 0x3ff) << bits;
      ASSERT_TRUE(std::isnan(F16ToF32(F32ToF16(widened)))) << bits;
    } else {
      ASSERT_EQ(static_cast<double>(widened), expected) << bits;
      ASSERT_EQ(std::signbit(widened), (bits & 0x8000) != 0) << bits;
      ASSERT_EQ(F32ToF16(widened), bits) << "round trip of " << bits;
    }
  }
}

TEST(FloatConvertTest, BF16ToF32KeepsTheHighBits) {
  EXPECT_EQ(BF16ToF32(0x3f80), 1.0f);
  EXPECT_EQ(BF16ToF32(0xc040), -3.0f);
  EXPECT_EQ(BF16ToF32(0x7f80), std::numeric_limits<float>::infinity());
  EXPECT_EQ(BF16ToF32(0x0001), std::bit_cast<float>(0x00010000u));  // A subnormal.
  for (uint32_t bits = 0; bits <= 0xffff; ++bits) {
    ASSERT_EQ(std::bit_cast<uint32_t>(BF16ToF32(static_cast<uint16_t>(bits))), bits << 16);
  }
}

// F32ToF16 must return the nearest f16 (ties to the even mantissa) or ±inf beyond 65520.
TEST(FloatConvertTest, F32ToF16RoundsToNearestEven) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<uint32_t> bits_distribution;
  for (int trial = 0; trial < 1'000'000; ++trial) {
    const float x = std::bit_cast<float>(bits_distribution(rng));
    if (std::isnan(x)) {
      ASSERT_TRUE(std::isnan(F16ToF32(F32ToF16(x))));
      continue;
    }
    const uint16_t h = F32ToF16(x);
    const double rounded = F16Reference(h);
    const double magnitude = std::fabs(static_cast<double>(x));
    ASSERT_EQ(std::signbit(x), (h & 0x8000) != 0);
    if (magnitude >= 65520.0) {
      ASSERT_EQ(h & 0x7fff, 0x7c00) << x;
      continue;
    }
    // Neighbours of the result in magnitude.
    const uint16_t unsigned_h = h & 0x7fff;
    const double below = unsigned_h == 0 ? -1.0 : F16Reference(unsigned_h - 1);
    const double above = F16Reference(unsigned_h + 1);
    const double error = std::fabs(magnitude - std::fabs(rounded));
    ASSERT_LE(error, magnitude - below) << x;
    ASSERT_LE(error, above - magnitude) << x;
    if (error == magnitude - below || error == above - magnitude) {
      ASSERT_EQ(unsigned_h & 1, 0) << "tie not rounded to even: " << x;
    }
  }
}

TEST(FloatConvertTest, F32ToF16EdgeCases) {
  EXPECT_EQ(F32ToF16(65504.0f), 0x7bff);
  EXPECT_EQ(F32ToF16(65519.99f), 0x7bff);
  EXPECT_EQ(F32ToF16(65520.0f), 0x7c00);
  EXPECT_EQ(F32ToF16(-1e9f), 0xfc00);
  EXPECT_EQ(F32ToF16(std::ldexp(1.0f, -25)), 0x0000);  // Half the smallest subnormal: tie to 0.
  EXPECT_EQ(F32ToF16(std::ldexp(3.0f, -26)), 0x0001);  // 0.75 of it: rounds up.
  EXPECT_EQ(F32ToF16(std::ldexp(3.0f, -25)), 0x0002);  // 1.5 ulp: tie to even (2).
  EXPECT_EQ(F32ToF16(std::ldexp(1.0f, -14) * 0.99999f), 0x0400);  // Rounds up to the min normal.
  EXPECT_EQ(F32ToF16(-0.0f), 0x8000);
  EXPECT_EQ(F32ToF16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);  // Tie between 1 and 1+2^-10: even.
}

TEST(FloatConvertTest, F32ToBF16RoundsToNearestEven) {
  EXPECT_EQ(F32ToBF16(1.0f), 0x3f80);
  EXPECT_EQ(F32ToBF16(1.0f + std::ldexp(1.0f, -8)), 0x3f80);      // Tie: stays even.
  EXPECT_EQ(F32ToBF16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);  // Tie: rounds up to even.
  EXPECT_EQ(F32ToBF16(1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -20)), 0x3f81);
  EXPECT_EQ(F32ToBF16(std::numeric_limits<float>::max()), 0x7f80);  // Overflows to inf.
  EXPECT_TRUE(std::isnan(BF16ToF32(F32ToBF16(std::numeric_limits<float>::quiet_NaN()))));
  // A NaN whose payload lives only in the dropped bits stays a NaN.
  EXPECT_TRUE(std::isnan(BF16ToF32(F32ToBF16(std::bit_cast<float>(0x7f800001u)))));
}

}  // namespace
}  // namespace minimind
