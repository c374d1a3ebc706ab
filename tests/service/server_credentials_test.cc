// MakeServerCredentials: the checks of the TLS files before gRPC gets them, and Server::Start
// refusing to start on a bad file. Certificates are made by `openssl` at test time.
#include "service/server_credentials.h"

#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/server.h"
#include "tests/service/test_certificates.h"
#include "tests/support/test_paths.h"

namespace minimind {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

class ServerCredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::ScratchPath("tls").string();
    absl::StatusOr<testing::TestCertificates> files = testing::WriteTestCertificates(dir_);
    if (absl::IsUnavailable(files.status())) GTEST_SKIP() << files.status().message();
    ASSERT_TRUE(files.ok()) << files.status();
    files_ = *files;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  ServerOptions Tls() const {
    ServerOptions options;
    options.tls_cert = files_.server_cert;
    options.tls_key = files_.server_key;
    return options;
  }
  std::string Write(const std::string& name, const std::string& text) const {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  std::string dir_;
  testing::TestCertificates files_;
};

TEST_F(ServerCredentialsTest, PlaintextWithoutTlsFiles) {
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      MakeServerCredentials(ServerOptions());
  ASSERT_TRUE(credentials.ok()) << credentials.status();
  EXPECT_NE(*credentials, nullptr);
}

TEST_F(ServerCredentialsTest, TlsAndMtlsWithGoodFiles) {
  EXPECT_TRUE(MakeServerCredentials(Tls()).ok());
  ServerOptions mtls = Tls();
  mtls.tls_client_ca = files_.ca;
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      MakeServerCredentials(mtls, absl::Seconds(1));
  ASSERT_TRUE(credentials.ok()) << credentials.status();
  EXPECT_NE(*credentials, nullptr);
}

TEST_F(ServerCredentialsTest, MissingFileIsNamed) {
  ServerOptions options = Tls();
  options.tls_cert = dir_ + "/absent.pem";
  absl::Status status = MakeServerCredentials(options).status();
  EXPECT_TRUE(absl::IsInvalidArgument(status));
  EXPECT_THAT(status.message(), AllOf(HasSubstr("--tls-cert"), HasSubstr(options.tls_cert),
                                      HasSubstr("No such file")));

  options = Tls();
  options.tls_client_ca = dir_ + "/absent-ca.pem";
  status = MakeServerCredentials(options).status();
  EXPECT_THAT(status.message(),
              AllOf(HasSubstr("--tls-client-ca"), HasSubstr(options.tls_client_ca)));
}

TEST_F(ServerCredentialsTest, GarbageIsNamed) {
  ServerOptions options = Tls();
  options.tls_cert = Write("garbage.pem", "not a certificate\n");
  absl::Status status = MakeServerCredentials(options).status();
  EXPECT_TRUE(absl::IsInvalidArgument(status));
  EXPECT_THAT(status.message(), AllOf(HasSubstr("--tls-cert"), HasSubstr(options.tls_cert),
                                      HasSubstr("no PEM certificate")));

  options = Tls();
  options.tls_key =
      Write("garbage.key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
  status = MakeServerCredentials(options).status();
  EXPECT_THAT(status.message(), AllOf(HasSubstr("--tls-key"), HasSubstr(options.tls_key)));

  options = Tls();
  options.tls_client_ca = Write("garbage-ca.pem", "");
  status = MakeServerCredentials(options).status();
  EXPECT_THAT(status.message(),
              AllOf(HasSubstr("--tls-client-ca"), HasSubstr(options.tls_client_ca)));
}

TEST_F(ServerCredentialsTest, BrokenSecondCertificateOfTheChain) {
  ServerOptions options = Tls();
  options.tls_cert = Write("chain.pem", testing::ReadFileOrEmpty(files_.server_cert) +
                                            "-----BEGIN CERTIFICATE-----\nAAAA\n"
                                            "-----END CERTIFICATE-----\n");
  EXPECT_THAT(MakeServerCredentials(options).status().message(),
              AllOf(HasSubstr(options.tls_cert), HasSubstr("certificate 2")));
}

TEST_F(ServerCredentialsTest, KeyOfAnotherCertificate) {
  ServerOptions options = Tls();
  options.tls_key = files_.client_key;
  absl::Status status = MakeServerCredentials(options).status();
  EXPECT_TRUE(absl::IsInvalidArgument(status));
  EXPECT_THAT(status.message(), AllOf(HasSubstr(files_.client_key), HasSubstr("is not the key"),
                                      HasSubstr(files_.server_cert)));
}

TEST_F(ServerCredentialsTest, ServerDoesNotStartOnABadFile) {
  ServerOptions options = Tls();
  options.listen = "127.0.0.1:0";
  options.tls_cert = Write("garbage.pem", "\x01\x02\x03");
  absl::StatusOr<std::unique_ptr<Server>> server = Server::Start(options);
  ASSERT_FALSE(server.ok());
  EXPECT_THAT(server.status().message(), HasSubstr(options.tls_cert));
}

}  // namespace
}  // namespace minimind
