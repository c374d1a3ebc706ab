// grpc.health.v1 and reflection through the real server (service/health_service.h): open by
// default, credentials required with --health-auth on, Watch streams every change and ends at
// shutdown, reflection served or not by --reflection.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "engine/model/model_bundle.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "service/auth/sha256.h"
#include "tests/service/test_server.h"

namespace minimind {
namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;
using ::testing::HasSubstr;

constexpr char kKey[] = "key-of-the-health-test";

class HealthServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(
        (std::filesystem::temp_directory_path() / absl::StrCat("minimind_health_test_", getpid()))
            .string());
    std::filesystem::create_directories(*dir_ + "/model");
    ASSERT_TRUE(testing::WriteTinyModel(*dir_ + "/model").ok());
    std::ofstream(*dir_ + "/keys.json") << R"({"tenants": {"t": {}}, "keys": [{"sha256": ")"
                                        << Sha256Hex(Sha256(kKey)) << R"(", "tenant": "t"}]})";
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }

  static ServerOptions Options() {
    ServerOptions options;
    options.kv_cache_memory_bytes = 8 << 20;
    options.api_keys_file = *dir_ + "/keys.json";
    return options;
  }
  static testing::TestServer Start(const ServerOptions& options, bool with_model = true) {
    absl::StatusOr<testing::TestServer> server =
        testing::StartTestServer(options, with_model ? *dir_ + "/model" : "");
    EXPECT_TRUE(server.ok()) << server.status();
    return *std::move(server);
  }

  // Check of `service` with `key` (none when null): the status, and the serving status when OK.
  static std::pair<grpc::Status, int> Check(grpc::Channel& channel, const std::string& service,
                                            const char* key) {
    std::unique_ptr<Health::Stub> stub =
        Health::NewStub(std::shared_ptr<grpc::Channel>(&channel, [](grpc::Channel*) {}));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (key != nullptr) context.AddMetadata("authorization", absl::StrCat("Bearer ", key));
    HealthCheckRequest request;
    request.set_service(service);
    HealthCheckResponse response;
    grpc::Status status = stub->Check(&context, request, &response);
    return {status, static_cast<int>(response.status())};
  }

  // ServerReflectionInfo with one list_services request (field 7 = ""), called as unary.
  static std::pair<grpc::Status, std::string> ListServices(grpc::Channel& channel) {
    return testing::RawUnaryCall(
        channel, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        std::string("\x3a\x00", 2));
  }

  static std::string* dir_;
};

std::string* HealthServiceTest::dir_ = nullptr;

TEST_F(HealthServiceTest, OpenByDefaultEvenWithApiKeys) {
  testing::TestServer test = Start(Options());
  auto [status, serving] = Check(*test.channel, "", nullptr);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(serving, HealthCheckResponse::SERVING);
}

TEST_F(HealthServiceTest, HealthAuthOnRequiresCredentialsLikeAnyCall) {
  ServerOptions options = Options();
  options.health_auth = true;
  testing::TestServer test = Start(options);
  auto [missing, unused1] = Check(*test.channel, "", nullptr);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(missing.error_message(), HasSubstr("authorization: Bearer KEY"));
  auto [wrong, unused2] = Check(*test.channel, "", "not-the-key");
  EXPECT_EQ(wrong.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(wrong.error_message(), "invalid API key");
  auto [ok, serving] = Check(*test.channel, "minimind.v1.Inference", kKey);
  ASSERT_TRUE(ok.ok()) << ok.error_message();
  EXPECT_EQ(serving, HealthCheckResponse::SERVING);

  // A Watch without credentials ends at once with the same answer.
  std::unique_ptr<Health::Stub> stub = Health::NewStub(test.channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  std::unique_ptr<grpc::ClientReader<HealthCheckResponse>> watch =
      stub->Watch(&context, HealthCheckRequest());
  HealthCheckResponse response;
  EXPECT_FALSE(watch->Read(&response));
  EXPECT_EQ(watch->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(HealthServiceTest, CheckKnowsTheServedServicesAndBoundsTheName) {
  testing::TestServer test = Start(Options());
  for (const char* service :
       {"minimind.v1.Inference", "minimind.v1.Sessions", "minimind.v1.Models"}) {
    auto [status, serving] = Check(*test.channel, service, nullptr);
    ASSERT_TRUE(status.ok()) << service << ": " << status.error_message();
    EXPECT_EQ(serving, HealthCheckResponse::SERVING) << service;
  }
  auto [unknown, unused1] = Check(*test.channel, "no.such.Service", nullptr);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(unknown.error_message(), "unknown service \"no.such.Service\"");
  auto [too_long, unused2] = Check(*test.channel, std::string(201, 'x'), nullptr);
  EXPECT_EQ(too_long.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(too_long.error_message(), "service: 201 bytes exceeds the limit of 200");
}

TEST_F(HealthServiceTest, WatchSendsEveryChangeAndEndsAtShutdown) {
  testing::TestServer test = Start(Options(), /*with_model=*/false);
  std::unique_ptr<Health::Stub> stub = Health::NewStub(test.channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  std::unique_ptr<grpc::ClientReader<HealthCheckResponse>> watch =
      stub->Watch(&context, HealthCheckRequest());
  HealthCheckResponse response;
  ASSERT_TRUE(watch->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING);  // No model yet.

  ModelBundleOptions bundle_options;
  bundle_options.model_path = *dir_ + "/model";
  absl::StatusOr<ModelBundle> bundle = LoadModelBundle(bundle_options);
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  ASSERT_TRUE(test.server->ServeModel(*std::move(bundle)).ok());
  ASSERT_TRUE(watch->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);

  std::thread shutdown([&test] { test.server->Shutdown(absl::Seconds(1)); });
  ASSERT_TRUE(watch->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING);  // The drain began.
  EXPECT_FALSE(watch->Read(&response));
  const grpc::Status end = watch->Finish();
  shutdown.join();
  EXPECT_TRUE(end.ok()) << end.error_code() << " " << end.error_message();
}

TEST_F(HealthServiceTest, ReflectionIsServedUnlessTurnedOff) {
  testing::TestServer on = Start(Options());
  auto [listed, bytes] = ListServices(*on.channel);
  ASSERT_TRUE(listed.ok()) << listed.error_message();
  EXPECT_THAT(bytes, HasSubstr("minimind.v1.Inference"));
  EXPECT_THAT(bytes, HasSubstr("grpc.health.v1.Health"));

  ServerOptions options = Options();
  options.reflection = false;
  testing::TestServer off = Start(options);
  EXPECT_EQ(ListServices(*off.channel).first.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  // The server it was turned off on still serves everything else.
  EXPECT_TRUE(Check(*off.channel, "", nullptr).first.ok());
}

}  // namespace
}  // namespace minimind
