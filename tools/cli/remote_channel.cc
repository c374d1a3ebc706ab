#include "tools/cli/remote_channel.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/support/channel_arguments.h"
#include "grpcpp/support/client_interceptor.h"

namespace minimind::cli {
namespace {

constexpr const char* kTlsFlags[] = {"tls-ca", "tls-cert", "tls-key", "tls-server-name"};

// Adds `authorization: Bearer KEY` to every call of the channel.
class BearerInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit BearerInterceptor(const std::string& value) : value_(value) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->insert({"authorization", value_});
    }
    methods->Proceed();
  }

 private:
  const std::string& value_;
};

class BearerInterceptorFactory final
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit BearerInterceptorFactory(absl::string_view key) : value_(absl::StrCat("Bearer ", key)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* info) override {
    return new BearerInterceptor(value_);
  }

 private:
  const std::string value_;
};

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
  flags.valued.push_back("api-key");
}

std::optional<std::string> ApiKeyFrom(const CommandLine& command_line) {
  if (std::optional<std::string> key = command_line.Value("api-key"); key.has_value()) return key;
  if (const char* key = std::getenv("MINIMIND_API_KEY"); key != nullptr && *key != '\0') {
    return std::string(key);
  }
  return std::nullopt;
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
  const std::optional<std::string> api_key = ApiKeyFrom(command_line);
  if (!api_key.has_value()) {
    return grpc::CreateCustomChannel(std::string(target), *credentials, arguments);
  }
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<BearerInterceptorFactory>(*api_key));
  return grpc::experimental::CreateCustomChannelWithInterceptors(
      std::string(target), *credentials, arguments, std::move(interceptors));
}

}  // namespace minimind::cli
