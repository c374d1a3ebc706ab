// PeerCertificateSubject over real connections: a gRPC server with MakeServerCredentials'
// credentials and a generic service that records what each call's client proved to be.
#include "service/auth/peer_identity.h"

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "service/server_credentials.h"
#include "tests/service/test_certificates.h"
#include "tests/support/test_paths.h"

namespace minimind {
namespace {

// Answers every call at once with OK, recording PeerCertificateSubject of its context.
class RecordingService : public grpc::CallbackGenericService {
 public:
  std::vector<std::optional<std::string>> subjects() {
    std::lock_guard<std::mutex> lock(mutex_);
    return subjects_;
  }

 private:
  class Reactor : public grpc::ServerGenericBidiReactor {
   public:
    explicit Reactor(grpc::Status status) { Finish(std::move(status)); }
    void OnDone() override { delete this; }
  };

  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override {
    std::lock_guard<std::mutex> lock(mutex_);
    subjects_.push_back(PeerCertificateSubject(*context));
    return new Reactor(grpc::Status::OK);
  }

  std::mutex mutex_;
  std::vector<std::optional<std::string>> subjects_;
};

class PeerIdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::ScratchPath("tls").string();
    absl::StatusOr<testing::TestCertificates> files = testing::WriteTestCertificates(dir_);
    if (absl::IsUnavailable(files.status())) GTEST_SKIP() << files.status().message();
    ASSERT_TRUE(files.ok()) << files.status();
    files_ = *files;
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now());
    std::filesystem::remove_all(dir_);
  }

  void StartServer(const ServerOptions& options) {
    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
        MakeServerCredentials(options);
    ASSERT_TRUE(credentials.ok()) << credentials.status();
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", *credentials, &port_);
    builder.RegisterCallbackGenericService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }

  ServerOptions Tls() const {
    ServerOptions options;
    options.tls_cert = files_.server_cert;
    options.tls_key = files_.server_key;
    return options;
  }

  // One call; `cert` and `key` empty: no client certificate. `tls` false: plaintext.
  grpc::Status Call(bool tls, const std::string& cert = "", const std::string& key = "") {
    std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
    grpc::ChannelArguments arguments;
    if (tls) {
      grpc::SslCredentialsOptions ssl;
      ssl.pem_root_certs = testing::ReadFileOrEmpty(files_.ca);
      if (!cert.empty()) {
        ssl.pem_cert_chain = testing::ReadFileOrEmpty(cert);
        ssl.pem_private_key = testing::ReadFileOrEmpty(key);
      }
      credentials = grpc::SslCredentials(ssl);
      arguments.SetSslTargetNameOverride("localhost");
    }
    grpc::GenericStub stub(
        grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port_), credentials, arguments));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::Slice empty("");
    grpc::ByteBuffer request(&empty, 1);
    grpc::ByteBuffer response;
    std::promise<grpc::Status> done;
    stub.UnaryCall(&context, "/test.Peer/Who", grpc::StubOptions(), &request, &response,
                   [&done](grpc::Status status) { done.set_value(std::move(status)); });
    return done.get_future().get();
  }

  std::string dir_;
  testing::TestCertificates files_;
  RecordingService service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

TEST_F(PeerIdentityTest, PlaintextHasNoSubject) {
  StartServer(ServerOptions());
  ASSERT_TRUE(Call(/*tls=*/false).ok());
  ASSERT_EQ(service_.subjects().size(), 1u);
  EXPECT_EQ(service_.subjects()[0], std::nullopt);
}

TEST_F(PeerIdentityTest, ServerOnlyTlsHasNoSubject) {
  StartServer(Tls());
  // The server does not ask for a certificate, so the one the client holds is never sent.
  ASSERT_TRUE(Call(/*tls=*/true, files_.client_cert, files_.client_key).ok());
  ASSERT_TRUE(Call(/*tls=*/true).ok());
  EXPECT_EQ(service_.subjects(),
            (std::vector<std::optional<std::string>>{std::nullopt, std::nullopt}));
}

TEST_F(PeerIdentityTest, MtlsGivesTheVerifiedCommonName) {
  ServerOptions options = Tls();
  options.tls_client_ca = files_.ca;
  StartServer(options);
  const grpc::Status status = Call(/*tls=*/true, files_.client_cert, files_.client_key);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(service_.subjects().size(), 1u);
  EXPECT_EQ(service_.subjects()[0], "tenant-a");
}

TEST_F(PeerIdentityTest, MtlsRefusesMissingAndUntrustedCertificatesBeforeAnyCall) {
  ServerOptions options = Tls();
  options.tls_client_ca = files_.ca;
  StartServer(options);
  EXPECT_EQ(Call(/*tls=*/true).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(
      Call(/*tls=*/true, files_.untrusted_client_cert, files_.untrusted_client_key).error_code(),
      grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(service_.subjects().empty());
}

}  // namespace
}  // namespace minimind
