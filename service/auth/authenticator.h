// Authenticator: maps a call to its tenant.
//
// Without an API keys file every call is the anonymous tenant "default" (a single-tenant server;
// mTLS, if on, then only authenticates the transport). With one (api_key_table.h):
//   1. `authorization: Bearer KEY` metadata present: the key's tenant, or UNAUTHENTICATED
//      "invalid API key" — a wrong key is refused even if a client certificate would map.
//   2. otherwise a verified client certificate (mTLS) whose common name the file maps: its tenant.
//   3. otherwise UNAUTHENTICATED saying how to authenticate.
// So an API key wins over the certificate. Health and reflection never reach this (they are
// open by design: probes and tooling need no key).
//
// Reload() re-reads the file (SIGHUP): calls in flight keep the tenant they were given; a bad
// file leaves the old table in force and returns the error.
//
// Thread-safety: Authenticate and Reload may run concurrently from any threads.
#ifndef MINIMIND_SERVICE_AUTH_AUTHENTICATOR_H_
#define MINIMIND_SERVICE_AUTH_AUTHENTICATOR_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "service/auth/api_key_table.h"
#include "service/auth/tenant.h"

namespace minimind {

class Authenticator {
 public:
  // Empty path: no API keys (everyone is the default tenant). Otherwise the file's errors.
  static absl::StatusOr<std::unique_ptr<Authenticator>> Make(std::string api_keys_file);

  absl::StatusOr<std::shared_ptr<const Tenant>> Authenticate(
      const grpc::CallbackServerContext& context) const;
  // The same decision from already extracted credentials (tests, other transports): `bearer` is
  // the authorization metadata value or empty, `certificate_name` the verified client
  // certificate's common name or empty.
  absl::StatusOr<std::shared_ptr<const Tenant>> Authenticate(
      absl::string_view authorization, absl::string_view certificate_name) const;

  absl::Status Reload();

  bool enabled() const { return !path_.empty(); }

 private:
  explicit Authenticator(std::string path) : path_(std::move(path)) {}

  std::shared_ptr<const ApiKeyTable> table() const;

  const std::string path_;
  const std::shared_ptr<const Tenant> default_tenant_ =
      std::make_shared<const Tenant>(Tenant{std::string(kDefaultTenant), {}});
  mutable absl::Mutex mutex_;
  std::shared_ptr<const ApiKeyTable> table_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace minimind

#endif  // MINIMIND_SERVICE_AUTH_AUTHENTICATOR_H_
