// GenerationTarget: where one generation's output goes — a gRPC reactor or an HTTP response; the
// generation core (generation_core.h) does not know which.
//
// Called on the engine thread (deltas) or on the commits executor (a session turn's last message or
// failure, after the commit); never both at once for one target, in the order produced. Neither
// method may block: push to a queue and return. Errors arrive as absl::Status; each front end
// converts them once, at its edge.
#ifndef MINIMIND_SERVICE_GENERATION_GENERATION_TARGET_H_
#define MINIMIND_SERVICE_GENERATION_GENERATION_TARGET_H_

#include "absl/status/status.h"
#include "minimind/v1/inference.pb.h"

namespace minimind {

class GenerationTarget {
 public:
  virtual ~GenerationTarget() = default;
  // A message of the stream; `last` marks the final one (finish_reason and usage set). The
  // target may be destroyed after the last one.
  virtual void Deliver(v1::GenerateResponse message, bool last) = 0;
  // The generation failed after submission; the last call. The target may be destroyed after it.
  virtual void Fail(absl::Status status) = 0;
};

}  // namespace minimind

#endif  // MINIMIND_SERVICE_GENERATION_GENERATION_TARGET_H_
