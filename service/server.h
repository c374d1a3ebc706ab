// Server: one minimind-server — the gRPC server with the Inference, Sessions and Models services,
// grpc.health.v1 health and server reflection, the SessionStore and its reaper, and (once loaded)
// the model and its Engine.
//
// Life cycle: Start() listens at once with health NOT_SERVING (RPCs answer UNAVAILABLE "the model
// is still loading"); LoadModel()/ServeModel() loads the model, starts the engine, then turns
// health SERVING. Shutdown(grace): health NOT_SERVING, stop accepting, let in-flight calls finish
// within `grace`, then cancel the rest (their engine requests are cancelled and their KV freed).
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

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/model/model_bundle.h"
#include "service/inference_service.h"
#include "service/models_service.h"
#include "service/server_options.h"
#include "service/serving_model.h"
#include "service/sessions_service.h"

namespace minimind {

class Server {
 public:
  // Binds options.listen and starts serving health (NOT_SERVING) and reflection. Unavailable when
  // the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<Server>> Start(const ServerOptions& options);

  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server();

  // Loads options.model_path (LoadModelBundle) and serves it.
  absl::Status LoadModel();
  // Serves an already loaded model: creates the engine, publishes, health SERVING.
  absl::Status ServeModel(ModelBundle bundle);

  void Shutdown(absl::Duration grace);
  // Blocks until Shutdown completes.
  void Wait();

  // The bound port (useful with port 0).
  int port() const { return port_; }
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
  std::unique_ptr<ServingModel> model_;
  ModelSlot slot_;
  std::unique_ptr<InferenceService> inference_;
  std::unique_ptr<ModelsService> models_;
  std::unique_ptr<SessionsService> sessions_service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool shut_down_ = false;
};

}  // namespace minimind

#endif  // MINIMIND_SERVICE_SERVER_H_
