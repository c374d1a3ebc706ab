// GenerationSink: where a generation's output goes. Implemented by the caller of Engine::Submit
// (a gRPC reactor, a test collector). Both methods are called on the engine thread, in order:
// any number of OnDelta, then OnFinish exactly once (never called at all when Submit fails).
// Implementations must not block and must not call back into the Engine synchronously except
// Cancel/Submit/Stats, which only take the inbox lock.
#ifndef MINIMIND_ENGINE_SCHEDULER_GENERATION_SINK_H_
#define MINIMIND_ENGINE_SCHEDULER_GENERATION_SINK_H_

#include "absl/status/statusor.h"
#include "engine/scheduler/generation_result.h"
#include "engine/scheduler/token_delta.h"

namespace minimind {

class GenerationSink {
 public:
  virtual ~GenerationSink() = default;
  virtual void OnDelta(const TokenDelta& delta) = 0;
  // Last call. A cancelled request finishes OK with FinishReason::kCancelled; errors (the
  // request could not be scheduled or the model produced bad logits) come as a status.
  virtual void OnFinish(absl::StatusOr<GenerationResult> result) = 0;
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_SCHEDULER_GENERATION_SINK_H_
