// PeerCertificateSubject: who a call's client proved to be with its TLS certificate, for
// authentication and per-tenant decisions. Only a server started with --tls-client-ca (mTLS)
// asks for client certificates, and it accepts only those that chain to that CA, so a subject
// found here is always verified: a connection with an unverifiable certificate never gets as far
// as a call. Call it from the call's own handler or reactions: the context builds its auth
// context lazily, and that is not synchronized.
#ifndef MINIMIND_SERVICE_AUTH_PEER_IDENTITY_H_
#define MINIMIND_SERVICE_AUTH_PEER_IDENTITY_H_

#include <grpcpp/server_context.h>

#include <optional>
#include <string>

namespace minimind {

// The common name (CN) of the client certificate's subject; nullopt on a plaintext or
// server-only-TLS connection, or when the certificate has no CN.
std::optional<std::string> PeerCertificateSubject(const grpc::ServerContextBase& context);

}  // namespace minimind

#endif  // MINIMIND_SERVICE_AUTH_PEER_IDENTITY_H_
