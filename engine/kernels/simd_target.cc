#include "engine/kernels/simd_target.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "engine/kernels/simd_target.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace minimind {
namespace HWY_NAMESPACE {

int64_t CompiledTarget() { return HWY_TARGET; }

}  // namespace HWY_NAMESPACE
}  // namespace minimind
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace minimind {
namespace {

HWY_EXPORT(CompiledTarget);

// The Highway target bit of a MINIMIND_SIMD_TARGET name; 0 for "best", -1 if unknown.
int64_t TargetOfName(std::string_view name) {
  if (name == "best") return 0;
  // Whichever portable scalar-code target this build has (EMU128, or SCALAR where the compiler
  // cannot build EMU128).
  if (name == "scalar") return HWY_TARGETS & (HWY_EMU128 | HWY_SCALAR);
  if (name == "sse4") return HWY_SSE4;
  if (name == "avx2") return HWY_AVX2;
  if (name == "avx3") return HWY_AVX3;
  return -1;
}

absl::Status Force(std::string_view name) {
  const int64_t target = TargetOfName(name);
  if (target < 0) {
    return absl::InvalidArgumentError(absl::StrCat("unknown SIMD target '", std::string(name),
                                                   "' (scalar, sse4, avx2, avx3 or best)"));
  }
  if (target != 0 && (hwy::SupportedTargets() & HWY_TARGETS & target) == 0) {
    return absl::FailedPreconditionError(absl::StrCat("SIMD target '", std::string(name),
                                                      "' is not supported by this CPU or build"));
  }
  hwy::SetSupportedTargetsForTest(target);
  return absl::OkStatus();
}

}  // namespace

void ChooseSimdTargetOnce() {
  static const bool chosen = [] {
    const char* name = std::getenv("MINIMIND_SIMD_TARGET");
    if (name != nullptr && *name != '\0') {
      if (absl::Status status = Force(name); !status.ok()) {
        std::fprintf(stderr, "MINIMIND_SIMD_TARGET ignored: %s\n", status.ToString().c_str());
      }
    }
    return true;
  }();
  (void)chosen;
}

std::string_view SimdTargetName() {
  ChooseSimdTargetOnce();
  return hwy::TargetName(HWY_DYNAMIC_DISPATCH(CompiledTarget)());
}

absl::Status ForceSimdTarget(std::string_view name) {
  ChooseSimdTargetOnce();
  return Force(name);
}

}  // namespace minimind
#endif  // HWY_ONCE
