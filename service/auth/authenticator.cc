#include "service/auth/authenticator.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "service/auth/peer_identity.h"

namespace minimind {

absl::StatusOr<std::unique_ptr<Authenticator>> Authenticator::Make(std::string api_keys_file) {
  std::unique_ptr<Authenticator> authenticator(new Authenticator(std::move(api_keys_file)));
  if (authenticator->enabled()) {
    absl::Status loaded = authenticator->Reload();
    if (!loaded.ok()) return loaded;
  }
  return authenticator;
}

absl::Status Authenticator::Reload() {
  if (!enabled()) return absl::OkStatus();
  absl::StatusOr<std::shared_ptr<const ApiKeyTable>> table = ApiKeyTable::Load(path_);
  if (!table.ok()) return table.status();
  absl::MutexLock lock(&mutex_);
  table_ = *std::move(table);
  return absl::OkStatus();
}

std::shared_ptr<const ApiKeyTable> Authenticator::table() const {
  absl::MutexLock lock(&mutex_);
  return table_;
}

absl::StatusOr<std::shared_ptr<const Tenant>> Authenticator::Authenticate(
    absl::string_view authorization, absl::string_view certificate_name) const {
  if (!enabled()) return default_tenant_;
  const std::shared_ptr<const ApiKeyTable> keys = table();
  if (!authorization.empty()) {
    absl::string_view key = absl::StripAsciiWhitespace(authorization);
    if (!absl::StartsWithIgnoreCase(key, "bearer ")) {
      return absl::UnauthenticatedError("the authorization metadata must read \"Bearer KEY\"");
    }
    key = absl::StripLeadingAsciiWhitespace(key.substr(7));
    std::shared_ptr<const Tenant> tenant = keys->FindByKey(key);
    if (tenant == nullptr) return absl::UnauthenticatedError("invalid API key");
    return tenant;
  }
  if (!certificate_name.empty()) {
    if (std::shared_ptr<const Tenant> tenant = keys->FindByCertificateName(certificate_name)) {
      return tenant;
    }
  }
  return absl::UnauthenticatedError(
      "missing credentials: send \"authorization: Bearer KEY\" metadata (or a client "
      "certificate the server maps to a tenant)");
}

absl::StatusOr<std::shared_ptr<const Tenant>> Authenticator::Authenticate(
    const grpc::CallbackServerContext& context) const {
  if (!enabled()) return default_tenant_;
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  const absl::string_view authorization =
      it == metadata.end() ? absl::string_view()
                           : absl::string_view(it->second.data(), it->second.size());
  return Authenticate(authorization, PeerCertificateSubject(context).value_or(""));
}

}  // namespace minimind
