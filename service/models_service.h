// ModelsService: minimind.v1.Models — what model is loaded, the KV cache's configuration and
// occupancy, and the model's tokenizer. Every RPC completes inline (no engine work: Stats is a
// snapshot read). UNAVAILABLE until the model is published. Thread-safe; the slot must outlive it.
#ifndef MINIMIND_SERVICE_MODELS_SERVICE_H_
#define MINIMIND_SERVICE_MODELS_SERVICE_H_

#include "minimind/v1/models.grpc.pb.h"
#include "service/service_dependencies.h"

namespace minimind {

class ModelsService final : public v1::Models::CallbackService {
 public:
  explicit ModelsService(const ServiceDependencies& deps);

  grpc::ServerUnaryReactor* GetModelInfo(grpc::CallbackServerContext* context,
                                         const v1::GetModelInfoRequest* request,
                                         v1::ModelInfo* response) override;
  grpc::ServerUnaryReactor* Tokenize(grpc::CallbackServerContext* context,
                                     const v1::TokenizeRequest* request,
                                     v1::TokenizeResponse* response) override;
  grpc::ServerUnaryReactor* Detokenize(grpc::CallbackServerContext* context,
                                       const v1::DetokenizeRequest* request,
                                       v1::DetokenizeResponse* response) override;

 private:
  const ServiceDependencies deps_;
};

}  // namespace minimind

#endif  // MINIMIND_SERVICE_MODELS_SERVICE_H_
