// Which SIMD instruction set the kernels run on. Every kernel is compiled for several Highway
// targets (EMU128 — portable scalar code —, SSE4, AVX2, AVX-512) and dispatches at run time to
// the best one the CPU supports, so one binary runs everywhere. All targets compute bitwise the
// same results (reduction.h), so the choice affects speed only.
//
// The choice is made once per process, on the first kernel call: the best supported target, or
// the one named by the environment variable MINIMIND_SIMD_TARGET (scalar | sse4 | avx2 | avx3;
// an unknown or unsupported name is reported on stderr and ignored). Tests may switch targets
// with ForceSimdTarget between kernel calls; that is not safe while other threads run kernels.
#ifndef MINIMIND_ENGINE_KERNELS_SIMD_TARGET_H_
#define MINIMIND_ENGINE_KERNELS_SIMD_TARGET_H_

#include <string_view>

#include "absl/status/status.h"

namespace minimind {

// The target the kernels dispatch to: "EMU128", "SSE4", "AVX2", "AVX3" (for logs, metrics and
// benchmark labels).
std::string_view SimdTargetName();

// Restricts the kernels to `name` (scalar | sse4 | avx2 | avx3), or back to the best supported
// target for "best". InvalidArgument for an unknown name, FailedPrecondition if this CPU lacks it.
absl::Status ForceSimdTarget(std::string_view name);

// Applies MINIMIND_SIMD_TARGET the first time it is called; cheap afterwards. Every kernel entry
// point calls it before dispatching.
void ChooseSimdTargetOnce();

}  // namespace minimind

#endif  // MINIMIND_ENGINE_KERNELS_SIMD_TARGET_H_
