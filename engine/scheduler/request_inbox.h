// RequestInbox: everything that crosses from other threads into the engine thread — submitted
// requests, cancellations, wake-ups — plus the set of live request ids and the published stats
// snapshot. One mutex guards it; the engine thread takes everything new once per step, so the
// hot path never waits on callers.
//
// Thread-safety: every method is thread-safe. The engine thread is the only caller of Take,
// Finished and PublishStats.
#ifndef MINIMIND_ENGINE_SCHEDULER_REQUEST_INBOX_H_
#define MINIMIND_ENGINE_SCHEDULER_REQUEST_INBOX_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "engine/scheduler/engine_stats.h"
#include "engine/scheduler/generation_request.h"
#include "engine/scheduler/generation_sink.h"

namespace minimind {

struct SubmittedRequest {
  GenerationRequest request;
  std::shared_ptr<GenerationSink> sink;
  absl::Time submit_time;
};

// What the engine thread picks up at the start of a step.
struct InboxBatch {
  std::vector<SubmittedRequest> requests;  // In submission order.
  absl::flat_hash_set<std::string> cancelled_ids;
  bool stop = false;  // The engine is shutting down.
};

class RequestInbox {
 public:
  // max_waiting_per_tenant 0: no per-tenant cap.
  RequestInbox(int64_t max_waiting, int64_t max_waiting_per_tenant)
      : max_waiting_(max_waiting), max_waiting_per_tenant_(max_waiting_per_tenant) {}

  // AlreadyExists for a live request_id; ResourceExhausted when max_waiting requests, or
  // max_waiting_per_tenant of the request's tenant, are already waiting (not yet admitted).
  // Otherwise queues it and wakes the engine.
  absl::Status Push(SubmittedRequest submitted);

  // True if `request_id` is live; the engine sees it in its next Take.
  bool Cancel(absl::string_view request_id);

  // Cancels every live request (as Cancel does each); returns how many.
  int64_t CancelAll();

  // Requests submitted and not yet finished (waiting, running or not yet taken).
  int64_t live() const;

  // Wakes an idle engine (e.g. a KvHandle was released).
  void Wake();

  // Asks the engine thread to stop; its next Take returns stop = true.
  void RequestStop();

  // Engine thread: takes what arrived. With `wait`, first blocks until something arrives (a
  // request, a cancellation, a wake-up or the stop request).
  InboxBatch Take(bool wait);

  // Engine thread: `request_id` finished; Submit may reuse it from now on.
  void Finished(absl::string_view request_id);

  // Engine thread: the requests it holds that are not running, in all and per tenant (they count
  // against max_waiting and max_waiting_per_tenant together with those not yet taken).
  void SetEngineWaiting(int64_t waiting, absl::flat_hash_map<std::string, int64_t> per_tenant);

  void PublishStats(const EngineStats& stats);
  EngineStats Stats() const;

 private:
  const int64_t max_waiting_;
  const int64_t max_waiting_per_tenant_;
  mutable absl::Mutex mutex_;
  std::vector<SubmittedRequest> requests_ ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_set<std::string> cancelled_ids_ ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_set<std::string> live_ids_ ABSL_GUARDED_BY(mutex_);
  int64_t engine_waiting_ ABSL_GUARDED_BY(mutex_) = 0;
  absl::flat_hash_map<std::string, int64_t> engine_waiting_per_tenant_ ABSL_GUARDED_BY(mutex_);
  bool woken_ ABSL_GUARDED_BY(mutex_) = false;
  bool stop_ ABSL_GUARDED_BY(mutex_) = false;
  EngineStats stats_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_SCHEDULER_REQUEST_INBOX_H_
