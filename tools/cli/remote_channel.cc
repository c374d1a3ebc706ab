#include "tools/cli/remote_channel.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/support/channel_arguments.h"

namespace minimind::cli {
namespace {

constexpr const char* kTlsFlags[] = {"tls-ca", "tls-cert", "tls-key", "tls-server-name"};

// The file of --`flag`, which must contain `marker` (a PEM armour line): gRPC would otherwise
// only log its failure at the first handshake.
absl::StatusOr<std::string> ReadPemFile(const char* flag, const std::string& path,
                                        absl::string_view marker, absl::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, ": cannot read ", path, ": ", std::strerror(errno)));
  }
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!absl::StrContains(text, "-----BEGIN ") || !absl::StrContains(text, marker)) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", path, " is not a PEM ", what));
  }
  return text;
}

}  // namespace

void AddTlsFlags(FlagSet& flags) {
  for (const char* flag : kTlsFlags) flags.valued.push_back(flag);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ChannelCredentialsFrom(
    const CommandLine& command_line) {
  bool tls = false;
  for (const char* flag : kTlsFlags) tls = tls || command_line.Has(flag);
  if (!tls) return grpc::InsecureChannelCredentials();
  const std::optional<std::string> cert = command_line.Value("tls-cert");
  const std::optional<std::string> key = command_line.Value("tls-key");
  if (cert.has_value() != key.has_value()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key must be given together");
  }
  grpc::SslCredentialsOptions ssl;
  if (const std::optional<std::string> ca = command_line.Value("tls-ca"); ca.has_value()) {
    absl::StatusOr<std::string> pem = ReadPemFile("tls-ca", *ca, "CERTIFICATE-----", "certificate");
    if (!pem.ok()) return pem.status();
    ssl.pem_root_certs = *std::move(pem);
  }
  if (cert.has_value()) {
    absl::StatusOr<std::string> cert_pem =
        ReadPemFile("tls-cert", *cert, "CERTIFICATE-----", "certificate");
    if (!cert_pem.ok()) return cert_pem.status();
    absl::StatusOr<std::string> key_pem =
        ReadPemFile("tls-key", *key, "PRIVATE KEY-----", "private key");
    if (!key_pem.ok()) return key_pem.status();
    ssl.pem_cert_chain = *std::move(cert_pem);
    ssl.pem_private_key = *std::move(key_pem);
  }
  return grpc::SslCredentials(ssl);
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> ConnectToTarget(absl::string_view target,
                                                               const CommandLine& command_line) {
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      ChannelCredentialsFrom(command_line);
  if (!credentials.ok()) return credentials.status();
  grpc::ChannelArguments arguments;
  if (const std::optional<std::string> name = command_line.Value("tls-server-name");
      name.has_value()) {
    arguments.SetSslTargetNameOverride(*name);
  }
  return grpc::CreateCustomChannel(std::string(target), *credentials, arguments);
}

}  // namespace minimind::cli
