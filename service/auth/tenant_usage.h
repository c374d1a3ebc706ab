// TenantUsage: per-tenant counts of requests in flight, to enforce
// TenantLimits::max_concurrent_requests. A RequestSlot is held for the life of one
// Generate/Complete call (from admission in the service until the engine's OnFinish).
//
// Thread-safety: all methods are thread-safe; a RequestSlot may be released on any thread.
#ifndef MINIMIND_SERVICE_AUTH_TENANT_USAGE_H_
#define MINIMIND_SERVICE_AUTH_TENANT_USAGE_H_

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "service/auth/tenant.h"

namespace minimind {

class TenantUsage;

// Move-only; releases its place on destruction (or Release()).
class RequestSlot {
 public:
  RequestSlot() = default;
  RequestSlot(RequestSlot&& other) noexcept { *this = std::move(other); }
  RequestSlot& operator=(RequestSlot&& other) noexcept;
  RequestSlot(const RequestSlot&) = delete;
  RequestSlot& operator=(const RequestSlot&) = delete;
  ~RequestSlot() { Release(); }

  void Release();

 private:
  friend class TenantUsage;
  RequestSlot(TenantUsage* usage, std::string tenant) : usage_(usage), tenant_(std::move(tenant)) {}

  TenantUsage* usage_ = nullptr;
  std::string tenant_;
};

class TenantUsage {
 public:
  // ResourceExhausted naming the limit when the tenant already has max_concurrent_requests in
  // flight; otherwise a slot counted until released.
  absl::StatusOr<RequestSlot> AcquireRequest(const Tenant& tenant);

  int64_t requests_in_flight(absl::string_view tenant) const;

 private:
  friend class RequestSlot;
  void ReleaseRequest(const std::string& tenant);

  mutable absl::Mutex mutex_;
  absl::flat_hash_map<std::string, int64_t> in_flight_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace minimind

#endif  // MINIMIND_SERVICE_AUTH_TENANT_USAGE_H_
