#include "engine/kernels/simd_target.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "engine/kernels/activation.h"
#include "engine/kernels/attention.h"
#include "engine/kernels/exp.h"
#include "engine/kernels/float_convert.h"
#include "engine/kernels/matmul.h"
#include "engine/kernels/reduction.h"
#include "engine/kernels/rms_norm.h"
#include "engine/kernels/rope.h"
#include "engine/kernels/softmax.h"
#include "gtest/gtest.h"
#include "tests/support/random_vectors.h"

namespace minimind {
namespace {

using ::minimind::testing::RandomVector;

bool BitwiseEqual(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Every kernel's outputs on odd sizes (partial vectors, tiles and panels everywhere), in order.
std::vector<std::vector<float>> RunAllKernels() {
  std::vector<std::vector<float>> results;
  constexpr int64_t kIn = 67;
  constexpr int64_t kOut = 53;
  const std::vector<float> weights = RandomVector(kOut * kIn, 1);
  std::vector<uint16_t> f16(weights.size()), bf16(weights.size());
  for (size_t i = 0; i < weights.size(); ++i) {
    f16[i] = F32ToF16(weights[i]);
    bf16[i] = F32ToBF16(weights[i]);
  }
  const std::vector<float> bias = RandomVector(kOut, 2);
  for (const DType dtype : {DType::kF32, DType::kF16, DType::kBF16}) {
    const WeightMatrix weight{.dtype = dtype,
                              .data = dtype == DType::kF32
                                          ? static_cast<const void*>(weights.data())
                                      : dtype == DType::kF16 ? f16.data()
                                                             : bf16.data(),
                              .rows = kOut,
                              .cols = kIn};
    for (const int64_t rows : {1, 3, 4, 7, 130}) {
      const std::vector<float> x = RandomVector(rows * kIn, 3 + rows);
      std::vector<float> out(rows * kOut);
      MatMul(x.data(), rows, weight, bias.data(), out.data());
      results.push_back(out);
    }
  }
  constexpr int64_t kHeadDim = 64;
  constexpr int64_t kKeys = 45;
  const std::vector<float> keys = RandomVector(kKeys * kHeadDim, 4);
  const std::vector<float> values = RandomVector(kKeys * kHeadDim, 5);
  const std::vector<float> queries = RandomVector(3 * kHeadDim, 6);
  const KvRun run{.num_positions = kKeys,
                  .type = KvElementType::kF32,
                  .keys = keys.data(),
                  .values = values.data(),
                  .stride = kHeadDim};
  std::vector<float> outs(3 * kHeadDim);
  std::vector<AttentionQuery> group;
  for (int64_t q = 0; q < 3; ++q) {
    group.push_back(
        {.query = &queries[q * kHeadDim], .num_keys = 20 + q * 12, .out = &outs[q * kHeadDim]});
  }
  std::vector<float> scratch(AttendQueriesScratchSize(3, kKeys, kHeadDim));
  AttendQueries(group, kHeadDim, {&run, 1}, 0.125f, scratch.data());
  results.push_back(outs);
  const std::vector<float> x = RandomVector(kIn, 7);
  const std::vector<float> gamma = RandomVector(kIn, 8);
  std::vector<float> out(kIn);
  RmsNorm(x.data(), gamma.data(), kIn, 1e-6f, out.data());
  results.push_back(out);
  std::vector<float> softmax = x;
  SoftmaxInPlace(softmax.data(), kIn);
  results.push_back(softmax);
  LogSoftmax(x.data(), kIn, out.data());
  results.push_back(out);
  SwiGlu(x.data(), gamma.data(), kIn, out.data());
  results.push_back(out);
  Exp(x.data(), kIn, out.data());
  results.push_back(out);
  std::vector<float> head = RandomVector(kHeadDim + 36, 9);
  const std::vector<float> angles = RandomVector(head.size(), 10);
  ApplyRope(angles.data(), angles.data() + head.size() / 2, head.size(), head.data());
  results.push_back(head);
  return results;
}

class SimdTargetTest : public ::testing::Test {
 protected:
  void TearDown() override { EXPECT_TRUE(ForceSimdTarget("best").ok()); }
};

TEST_F(SimdTargetTest, NamesTheTargetInUse) {
  ASSERT_TRUE(ForceSimdTarget("scalar").ok());
  EXPECT_EQ(SimdTargetName(), "SCALAR");
  ASSERT_TRUE(ForceSimdTarget("best").ok());
  EXPECT_FALSE(SimdTargetName().empty());
}

TEST_F(SimdTargetTest, RejectsUnknownNames) {
  EXPECT_EQ(ForceSimdTarget("avx9").code(), absl::StatusCode::kInvalidArgument);
}

// reduction.h's promise: the same bits on every target (FMA in hardware or std::fma).
TEST_F(SimdTargetTest, EveryTargetGivesTheScalarTargetsBits) {
  ASSERT_TRUE(ForceSimdTarget("scalar").ok());
  const std::vector<std::vector<float>> scalar = RunAllKernels();
  for (const char* name : {"sse4", "avx2", "avx3", "best"}) {
    if (!ForceSimdTarget(name).ok()) continue;  // Not on this CPU.
    const std::vector<std::vector<float>> results = RunAllKernels();
    ASSERT_EQ(results.size(), scalar.size());
    for (size_t i = 0; i < results.size(); ++i) {
      EXPECT_TRUE(BitwiseEqual(results[i], scalar[i]))
          << name << " (" << SimdTargetName() << "), kernel output " << i;
    }
  }
}

// The scalar target against the plain reference: MatMul equals reduction.h's Dot, bias last.
TEST_F(SimdTargetTest, ScalarTargetMatMulEqualsTheReferenceDot) {
  ASSERT_TRUE(ForceSimdTarget("scalar").ok());
  constexpr int64_t kIn = 41;
  constexpr int64_t kOut = 10;
  constexpr int64_t kRows = 6;
  const std::vector<float> w = RandomVector(kOut * kIn, 11);
  const std::vector<float> x = RandomVector(kRows * kIn, 12);
  std::vector<float> out(kRows * kOut);
  MatMul(x.data(), kRows, {.dtype = DType::kF32, .data = w.data(), .rows = kOut, .cols = kIn},
         nullptr, out.data());
  for (int64_t r = 0; r < kRows; ++r) {
    for (int64_t o = 0; o < kOut; ++o) {
      EXPECT_EQ(out[r * kOut + o], Dot(&x[r * kIn], &w[o * kIn], kIn)) << r << " " << o;
    }
  }
}

}  // namespace
}  // namespace minimind
