// ApiKeyTable: the parsed --api-keys-file — tenants with their limits, API keys (stored as SHA-256
// digests, never the keys) and client-certificate names mapped to tenants. Immutable once loaded.
//
// File format (JSON):
//   {
//     "tenants": {"acme": {"max_concurrent_requests": 8, "max_sessions": 100,
//                          "kv_share": 0.5, "max_tokens": 1024},
//                 "globex": {}},
//     "keys": [{"sha256": "<64 hex digits of sha256(key)>", "tenant": "acme"},
//              {"client_cert_cn": "acme-batch", "tenant": "acme"}]
//   }
// Every key names a tenant of "tenants"; a limit left out (or 0) is no limit of the tenant's own.
// `printf %s "$KEY" | sha256sum` gives a key's digest.
#ifndef MINIMIND_SERVICE_AUTH_API_KEY_TABLE_H_
#define MINIMIND_SERVICE_AUTH_API_KEY_TABLE_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "service/auth/sha256.h"
#include "service/auth/tenant.h"

namespace minimind {

class ApiKeyTable {
 public:
  // InvalidArgument naming the file and the problem (unreadable, not JSON, unknown field, a key
  // of an unknown tenant, a digest that is not 64 hex digits, a duplicate digest, limits out of
  // range). Files over 16 MiB are refused.
  static absl::StatusOr<std::shared_ptr<const ApiKeyTable>> Load(const std::string& path);
  static absl::StatusOr<std::shared_ptr<const ApiKeyTable>> Parse(absl::string_view json,
                                                                  absl::string_view source);

  // The tenant of `api_key`, or null. Hashes the key once and compares it against every stored
  // digest in constant time, so the time taken does not depend on which entry (if any) matches.
  std::shared_ptr<const Tenant> FindByKey(absl::string_view api_key) const;
  // The tenant a verified client certificate's common name maps to, or null.
  std::shared_ptr<const Tenant> FindByCertificateName(absl::string_view common_name) const;

  size_t num_keys() const { return keys_.size(); }
  size_t num_tenants() const { return tenants_.size(); }

 private:
  struct KeyEntry {
    Sha256Digest digest;
    std::shared_ptr<const Tenant> tenant;
  };

  std::map<std::string, std::shared_ptr<const Tenant>> tenants_;
  std::vector<KeyEntry> keys_;
  std::map<std::string, std::shared_ptr<const Tenant>, std::less<>> certificate_names_;
};

}  // namespace minimind

#endif  // MINIMIND_SERVICE_AUTH_API_KEY_TABLE_H_
