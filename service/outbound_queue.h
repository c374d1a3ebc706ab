// OutboundQueue: the per-stream queue of GenerateResponse messages waiting for the one gRPC write
// in flight. Bounded: at most `capacity` messages wait; a message pushed while the queue is full
// is merged into the last waiting one (text concatenated, token ids and logprobs appended, the
// final fields taken over). So a slow reader never stalls the engine and never loses output, and
// the memory a stream holds is bounded by `capacity` messages plus the request's own output (at
// most max_tokens tokens), not by how long the client takes to read.
//
// Not thread-safe: the owning reactor guards it with its mutex.
#ifndef MINIMIND_SERVICE_OUTBOUND_QUEUE_H_
#define MINIMIND_SERVICE_OUTBOUND_QUEUE_H_

#include <cstdint>
#include <deque>

#include "minimind/v1/inference.pb.h"

namespace minimind {

class OutboundQueue {
 public:
  // capacity >= 1 (smaller values are raised to 1).
  explicit OutboundQueue(int64_t capacity);

  void Push(v1::GenerateResponse message);
  bool empty() const { return messages_.empty(); }
  int64_t size() const { return static_cast<int64_t>(messages_.size()); }
  // Requires !empty().
  v1::GenerateResponse Pop();
  // Pushes that were merged into a waiting message instead of queued.
  int64_t coalesced() const { return coalesced_; }

 private:
  const int64_t capacity_;
  std::deque<v1::GenerateResponse> messages_;
  int64_t coalesced_ = 0;
};

// Appends `next` to `into`: text, token ids, logprobs; finish_reason, usage and prompt logprobs of
// `next` replace those of `into` when set.
void MergeResponse(v1::GenerateResponse next, v1::GenerateResponse& into);

}  // namespace minimind

#endif  // MINIMIND_SERVICE_OUTBOUND_QUEUE_H_
