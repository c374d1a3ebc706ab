#include "service/auth/tenant_usage.h"

#include "absl/strings/str_cat.h"

namespace minimind {

RequestSlot& RequestSlot::operator=(RequestSlot&& other) noexcept {
  if (this != &other) {
    Release();
    usage_ = other.usage_;
    tenant_ = std::move(other.tenant_);
    other.usage_ = nullptr;
  }
  return *this;
}

void RequestSlot::Release() {
  if (usage_ == nullptr) return;
  usage_->ReleaseRequest(tenant_);
  usage_ = nullptr;
}

absl::StatusOr<RequestSlot> TenantUsage::AcquireRequest(const Tenant& tenant) {
  absl::MutexLock lock(&mutex_);
  int64_t& count = in_flight_[tenant.name];
  const int64_t limit = tenant.limits.max_concurrent_requests;
  if (limit > 0 && count >= limit) {
    return absl::ResourceExhaustedError(
        absl::StrCat("tenant ", tenant.name, " is at its limit of ", limit,
                     " concurrent requests (max_concurrent_requests); retry when one finishes"));
  }
  ++count;
  return RequestSlot(this, tenant.name);
}

int64_t TenantUsage::requests_in_flight(absl::string_view tenant) const {
  absl::MutexLock lock(&mutex_);
  auto it = in_flight_.find(tenant);
  return it == in_flight_.end() ? 0 : it->second;
}

void TenantUsage::ReleaseRequest(const std::string& tenant) {
  absl::MutexLock lock(&mutex_);
  auto it = in_flight_.find(tenant);
  if (it != in_flight_.end() && --it->second == 0) in_flight_.erase(it);
}

}  // namespace minimind
