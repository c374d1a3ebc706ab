// SessionSnapshot: a copy of one session's state at one instant, as SessionStore hands it out.
// A plain value: holding it pins nothing but `kv` (a shared, immutable KV handle).
//
// The system prompt is kept apart from `messages`: the transcript is the turns after it, so a
// caller renders {system, messages...}. `tokens` are the exact token ids of the whole history as
// last committed (rendered prompt + generated output), so the next turn's prompt starts with them
// and the KV handle, when present, covers a prefix of them.
#ifndef MINIMIND_SERVICE_SESSIONS_SESSION_SNAPSHOT_H_
#define MINIMIND_SERVICE_SESSIONS_SESSION_SNAPSHOT_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "engine/tokenizer/chat_template.h"

namespace minimind {

class KvHandle;  // engine/scheduler/kv_handle.h

using SessionLabels = std::map<std::string, std::string>;

// What a session does when a turn's prompt would not fit the context (CreateSession's
// context_overflow): move its oldest whole turns out of what the model sees (the transcript keeps
// them), or fail the turn.
enum class ContextOverflow { kTruncate, kError };

struct SessionSnapshot {
  std::string id;  // 32 hex digits
  std::string owner;
  std::string system_prompt;
  SessionLabels labels;
  // Empty in List results (see num_messages / num_tokens); complete everywhere else.
  std::vector<ChatMessage> messages;
  std::vector<int32_t> tokens;
  int64_t num_messages = 0;
  int64_t num_tokens = 0;
  // Null when the session holds no KV (never had one, or it was dropped under the pin cap).
  std::shared_ptr<const KvHandle> kv;
  int64_t kv_blocks = 0;  // kv's num_blocks() as accounted by the store; 0 without kv
  // The next turn reuses KV this replica holds for the session.
  bool kv_cached() const { return kv != nullptr || kv_blocks > 0; }
  absl::Time created;
  absl::Time last_used;
  absl::Duration ttl;  // idle TTL
  absl::Time expires;  // last_used + ttl
  bool busy = false;   // a turn is in progress
  int64_t turns = 0;   // committed turns
  ContextOverflow context_overflow = ContextOverflow::kTruncate;
  // Index in `messages` of the first message the model sees after the system prompt (the context
  // window); earlier messages left the window under context_overflow = truncate but stay in the
  // transcript. `tokens` are the tokens of the window: system prompt + messages[window_start..].
  int64_t window_start = 0;
};

// One page of SessionStore::List.
struct SessionPage {
  std::vector<SessionSnapshot> sessions;  // ascending id order
  std::string next_page_token;            // empty on the last page
};

}  // namespace minimind

#endif  // MINIMIND_SERVICE_SESSIONS_SESSION_SNAPSHOT_H_
