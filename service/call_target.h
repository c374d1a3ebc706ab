// CallTarget: where one generation's output goes — a gRPC reactor, or the HTTP API's response.
// Called on the engine thread only; neither method may block (push to a queue and return).
#ifndef MINIMIND_SERVICE_CALL_TARGET_H_
#define MINIMIND_SERVICE_CALL_TARGET_H_

#include <grpcpp/support/status.h>

#include "minimind/v1/inference.pb.h"

namespace minimind {

class CallTarget {
 public:
  virtual ~CallTarget() = default;
  // A message of the stream; `last` marks the final one (finish_reason and usage set). The
  // target may be destroyed after the last one.
  virtual void Deliver(v1::GenerateResponse message, bool last) = 0;
  // The generation failed after submission; the last call. The target may be destroyed after it.
  virtual void Fail(grpc::Status status) = 0;
};

}  // namespace minimind

#endif  // MINIMIND_SERVICE_CALL_TARGET_H_
