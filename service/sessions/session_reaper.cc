#include "service/sessions/session_reaper.h"

namespace minimind {

SessionReaper::SessionReaper(SessionStore& store, absl::Duration interval)
    : store_(store), interval_(interval), thread_([this] { Run(); }) {}

SessionReaper::~SessionReaper() {
  {
    absl::MutexLock lock(&mutex_);
    stop_ = true;
  }
  thread_.join();
}

void SessionReaper::Run() {
  absl::MutexLock lock(&mutex_);
  while (true) {
    // Wakes early only when stop_ is set.
    mutex_.AwaitWithTimeout(absl::Condition(&stop_), interval_);
    if (stop_) return;
    mutex_.Unlock();
    reaped_.fetch_add(store_.ReapExpired(store_.Now()), std::memory_order_relaxed);
    mutex_.Lock();
  }
}

}  // namespace minimind
