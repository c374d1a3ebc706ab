// The byte forms of a session's parts, shared by the stores that keep sessions outside this
// process: RedisSessionStore's record fields and the memory store's state file
// (session_state_file.h). Decoding never trusts its input: a malformed part is InternalError
// "corrupt session record: ...", never a crash.
#ifndef MINIMIND_SERVICE_SESSIONS_SESSION_CODEC_H_
#define MINIMIND_SERVICE_SESSIONS_SESSION_CODEC_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/tokenizer/chat_template.h"
#include "service/sessions/session_snapshot.h"

namespace minimind {

// One JSON object per message, one per line, each line ending in '\n' (JSON text never holds a
// raw newline). Invalid UTF-8 is written as U+FFFD.
std::string MessagesToJsonLines(const std::vector<ChatMessage>& messages);
absl::StatusOr<std::vector<ChatMessage>> MessagesFromJsonLines(absl::string_view text);

// A JSON object of string values.
std::string LabelsToJson(const SessionLabels& labels);
absl::StatusOr<SessionLabels> LabelsFromJson(absl::string_view text);

// Little-endian int32 each.
std::string PackTokens(const std::vector<int32_t>& tokens);
absl::StatusOr<std::vector<int32_t>> UnpackTokens(absl::string_view bytes);

// "truncate" / "error", and back (anything else is truncate, the session default).
absl::string_view ContextOverflowName(ContextOverflow overflow);
ContextOverflow ContextOverflowFromName(absl::string_view name);

}  // namespace minimind

#endif  // MINIMIND_SERVICE_SESSIONS_SESSION_CODEC_H_
