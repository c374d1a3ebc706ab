// The --tls-* flags of the remote commands: which combinations are accepted, and errors naming
// the flag and file (a TLS round trip with these flags is in tests/e2e/tls_test.py).
#include "tools/cli/remote_channel.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/test_paths.h"

namespace minimind::cli {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr char kPemCertificate[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
constexpr char kPemKey[] = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n";

class RemoteChannelTest : public ::testing::Test {
 protected:
  void SetUp() override { std::filesystem::create_directories(dir_); }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) const {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }
  absl::Status Credentials(const std::vector<std::string>& args) const {
    FlagSet flags{{"target"}, {}};
    AddTlsFlags(flags);
    absl::StatusOr<CommandLine> command_line = CommandLine::Parse(args, flags);
    if (!command_line.ok()) return command_line.status();
    return ChannelCredentialsFrom(*command_line).status();
  }

  const std::filesystem::path dir_ = minimind::testing::ScratchPath("tls");
};

TEST_F(RemoteChannelTest, PlaintextAndTlsCombinations) {
  const std::string ca = Write("ca.pem", kPemCertificate);
  const std::string cert = Write("client.pem", kPemCertificate);
  const std::string key = Write("client.key", kPemKey);
  EXPECT_TRUE(Credentials({}).ok());
  EXPECT_TRUE(Credentials({"--tls-ca", ca}).ok());
  EXPECT_TRUE(Credentials({"--tls-ca", ca, "--tls-server-name", "minimind.internal"}).ok());
  EXPECT_TRUE(Credentials({"--tls-ca", ca, "--tls-cert", cert, "--tls-key", key}).ok());
}

TEST_F(RemoteChannelTest, CertificateAndKeyGoTogether) {
  const std::string cert = Write("client.pem", kPemCertificate);
  EXPECT_THAT(Credentials({"--tls-cert", cert}).message(),
              HasSubstr("--tls-cert and --tls-key must be given together"));
}

TEST_F(RemoteChannelTest, UnreadableOrNonPemFilesAreNamed) {
  const std::string absent = (dir_ / "absent.pem").string();
  absl::Status status = Credentials({"--tls-ca", absent});
  EXPECT_TRUE(absl::IsInvalidArgument(status));
  EXPECT_THAT(status.message(), AllOf(HasSubstr("--tls-ca"), HasSubstr(absent)));

  const std::string garbage = Write("garbage.pem", "hello\n");
  EXPECT_THAT(Credentials({"--tls-ca", garbage}).message(),
              AllOf(HasSubstr("--tls-ca"), HasSubstr(garbage), HasSubstr("not a PEM")));
  const std::string cert = Write("client.pem", kPemCertificate);
  // A certificate where the key belongs.
  EXPECT_THAT(Credentials({"--tls-cert", cert, "--tls-key", cert}).message(),
              AllOf(HasSubstr("--tls-key"), HasSubstr("not a PEM private key")));
}

}  // namespace
}  // namespace minimind::cli
