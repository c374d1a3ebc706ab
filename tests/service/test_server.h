// Test helpers for the service tests: a tiny random model with the byte-level tokenizer (ChatML
// template) written to a scratch directory, an in-process Server on a free port, and client stubs.
#ifndef MINIMIND_TESTS_SERVICE_TEST_SERVER_H_
#define MINIMIND_TESTS_SERVICE_TEST_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "minimind/v1/inference.grpc.pb.h"
#include "minimind/v1/models.grpc.pb.h"
#include "minimind/v1/sessions.grpc.pb.h"
#include "service/server.h"

namespace minimind::testing {

// Writes config.json, model.safetensors, tokenizer.json and tokenizer_config.json of a small
// random qwen3 model (vocabulary 259) into `dir`.
absl::Status WriteTinyModel(const std::string& dir);

// An in-process server on 127.0.0.1 and stubs connected to it.
struct TestServer {
  std::unique_ptr<Server> server;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Inference::Stub> inference;
  std::unique_ptr<v1::Sessions::Stub> sessions;
  std::unique_ptr<v1::Models::Stub> models;

  // A new channel to the same server (another connection).
  std::shared_ptr<grpc::Channel> NewChannel() const;
};

// Starts a server with `options` (listen is overridden to 127.0.0.1:0); when `model_dir` is not
// empty, also serves the model there.
absl::StatusOr<TestServer> StartTestServer(ServerOptions options, const std::string& model_dir);

// A unary call of `method` with serialized request bytes (no generated stub needed; a streaming
// method answers as unary when it replies once and ends at the client's end of stream): the
// status and, when OK, the response's bytes. 10-second deadline.
std::pair<grpc::Status, std::string> RawUnaryCall(grpc::Channel& channel, const std::string& method,
                                                 const std::string& request_bytes);

// grpc.health.v1.Health/Check for the whole server ("" service): 1 SERVING, 2 NOT_SERVING, or a
// negative value when the call failed.
int HealthStatus(grpc::Channel& channel);

}  // namespace minimind::testing

#endif  // MINIMIND_TESTS_SERVICE_TEST_SERVER_H_
