// The JSON of the HTTP API's /v1/sessions routes (openai_http_server.h): sessions out, create and
// fork bodies in. Pure functions, no I/O; thread-safe.
#ifndef MINIMIND_SERVICE_HTTP_SESSION_JSON_H_
#define MINIMIND_SERVICE_HTTP_SESSION_JSON_H_

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "service/sessions/session_snapshot.h"

namespace minimind {

// POST /v1/sessions {system_prompt?, ttl_seconds?, labels?}; an empty body is {}.
struct SessionCreateBody {
  std::string system_prompt;
  absl::Duration ttl = absl::ZeroDuration();  // 0: the server's default
  SessionLabels labels;
  ContextOverflow context_overflow = ContextOverflow::kTruncate;  // "truncate" | "error"
};
// InvalidArgument naming the field for a body that is not a JSON object or a field of the wrong
// type (labels: an object of strings; context_overflow: "truncate" or "error").
absl::StatusOr<SessionCreateBody> ParseSessionCreateBody(absl::string_view body);

// POST /v1/sessions/ID/fork {ttl_seconds?}: nullopt keeps the parent's TTL.
absl::StatusOr<std::optional<absl::Duration>> ParseSessionForkBody(absl::string_view body);

// {id, object: "session", system_prompt, labels, messages: [{role, content}], num_messages,
// num_tokens, kv_cached, turns, busy, created, last_used, expires (Unix seconds), ttl_seconds,
// context_overflow, window_start}.
// messages is absent for list entries (the store returns none).
nlohmann::json SessionJson(const SessionSnapshot& session, bool with_messages);

}  // namespace minimind

#endif  // MINIMIND_SERVICE_HTTP_SESSION_JSON_H_
