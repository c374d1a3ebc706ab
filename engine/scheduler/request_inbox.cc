#include "engine/scheduler/request_inbox.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace minimind {

absl::Status RequestInbox::Push(SubmittedRequest submitted) {
  absl::MutexLock lock(&mutex_);
  if (stop_) return absl::UnavailableError("the engine is shutting down");
  const int64_t waiting = engine_waiting_ + static_cast<int64_t>(requests_.size());
  if (waiting >= max_waiting_) {
    return absl::ResourceExhaustedError(absl::StrCat("the engine's waiting queue is full (",
                                                     max_waiting_, " requests); retry later"));
  }
  if (max_waiting_per_tenant_ > 0) {
    const std::string& tenant = submitted.request.tenant;
    auto it = engine_waiting_per_tenant_.find(tenant);
    int64_t tenant_waiting = it == engine_waiting_per_tenant_.end() ? 0 : it->second;
    for (const SubmittedRequest& pending : requests_) {
      tenant_waiting += pending.request.tenant == tenant ? 1 : 0;
    }
    if (tenant_waiting >= max_waiting_per_tenant_) {
      return absl::ResourceExhaustedError(absl::StrCat(
          tenant.empty() ? std::string("the default tenant")
                         : absl::StrCat("tenant '", tenant, "'"),
          " already has ", tenant_waiting, " requests waiting (the engine's per-tenant cap, ",
          max_waiting_per_tenant_, "); retry later"));
    }
  }
  if (!live_ids_.insert(submitted.request.request_id).second) {
    return absl::AlreadyExistsError(
        absl::StrCat("request_id '", submitted.request.request_id, "' is already in use"));
  }
  requests_.push_back(std::move(submitted));
  return absl::OkStatus();
}

bool RequestInbox::Cancel(absl::string_view request_id) {
  absl::MutexLock lock(&mutex_);
  if (!live_ids_.contains(request_id)) return false;
  cancelled_ids_.insert(std::string(request_id));
  return true;
}

int64_t RequestInbox::CancelAll() {
  absl::MutexLock lock(&mutex_);
  for (const std::string& id : live_ids_) cancelled_ids_.insert(id);
  return static_cast<int64_t>(live_ids_.size());
}

int64_t RequestInbox::live() const {
  absl::MutexLock lock(&mutex_);
  return static_cast<int64_t>(live_ids_.size());
}

void RequestInbox::Wake() {
  absl::MutexLock lock(&mutex_);
  woken_ = true;
}

void RequestInbox::RequestStop() {
  absl::MutexLock lock(&mutex_);
  stop_ = true;
}

InboxBatch RequestInbox::Take(bool wait) {
  absl::MutexLock lock(&mutex_);
  if (wait) {
    auto has_work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
      return stop_ || woken_ || !requests_.empty() || !cancelled_ids_.empty();
    };
    mutex_.Await(absl::Condition(&has_work));
  }
  InboxBatch batch;
  batch.requests.swap(requests_);
  batch.cancelled_ids.swap(cancelled_ids_);
  batch.stop = stop_;
  woken_ = false;
  engine_waiting_ += static_cast<int64_t>(batch.requests.size());
  for (const SubmittedRequest& taken : batch.requests) {
    ++engine_waiting_per_tenant_[taken.request.tenant];
  }
  return batch;
}

void RequestInbox::Finished(absl::string_view request_id) {
  absl::MutexLock lock(&mutex_);
  live_ids_.erase(request_id);
  cancelled_ids_.erase(request_id);
}

void RequestInbox::SetEngineWaiting(int64_t waiting,
                                    absl::flat_hash_map<std::string, int64_t> per_tenant) {
  absl::MutexLock lock(&mutex_);
  engine_waiting_ = waiting;
  engine_waiting_per_tenant_ = std::move(per_tenant);
}

void RequestInbox::PublishStats(const EngineStats& stats) {
  absl::MutexLock lock(&mutex_);
  stats_ = stats;
}

EngineStats RequestInbox::Stats() const {
  absl::MutexLock lock(&mutex_);
  return stats_;
}

}  // namespace minimind
