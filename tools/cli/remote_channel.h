// The channel of the remote commands (generate --target, chat, bench) to a minimind-server, and
// its transport-security flags. With no --tls-* flag the channel is plaintext; any of them turns
// on TLS (grpc::SslCredentials):
//   --tls-ca FILE           PEM roots that verify the server's certificate (default: gRPC's
//                           default roots)
//   --tls-cert/--tls-key    a PEM client certificate and its key, for a server with mTLS
//   --tls-server-name NAME  the name the server's certificate must carry, when the target's host
//                           is not it (an IP address, a port-forward)
// Authentication: --api-key KEY, or the MINIMIND_API_KEY environment variable (better: a flag is
// visible in the process list), sends `authorization: Bearer KEY` on every call.
#ifndef MINIMIND_TOOLS_CLI_REMOTE_CHANNEL_H_
#define MINIMIND_TOOLS_CLI_REMOTE_CHANNEL_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/channel.h"
#include "grpcpp/security/credentials.h"
#include "tools/cli/command_line.h"

namespace minimind::cli {

inline constexpr char kTlsFlagsUsage[] =
    "  TLS: --tls-ca FILE verifies the server; --tls-cert FILE --tls-key FILE present a client\n"
    "  certificate (mTLS); --tls-server-name NAME overrides the name expected in the server's\n"
    "  certificate. Without any --tls-* flag the connection is plaintext.\n"
    "  Auth: --api-key KEY (or MINIMIND_API_KEY) sends \"authorization: Bearer KEY\".\n";

// Declares --tls-ca, --tls-cert, --tls-key, --tls-server-name and --api-key.
void AddTlsFlags(FlagSet& flags);

// --api-key, else a non-empty MINIMIND_API_KEY, else nullopt.
std::optional<std::string> ApiKeyFrom(const CommandLine& command_line);

// InsecureChannelCredentials without --tls-* flags; SslCredentials from the files otherwise.
// InvalidArgument naming the flag and the file when one cannot be read or holds no PEM, or when
// only one of --tls-cert/--tls-key is given.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ChannelCredentialsFrom(
    const CommandLine& command_line);

// A channel to `target` (HOST:PORT, or any gRPC target URI) with ChannelCredentialsFrom's
// credentials and --tls-server-name; with an API key, every call carries it.
absl::StatusOr<std::shared_ptr<grpc::Channel>> ConnectToTarget(absl::string_view target,
                                                               const CommandLine& command_line);

}  // namespace minimind::cli

#endif  // MINIMIND_TOOLS_CLI_REMOTE_CHANNEL_H_
