#include "tests/service/test_server.h"

#include <grpcpp/generic/generic_stub.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/model/random_checkpoint.h"
#include "engine/tokenizer/byte_tokenizer_files.h"

namespace minimind::testing {

absl::Status WriteTinyModel(const std::string& dir) {
  std::filesystem::create_directories(dir);
  absl::StatusOr<int64_t> vocab = WriteByteTokenizerFiles(dir);
  if (!vocab.ok()) return vocab.status();
  RandomCheckpointOptions options;
  options.vocab_size = *vocab;
  options.hidden_size = 128;
  options.num_layers = 2;
  options.num_heads = 4;
  options.num_kv_heads = 2;
  options.head_dim = 32;
  options.intermediate_size = 256;
  options.max_position_embeddings = 4096;
  options.seed = 7;
  return WriteRandomCheckpoint(options, dir);
}

std::shared_ptr<grpc::Channel> TestServer::NewChannel() const {
  grpc::ChannelArguments args;
  // A distinct argument forces a separate connection instead of a shared subchannel.
  args.SetInt("minimind.test.channel", static_cast<int>(reinterpret_cast<uintptr_t>(&args)));
  return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", server->port()),
                                   grpc::InsecureChannelCredentials(), args);
}

absl::StatusOr<TestServer> StartTestServer(ServerOptions options, const std::string& model_dir) {
  options.listen = "127.0.0.1:0";
  absl::StatusOr<std::unique_ptr<Server>> server = Server::Start(options);
  if (!server.ok()) return server.status();
  if (!model_dir.empty()) {
    ModelBundleOptions bundle_options;
    bundle_options.model_path = model_dir;
    absl::StatusOr<ModelBundle> bundle = LoadModelBundle(bundle_options);
    if (!bundle.ok()) return bundle.status();
    if (absl::Status s = (*server)->ServeModel(*std::move(bundle)); !s.ok()) return s;
  }
  TestServer test;
  test.server = *std::move(server);
  test.channel = test.NewChannel();
  test.inference = v1::Inference::NewStub(test.channel);
  test.sessions = v1::Sessions::NewStub(test.channel);
  test.models = v1::Models::NewStub(test.channel);
  return test;
}

std::pair<grpc::Status, std::string> RawUnaryCall(grpc::Channel& channel, const std::string& method,
                                                  const std::string& request_bytes) {
  grpc::GenericStub stub(std::shared_ptr<grpc::Channel>(&channel, [](grpc::Channel*) {}));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::Slice slice(request_bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, method, grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status status) { done.set_value(std::move(status)); });
  grpc::Status status = done.get_future().get();
  std::string bytes;
  std::vector<grpc::Slice> slices;
  if (status.ok() && response.Dump(&slices).ok()) {
    for (const grpc::Slice& part : slices) {
      bytes.append(reinterpret_cast<const char*>(part.begin()), part.size());
    }
  }
  return {std::move(status), std::move(bytes)};
}

int HealthStatus(grpc::Channel& channel) {
  // HealthCheckRequest{service: ""} serializes to no bytes.
  auto [status, bytes] = RawUnaryCall(channel, "/grpc.health.v1.Health/Check", "");
  if (!status.ok()) return -1;
  // HealthCheckResponse{status = 1}: field 1, varint.
  if (bytes.size() == 2 && bytes[0] == 0x08) return bytes[1];
  if (bytes.empty()) return 0;  // UNKNOWN
  return -3;
}

}  // namespace minimind::testing
