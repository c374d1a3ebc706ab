// Server: one minimind-server — the gRPC server with the Inference, Sessions and Models services,
// grpc.health.v1 health and server reflection, the SessionStore and its reaper, and (once loaded)
// the model and its Engine.
//
// Life cycle: Start() listens at once with health NOT_SERVING (RPCs answer UNAVAILABLE "the model
// is still loading"), and serves /metrics on its own HTTP listener when options.metrics_listen is
// set; LoadModel()/ServeModel() loads the model, starts the engine, then turns health SERVING.
// Shutdown(grace) drains: health NOT_SERVING and new calls UNAVAILABLE "draining" at once;
// requests in flight run on for up to `grace`; those still live then are cancelled, so their
// streams end with a final message (FINISH_REASON_CANCELLED, usage) and status OK; then the gRPC
// server stops and the session store releases its KV, after which no KV block may be in use.
// The destructor shuts down with no grace if Shutdown was not called.
//
// Ownership: the Server owns everything above; destruction order is the gRPC server, then the
// ServingModel (reaper, session store — whose handles post their blocks to the still-running
// engine — engine, model). Thread-safety: Start/LoadModel/Shutdown from one controlling thread;
// accessors are safe from any thread.
#ifndef MINIMIND_SERVICE_SERVER_H_
#define MINIMIND_SERVICE_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/model/model_bundle.h"
#include "service/auth/authenticator.h"
#include "service/auth/tenant_usage.h"
#include "service/generation/generation_core.h"
#include "service/generation/session_admin.h"
#include "service/health_service.h"
#include "service/http/openai_http_server.h"
#include "service/inference_service.h"
#include "service/metrics/metrics_http_server.h"
#include "service/metrics/service_metrics.h"
#include "service/models_service.h"
#include "service/server_options.h"
#include "service/serving_model.h"
#include "service/sessions_service.h"

namespace minimind {

// What a drain did (Server::Shutdown), for the log line of the process's last words.
struct DrainReport {
  int64_t in_flight = 0;  // requests live when the drain began
  int64_t cancelled = 0;  // still live when the grace period ran out; cancelled
  absl::Duration took;
  // Blocks in use after every call ended and the sessions released their KV: 0 unless something
  // leaked. -1 when no model was served.
  int64_t kv_blocks_in_use = -1;
  // Sessions written to --session-state-file; -1 when none was written.
  int64_t sessions_saved = -1;
};

class Server {
 public:
  // Binds options.listen and starts serving health (NOT_SERVING) and reflection. Unavailable when
  // the address cannot be bound; InvalidArgument for unusable TLS files or API keys file.
  static absl::StatusOr<std::unique_ptr<Server>> Start(const ServerOptions& options);

  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server();

  // Loads options.model_path (LoadModelBundle) and serves it.
  absl::Status LoadModel();
  // Serves an already loaded model: creates the engine, publishes, health SERVING.
  absl::Status ServeModel(ModelBundle bundle);

  // See the life cycle above. Idempotent; the second call reports nothing.
  DrainReport Shutdown(absl::Duration grace);
  // Blocks until Shutdown completes.
  void Wait();

  // The bound port (useful with port 0).
  int port() const { return port_; }
  // Re-reads --api-keys-file (SIGHUP): new calls see the new keys, calls in flight keep their
  // tenant; on error the old keys stay in force. OK without a file.
  absl::Status ReloadApiKeys();

  // The OpenAI-compatible HTTP API's port; 0 without --http-listen.
  int http_port() const;

  // The /metrics HTTP port; 0 without a metrics listener.
  int metrics_port() const;
  // The /metrics body as a scrape would get it.
  std::string RenderMetrics() const;
  // Null until the model is served.
  SessionStore* sessions() {
    ServingModel* model = slot_.get();
    return model == nullptr ? nullptr : model->sessions.get();
  }
  // Null until the model is served.
  Engine* engine() {
    ServingModel* model = slot_.get();
    return model == nullptr ? nullptr : model->engine.get();
  }

 private:
  explicit Server(const ServerOptions& options);

  ServerOptions options_;
  ServiceMetrics metrics_;
  std::unique_ptr<Authenticator> authenticator_;
  TenantUsage usage_;
  std::unique_ptr<ServingModel> model_;
  ModelSlot slot_;
  std::unique_ptr<GenerationCore> core_;  // Under both front ends.
  std::unique_ptr<SessionAdmin> session_admin_;
  // gRPC calls that wait on the session store run here, off gRPC's callback threads. Destroyed
  // after the gRPC server and before the model (it runs whatever is still queued).
  std::unique_ptr<IoExecutor> session_calls_;
  std::unique_ptr<InferenceService> inference_;
  std::unique_ptr<ModelsService> models_;
  std::unique_ptr<SessionsService> sessions_service_;
  std::unique_ptr<HealthService> health_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<MetricsHttpServer> metrics_http_;  // Stopped before anything it reads goes.
  std::unique_ptr<OpenAiHttpServer> openai_http_;    // Likewise.
  int port_ = 0;
  bool shut_down_ = false;
  uint64_t model_fingerprint_ = 0;  // of the served model (KV spill files, session state file)
};

}  // namespace minimind

#endif  // MINIMIND_SERVICE_SERVER_H_
