// The memory store's state file (--session-state-file): a draining server writes every session
// of its MemorySessionStore here (SessionStore::VolatileSessions), and the next server started
// with the same file takes them back (SessionStore::AdoptSession), so a restart or a rolling
// update of a single replica loses no conversation. Their KV goes to the KV spill tier at the same
// time (kv_spill_store.h), so the first turn after the restart does not prefill the history again.
//
// Format (text, version 1): a header line, then one line per session, each a JSON object:
//   {"format":"minimind-session-state","version":1,"model":"<fingerprint>","sessions":N,
//    "body_bytes":B,"crc32":C}
//   {"id":...,"owner":...,"system":...,"labels":"<labels JSON>","messages":"<JSON lines>",
//    "tokens":[...],"created_ns":...,"last_used_ns":...,"ttl_ns":...,"turns":...,
//    "overflow":"truncate","window":...}
// (labels and messages in the byte forms of session_codec.h, as Redis keeps them).
// The body (every byte after the header line) is covered by its length, and the model fingerprint
// and body by the CRC-32, so a torn or altered file is DataLoss, never a half-restored session.
// Written atomically (file_io.h).
#ifndef MINIMIND_SERVICE_SESSIONS_SESSION_STATE_FILE_H_
#define MINIMIND_SERVICE_SESSIONS_SESSION_STATE_FILE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "service/sessions/session_snapshot.h"

namespace minimind {

struct SessionState {
  // The model the sessions' tokens belong to (a server of another model renders them again).
  std::string model_fingerprint;
  std::vector<SessionSnapshot> sessions;  // without kv
};

// The file's bytes.
std::string EncodeSessionState(const SessionState& state);
// DataLoss for a torn, altered or unreadable body; FailedPrecondition for another format or
// version.
absl::StatusOr<SessionState> DecodeSessionState(absl::string_view bytes);

// Atomically replaces `path`. Unavailable with the errno text.
absl::Status WriteSessionStateFile(const std::string& path, const SessionState& state);
// NotFound when there is no file; otherwise as DecodeSessionState.
absl::StatusOr<SessionState> ReadSessionStateFile(const std::string& path);

}  // namespace minimind

#endif  // MINIMIND_SERVICE_SESSIONS_SESSION_STATE_FILE_H_
