#include "service/auth/tenant.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "service/auth/sha256.h"

namespace minimind {

uint64_t TenantCacheSalt(absl::string_view tenant) {
  if (tenant == kDefaultTenant) return 0;
  const Sha256Digest digest = Sha256(absl::StrCat("minimind prefix-cache salt\n", tenant));
  uint64_t salt = 0;
  std::memcpy(&salt, digest.data(), sizeof(salt));
  return salt == 0 ? 1 : salt;
}

std::string EngineRequestId(absl::string_view tenant, absl::string_view request_id) {
  if (tenant == kDefaultTenant) return std::string(request_id);
  return absl::StrCat(tenant, "/", request_id);
}

}  // namespace minimind
