// ServiceLimits: every size a client controls has a ceiling here; requests over one fail with
// INVALID_ARGUMENT or RESOURCE_EXHAUSTED and a message naming the limit. A plain value, set once
// from the server flags.
#ifndef MINIMIND_SERVICE_SERVICE_LIMITS_H_
#define MINIMIND_SERVICE_SERVICE_LIMITS_H_

#include <cstdint>

namespace minimind {

struct ServiceLimits {
  // Raw prompt text, and the sum of the message contents of one request.
  int64_t max_prompt_bytes = 1 << 20;
  // Prompt tokens after tokenization/rendering (including a session's history).
  int64_t max_prompt_tokens = 32768;
  // Chat messages in one request.
  int64_t max_messages = 256;
  // Bytes of request_id and session_id.
  int64_t max_id_bytes = 128;
  // Ceiling of max_tokens; also the default when a request leaves max_tokens unset.
  int32_t max_tokens_cap = 4096;
  // Ids in one Detokenize request.
  int64_t max_detokenize_ids = 1 << 16;
  // GenerateResponse messages queued per stream before deltas coalesce (see outbound_queue.h).
  int64_t outbound_queue_messages = 16;
  // Context truncation (ContextOverflow TRUNCATE): when a prompt must shrink, the oldest whole
  // turns go until at least this share of the context is free, so the next truncation (and the
  // re-prefill of the kept turns it costs) comes rarely.
  double context_free_fraction = 0.5;
};

}  // namespace minimind

#endif  // MINIMIND_SERVICE_SERVICE_LIMITS_H_
