#include "service/outbound_queue.h"

#include <algorithm>
#include <utility>

namespace minimind {

void MergeResponse(v1::GenerateResponse next, v1::GenerateResponse& into) {
  into.mutable_text()->append(next.text());
  into.mutable_token_ids()->Add(next.token_ids().begin(), next.token_ids().end());
  for (v1::TokenLogprob& logprob : *next.mutable_logprobs()) {
    *into.add_logprobs() = std::move(logprob);
  }
  if (next.finish_reason() != v1::FINISH_REASON_UNSPECIFIED) {
    into.set_finish_reason(next.finish_reason());
  }
  if (next.has_usage()) *into.mutable_usage() = std::move(*next.mutable_usage());
  if (next.prompt_logprobs_size() > 0) {
    *into.mutable_prompt_logprobs() = std::move(*next.mutable_prompt_logprobs());
  }
  if (into.request_id().empty()) into.set_request_id(next.request_id());
  if (into.session_id().empty()) into.set_session_id(next.session_id());
}

OutboundQueue::OutboundQueue(int64_t capacity) : capacity_(std::max<int64_t>(capacity, 1)) {}

void OutboundQueue::Push(v1::GenerateResponse message) {
  if (static_cast<int64_t>(messages_.size()) >= capacity_) {
    MergeResponse(std::move(message), messages_.back());
    ++coalesced_;
    return;
  }
  messages_.push_back(std::move(message));
}

v1::GenerateResponse OutboundQueue::Pop() {
  v1::GenerateResponse front = std::move(messages_.front());
  messages_.pop_front();
  return front;
}

}  // namespace minimind
