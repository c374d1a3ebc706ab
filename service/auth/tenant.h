// Tenant: who a call acts for, and that tenant's limits. Every session belongs to the tenant that
// created it; the prefix cache is salted per tenant; engine request ids are namespaced per tenant.
// Plain values; the Authenticator hands out shared, immutable copies.
#ifndef MINIMIND_SERVICE_AUTH_TENANT_H_
#define MINIMIND_SERVICE_AUTH_TENANT_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace minimind {

// The only tenant when the server runs without an API keys file.
inline constexpr absl::string_view kDefaultTenant = "default";

// 0 means "no limit of its own" (the server-wide limits still apply) for every field.
struct TenantLimits {
  int64_t max_concurrent_requests = 0;  // Generate/Complete calls in flight
  int64_t max_sessions = 0;             // live sessions owned
  double kv_share = 0;                  // (0, 1]: share of the KV pool its sequences may hold
  int32_t max_tokens = 0;               // per request; also the default for an unset max_tokens
};

struct Tenant {
  std::string name;
  TenantLimits limits;
};

// The prefix-cache salt of `tenant`: identical prompts of two tenants never share KV blocks, so
// neither learns from cached_prompt_tokens or timing what the other sent. The default tenant's
// salt is 0 (a server without tenants shares prefixes among all its callers, as before).
uint64_t TenantCacheSalt(absl::string_view tenant);

// The engine's request id for a client's `request_id`: the default tenant's ids unchanged, others
// prefixed "tenant/", so two tenants may use the same id and Cancel reaches only the caller's own.
std::string EngineRequestId(absl::string_view tenant, absl::string_view request_id);

}  // namespace minimind

#endif  // MINIMIND_SERVICE_AUTH_TENANT_H_
