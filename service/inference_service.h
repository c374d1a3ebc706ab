// InferenceService: minimind.v1.Inference over the gRPC callback API — a thin adapter over the
// GenerationCore (service/generation/generation_core.h), which prepares, submits and finishes every
// generation (sessions included) for both front ends.
//
// A session turn's start waits on the session store (BeginTurn): it runs on the session-calls
// executor, never on gRPC's callback threads, which also run every other call's reactions (a
// hung Redis must not stall a stateless stream's writes).
//
// Generate: one ServerWriteReactor per call, the call's GenerationTarget. Each delivered message is
// pushed to the call's bounded OutboundQueue (outbound_queue.h: coalescing when full, so a slow
// reader never blocks the engine and loses nothing). Exactly one write is in flight; the next
// starts from OnWriteDone, or from Deliver when the queue was idle. OnCancel (client cancel,
// disconnect or deadline) cancels the generation, which frees its KV on the engine's next step.
// The stream ends after the core's last call: the last message carries finish_reason and usage
// (for a session turn, after the commit: usage.session_saved); Finish is called only then, so the
// reactor outlives every delivery. No reaction blocks: they take the reactor's mutex only for queue
// operations.
//
// Complete: the same, merged into one response by a ServerUnaryReactor.
// Cancel: by request_id, from any connection, of the caller's own requests only.
//
// Every call is authenticated first (auth/authenticator.h: UNAUTHENTICATED otherwise); the core
// applies the tenant's limits. absl::Status becomes grpc::Status here, once (grpc_status.h).
// Thread-safety: shared by all gRPC threads, no mutable state. `deps` and `core` must outlive it.
#ifndef MINIMIND_SERVICE_INFERENCE_SERVICE_H_
#define MINIMIND_SERVICE_INFERENCE_SERVICE_H_

#include "minimind/v1/inference.grpc.pb.h"
#include "service/generation/generation_core.h"
#include "service/generation/io_executor.h"
#include "service/service_dependencies.h"

namespace minimind {

class InferenceService final : public v1::Inference::CallbackService {
 public:
  // `session_calls` runs session turns' starts (generation/io_executor.h).
  InferenceService(const ServiceDependencies& deps, GenerationCore& core,
                   IoExecutor& session_calls);

  grpc::ServerWriteReactor<v1::GenerateResponse>* Generate(
      grpc::CallbackServerContext* context, const v1::GenerateRequest* request) override;
  grpc::ServerUnaryReactor* Complete(grpc::CallbackServerContext* context,
                                     const v1::GenerateRequest* request,
                                     v1::GenerateResponse* response) override;
  grpc::ServerUnaryReactor* Cancel(grpc::CallbackServerContext* context,
                                   const v1::CancelRequest* request,
                                   v1::CancelResponse* response) override;

  // Used by the reactors (inference_service.cc).
  const ServiceDependencies& deps() const { return deps_; }
  GenerationCore& core() const { return core_; }
  IoExecutor& session_calls() const { return session_calls_; }

 private:
  const ServiceDependencies deps_;
  GenerationCore& core_;
  IoExecutor& session_calls_;
};

}  // namespace minimind

#endif  // MINIMIND_SERVICE_INFERENCE_SERVICE_H_
