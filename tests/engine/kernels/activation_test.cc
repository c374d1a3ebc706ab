#include "engine/kernels/activation.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace minimind {
namespace {

TEST(ActivationTest, SiluMatchesDefinition) {
  for (float x : {-20.0f, -3.5f, -1.0f, -0.1f, 0.0f, 0.3f, 1.0f, 4.0f, 30.0f}) {
    const double expected = x / (1.0 + std::exp(-static_cast<double>(x)));
    EXPECT_NEAR(Silu(x), expected, 1e-6 * (1 + std::fabs(expected))) << x;
  }
}

TEST(ActivationTest, SiluOfVeryNegativeInputIsZeroNotNan) {
  EXPECT_EQ(Silu(-1000.0f), 0.0f);
  EXPECT_FALSE(std::isnan(Silu(-1000.0f)));
}

TEST(ActivationTest, SwiGluMultipliesGateActivationByUp) {
  const std::vector<float> gate = {-1.0f, 0.0f, 2.0f};
  const std::vector<float> up = {3.0f, 5.0f, -0.5f};
  std::vector<float> out(3);
  SwiGlu(gate.data(), up.data(), 3, out.data());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(out[i], Silu(gate[i]) * up[i]);
  EXPECT_NEAR(out[0], -0.26894142 * 3, 1e-6);
  EXPECT_EQ(out[1], 0.0f);
}

}  // namespace
}  // namespace minimind
