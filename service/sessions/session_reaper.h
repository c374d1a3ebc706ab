// SessionReaper: a background thread that calls SessionStore::ReapExpired(store.Now()) every
// `interval`. The destructor stops and joins it promptly (it does not wait out the interval). The
// store must outlive the reaper. Not copyable or movable.
#ifndef MINIMIND_SERVICE_SESSIONS_SESSION_REAPER_H_
#define MINIMIND_SERVICE_SESSIONS_SESSION_REAPER_H_

#include <atomic>
#include <cstdint>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/sessions/session_store.h"

namespace minimind {

class SessionReaper {
 public:
  SessionReaper(SessionStore& store, absl::Duration interval);
  SessionReaper(const SessionReaper&) = delete;
  SessionReaper& operator=(const SessionReaper&) = delete;
  ~SessionReaper();

  // Sessions removed by this reaper so far.
  int64_t reaped() const { return reaped_.load(std::memory_order_relaxed); }

 private:
  void Run();

  SessionStore& store_;
  const absl::Duration interval_;
  absl::Mutex mutex_;
  bool stop_ ABSL_GUARDED_BY(mutex_) = false;
  std::atomic<int64_t> reaped_{0};
  std::thread thread_;  // last: started after every other member is ready
};

}  // namespace minimind

#endif  // MINIMIND_SERVICE_SESSIONS_SESSION_REAPER_H_
