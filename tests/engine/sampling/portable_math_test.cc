#include "engine/sampling/portable_math.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "gtest/gtest.h"

namespace minimind {
namespace {

constexpr float kInfinity = std::numeric_limits<float>::infinity();

// Distance in units in the last place between `value` and the correctly rounded `reference`.
double UlpError(float value, double reference) {
  const float rounded = static_cast<float>(reference);
  const float ulp = std::nextafter(std::fabs(rounded), kInfinity) - std::fabs(rounded);
  return std::fabs(static_cast<double>(value) - reference) / ulp;
}

TEST(PortableExpTest, ExactValuesAndLimits) {
  EXPECT_EQ(PortableExp(0.0f), 1.0f);
  EXPECT_EQ(PortableExp(-0.0f), 1.0f);
  EXPECT_EQ(PortableExp(-87.5f), 0.0f);
  EXPECT_EQ(PortableExp(-1000.0f), 0.0f);
  EXPECT_EQ(PortableExp(-kInfinity), 0.0f);
  EXPECT_EQ(PortableExp(88.5f), kInfinity);
  EXPECT_EQ(PortableExp(kInfinity), kInfinity);
  EXPECT_TRUE(std::isnan(PortableExp(std::numeric_limits<float>::quiet_NaN())));
  // Just above the cut-off the result is the smallest weights sampling ever sees: still normal.
  EXPECT_GE(PortableExp(kPortableExpMin), std::numeric_limits<float>::min());
}

TEST(PortableExpTest, WithinTwoUlpOfExactOverItsRange) {
  double worst = 0.0;
  for (float x = kPortableExpMin; x <= 88.0f; x += 0.0013f) {
    worst = std::max(worst, UlpError(PortableExp(x), std::exp(static_cast<double>(x))));
  }
  EXPECT_LE(worst, 2.0);
}

uint32_t Bits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}

// Exact bits, pinned: any change here changes seeded generations and reported logprobs, which
// must stay identical across machines and releases. Change only on purpose.
TEST(PortableMathTest, ResultsArePinnedBitForBit) {
  EXPECT_EQ(Bits(PortableExp(-1.0f)), 0x3ebc5ab2u);
  EXPECT_EQ(Bits(PortableExp(-0.5f)), 0x3f1b4598u);
  EXPECT_EQ(Bits(PortableExp(-10.0f)), 0x383e6bceu);
  EXPECT_EQ(Bits(PortableExp(-86.9f)), 0x00c60f89u);
  EXPECT_EQ(Bits(PortableExp(3.7f)), 0x4221ca0bu);
  EXPECT_EQ(Bits(PortableLog(2.0f)), 0x3f317218u);
  EXPECT_EQ(Bits(PortableLog(151936.0f)), 0x413ee641u);
  EXPECT_EQ(Bits(PortableLog(1.5e-30f)), 0xc289581cu);
}

TEST(PortableLogTest, ExactValuesAndLimits) {
  EXPECT_EQ(PortableLog(1.0f), 0.0f);
  EXPECT_EQ(PortableLog(0.0f), -kInfinity);
  EXPECT_EQ(PortableLog(kInfinity), kInfinity);
  EXPECT_TRUE(std::isnan(PortableLog(-1.0f)));
  EXPECT_TRUE(std::isnan(PortableLog(std::numeric_limits<float>::quiet_NaN())));
}

TEST(PortableLogTest, WithinTwoUlpOfExactFromTinyToHuge) {
  double worst = 0.0;
  for (float x = std::numeric_limits<float>::min(); x < 3e38f; x *= 1.0007f) {
    worst = std::max(worst, UlpError(PortableLog(x), std::log(static_cast<double>(x))));
  }
  // Dense where normalizers live: sums of weights, in [1, vocab size].
  for (float x = 1.0f; x < 200000.0f; x *= 1.00003f) {
    worst = std::max(worst, UlpError(PortableLog(x), std::log(static_cast<double>(x))));
  }
  EXPECT_LE(worst, 2.0);
}

TEST(PortableExpShiftedTest, VectorPathIsBitIdenticalToScalar) {
  std::vector<float> x;
  for (int i = 0; i < 1003; ++i) x.push_back(-90.0f + 0.0917f * static_cast<float>(i));
  x.push_back(-kInfinity);
  std::vector<float> out(x.size());
  PortableExpShifted(x, 1.5f, absl::MakeSpan(out));
  for (size_t i = 0; i < x.size(); ++i) {
    const float expected = PortableExp(x[i] - 1.5f);
    uint32_t expected_bits;
    uint32_t actual_bits;
    std::memcpy(&expected_bits, &expected, 4);
    std::memcpy(&actual_bits, &out[i], 4);
    ASSERT_EQ(actual_bits, expected_bits) << "x = " << x[i];
  }
}

TEST(SumPortableExpShiftedTest, MatchesDoubleReferenceForAnyLength) {
  for (const size_t size : {size_t{1}, size_t{7}, size_t{8}, size_t{255}, size_t{256}, size_t{257},
                            size_t{6400}, size_t{151936}}) {
    std::vector<float> x(size);
    double reference = 0.0;
    for (size_t i = 0; i < size; ++i) {
      x[i] = static_cast<float>((i * 7919) % 1000) * 0.01f - 5.0f;
      reference += std::exp(static_cast<double>(x[i]) - 3.0);
    }
    EXPECT_NEAR(SumPortableExpShifted(x, 3.0f), reference, reference * 1e-6) << size;
  }
}

TEST(SumPortableExpShiftedTest, EmptyIsZero) { EXPECT_EQ(SumPortableExpShifted({}, 0.0f), 0.0); }

}  // namespace
}  // namespace minimind
