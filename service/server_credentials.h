// MakeServerCredentials: the gRPC listener's transport security from ServerOptions — plaintext
// when no TLS file is given; TLS with --tls-cert/--tls-key; mTLS (client certificates required
// and verified against --tls-client-ca) when that is given too.
//
// The files are checked here, once, before gRPC sees them: each must be readable and hold PEM
// that parses (at least one certificate; a private key that matches the certificate), otherwise
// the server must not start. gRPC's file watcher, which then serves them, re-reads all of them
// every `refresh_interval` and switches to the new contents for new connections (a renewed
// certificate needs no restart). Connections already open keep the certificate they were
// established with. Those later reads are gRPC's alone: a file that has gone, or new contents
// that are broken, are only logged by gRPC, and new handshakes fail until good files are back
// (replace the files atomically, as the kubelet does for a mounted Secret).
#ifndef MINIMIND_SERVICE_SERVER_CREDENTIALS_H_
#define MINIMIND_SERVICE_SERVER_CREDENTIALS_H_

#include <grpcpp/security/server_credentials.h>

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/server_options.h"

namespace minimind {

// How often the TLS files are re-read for rotation (cert-manager renews well ahead of expiry,
// so seconds are plenty). gRPC rounds to whole seconds, at least 1.
inline constexpr absl::Duration kTlsRefreshInterval = absl::Seconds(5);

// InsecureServerCredentials when options.tls_cert is empty; otherwise TLS credentials backed by a
// FileWatcherCertificateProvider. InvalidArgument naming the flag and the file when a file is
// missing, unreadable, not PEM, or the key does not match the certificate.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerOptions& options, absl::Duration refresh_interval = kTlsRefreshInterval);

}  // namespace minimind

#endif  // MINIMIND_SERVICE_SERVER_CREDENTIALS_H_
