// InferenceService: minimind.v1.Inference over the gRPC callback API.
//
// Generate: one ServerWriteReactor per call. The engine thread delivers deltas through a
// GenerationSink; each becomes a GenerateResponse pushed to the call's bounded OutboundQueue
// (outbound_queue.h: coalescing when full, so a slow reader never blocks the engine and loses
// nothing). Exactly one write is in flight; the next starts from OnWriteDone, or from the sink
// when the queue was idle. OnCancel (client cancel, disconnect or deadline) cancels the engine
// request, which frees its KV on the engine's next step. The stream ends after the engine's
// OnFinish: the last message carries finish_reason and usage; Finish is called only then, so the
// reactor outlives every sink call. No reaction blocks: they take the reactor's mutex only for
// queue operations.
//
// Complete: the same, collected into one response by a ServerUnaryReactor.
// Cancel: Engine::Cancel by request_id, from any connection, of the caller's own requests only
// (engine ids are namespaced by tenant: auth/tenant.h).
//
// Tenants: every call is authenticated first (auth/authenticator.h: UNAUTHENTICATED otherwise);
// the tenant owns the sessions it creates, salts the prefix cache, and is held to its limits
// (concurrent requests, max_tokens, its share of the KV pool): RESOURCE_EXHAUSTED naming the
// limit.
//
// Session turns (request.session_id set): BeginTurn on the SessionStore (ABORTED when busy), the
// prompt is the session's tokens + the newly rendered suffix (request_conversion.h), the
// session's KvHandle is passed as resume (unless use_cache=false) with retain_kv. On success the
// turn commits: new messages + the assistant reply appended, tokens and KvHandle replaced. A
// cancelled or failed turn releases the lease, leaving the session as it was.
//
// Thread-safety: the service is shared by all gRPC threads; it holds no mutable state but an
// atomic id counter. The ModelSlot (and the model and session store it publishes) must outlive
// it. Calls before the model is published fail with UNAVAILABLE.
#ifndef MINIMIND_SERVICE_INFERENCE_SERVICE_H_
#define MINIMIND_SERVICE_INFERENCE_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <string>

#include "minimind/v1/inference.grpc.pb.h"
#include "service/call_target.h"
#include "service/service_dependencies.h"

namespace minimind {

class InferenceService final : public v1::Inference::CallbackService {
 public:
  // `deps` (the Server's) must outlive the service.
  explicit InferenceService(const ServiceDependencies& deps);

  grpc::ServerWriteReactor<v1::GenerateResponse>* Generate(
      grpc::CallbackServerContext* context, const v1::GenerateRequest* request) override;
  grpc::ServerUnaryReactor* Complete(grpc::CallbackServerContext* context,
                                     const v1::GenerateRequest* request,
                                     v1::GenerateResponse* response) override;
  grpc::ServerUnaryReactor* Cancel(grpc::CallbackServerContext* context,
                                   const v1::CancelRequest* request,
                                   v1::CancelResponse* response) override;

  // For front ends other than gRPC (the HTTP API, service/http/): prepares and submits `request`
  // for `tenant` (authenticated by the caller; `slot` holds its concurrency count until the
  // engine finishes). On success `target` gets its messages on the engine thread and the returned
  // engine request id cancels the generation (CancelGeneration); on error nothing was submitted.
  absl::StatusOr<std::string> StartGeneration(const Tenant& tenant, RequestSlot slot,
                                              const v1::GenerateRequest& request,
                                              CallTarget* target);
  bool CancelGeneration(const std::string& engine_request_id);

  // Used by the reactors (inference_service.cc).
  const ModelSlot& model() const { return deps_.model; }
  const ServiceDependencies& deps() const { return deps_; }
  std::string NextRequestId();
  ServiceMetrics& metrics() const { return deps_.metrics; }

 private:
  const ServiceDependencies deps_;
  const uint64_t id_salt_;
  std::atomic<uint64_t> next_id_{1};
};

}  // namespace minimind

#endif  // MINIMIND_SERVICE_INFERENCE_SERVICE_H_
