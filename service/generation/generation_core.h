// GenerationCore: the one generation path under every front end (gRPC's Inference service and the
// OpenAI HTTP API are thin adapters over it). It owns, once for both:
//   - request preparation: limits, sampling parameters, the tenant's max_tokens and KV share,
//     the max_tokens default (the server cap clipped to what the prompt leaves of the context and
//     the KV pool, so an unset max_tokens never fails admission), the prompt (raw text, token ids
//     or rendered chat messages), prefix-cache salting by tenant;
//   - request ids (a server-assigned id when the client sent none; engine ids namespaced by
//     tenant, auth/tenant.h);
//   - the tenant's concurrent-request slot, held until the engine finishes;
//   - the session-turn protocol: BeginTurn (ABORTED when busy), the prompt as the session's
//     tokens + the newly rendered suffix, the session's KV as resume (unless use_cache=false),
//     and at the end the commit — on the IoExecutor, never on the engine thread. The last
//     message is delivered only after the store answered, with usage.session_saved saying whether
//     the turn was appended (and session_save_error why not). A cancelled or failed turn releases
//     its lease there too, leaving the session as it was.
//   - the conversion of engine events to minimind.v1 messages.
//
// Errors are absl::Status; each front end converts them at its edge. Thread-safety: every method
// from any thread; the only mutable state is an atomic id counter. The ModelSlot, metrics and
// usage must outlive the core, and the published ServingModel every generation it started.
#ifndef MINIMIND_SERVICE_GENERATION_GENERATION_CORE_H_
#define MINIMIND_SERVICE_GENERATION_GENERATION_CORE_H_

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "minimind/v1/inference.pb.h"
#include "service/auth/tenant.h"
#include "service/auth/tenant_usage.h"
#include "service/generation/generation_target.h"
#include "service/metrics/service_metrics.h"
#include "service/serving_model.h"

namespace minimind {

class GenerationCore {
 public:
  GenerationCore(const ModelSlot& model, ServiceMetrics& metrics, TenantUsage& usage);

  // Prepares and submits `request` for `tenant` (authenticated by the front end). On success
  // `target` gets the generation's messages (generation_target.h) and the returned engine request
  // id cancels it (Cancel); on error nothing was submitted and no slot or lease is held.
  // UNAVAILABLE while the model loads or the server drains; RESOURCE_EXHAUSTED at the tenant's
  // concurrency limit; the request's own errors otherwise.
  absl::StatusOr<std::string> Start(const Tenant& tenant, const v1::GenerateRequest& request,
                                    GenerationTarget* target);

  // Cancels a generation by the id Start returned. False if it is not live.
  bool Cancel(const std::string& engine_request_id);
  // Cancels `tenant`'s generation of client request id `request_id` (another tenant's is simply
  // not live for it). False if none is live. Works while draining.
  bool CancelForTenant(const Tenant& tenant, absl::string_view request_id);

  // "req-<16 hex digits of this process>-<n>": unique across replicas and restarts.
  std::string NextRequestId();

 private:
  const ModelSlot& model_;
  ServiceMetrics& metrics_;
  TenantUsage& usage_;
  const uint64_t id_salt_;
  std::atomic<uint64_t> next_id_{1};
};

}  // namespace minimind

#endif  // MINIMIND_SERVICE_GENERATION_GENERATION_CORE_H_
