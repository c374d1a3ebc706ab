#include "service/sessions/session_state_file.h"

#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "engine/base/crc32.h"
#include "engine/base/status_macros.h"
#include "nlohmann/json.hpp"
#include "service/sessions/file_io.h"
#include "service/sessions/session_codec.h"

namespace minimind {
namespace {

using nlohmann::json;

constexpr absl::string_view kFormat = "minimind-session-state";
constexpr int kVersion = 1;

// JSON text that never throws: invalid UTF-8 becomes U+FFFD.
std::string Dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

absl::Status Torn(absl::string_view what) {
  return absl::DataLossError(absl::StrCat("session state file: ", what));
}

json SessionToJson(const SessionSnapshot& session) {
  return {{"id", session.id},
          {"owner", session.owner},
          {"system", session.system_prompt},
          {"labels", LabelsToJson(session.labels)},
          {"messages", MessagesToJsonLines(session.messages)},
          {"tokens", session.tokens},
          {"created_ns", absl::ToUnixNanos(session.created)},
          {"last_used_ns", absl::ToUnixNanos(session.last_used)},
          {"ttl_ns", absl::ToInt64Nanoseconds(session.ttl)},
          {"turns", session.turns},
          {"overflow", ContextOverflowName(session.context_overflow)},
          {"window", session.window_start}};
}

absl::StatusOr<SessionSnapshot> SessionFromJson(const json& in) {
  auto string_field = [&](const char* name) -> absl::StatusOr<std::string> {
    auto it = in.find(name);
    if (it == in.end() || !it->is_string()) return Torn(absl::StrCat("a session without ", name));
    return it->get<std::string>();
  };
  auto integer_field = [&](const char* name) -> absl::StatusOr<int64_t> {
    auto it = in.find(name);
    if (it == in.end() || !it->is_number_integer()) {
      return Torn(absl::StrCat("a session without ", name));
    }
    return it->get<int64_t>();
  };
  if (!in.is_object()) return Torn("a session line is not an object");
  SessionSnapshot session;
  MINIMIND_ASSIGN_OR_RETURN(session.id, string_field("id"));
  MINIMIND_ASSIGN_OR_RETURN(session.owner, string_field("owner"));
  MINIMIND_ASSIGN_OR_RETURN(session.system_prompt, string_field("system"));
  MINIMIND_ASSIGN_OR_RETURN(const std::string labels, string_field("labels"));
  MINIMIND_ASSIGN_OR_RETURN(session.labels, LabelsFromJson(labels));
  MINIMIND_ASSIGN_OR_RETURN(const std::string messages, string_field("messages"));
  MINIMIND_ASSIGN_OR_RETURN(session.messages, MessagesFromJsonLines(messages));
  auto tokens = in.find("tokens");
  if (tokens == in.end() || !tokens->is_array()) return Torn("a session without tokens");
  session.tokens.reserve(tokens->size());
  for (const json& token : *tokens) {
    if (!token.is_number_integer()) return Torn("a token is not an integer");
    session.tokens.push_back(token.get<int32_t>());
  }
  MINIMIND_ASSIGN_OR_RETURN(const int64_t created_ns, integer_field("created_ns"));
  MINIMIND_ASSIGN_OR_RETURN(const int64_t last_used_ns, integer_field("last_used_ns"));
  MINIMIND_ASSIGN_OR_RETURN(const int64_t ttl_ns, integer_field("ttl_ns"));
  MINIMIND_ASSIGN_OR_RETURN(session.turns, integer_field("turns"));
  MINIMIND_ASSIGN_OR_RETURN(session.window_start, integer_field("window"));
  MINIMIND_ASSIGN_OR_RETURN(const std::string overflow, string_field("overflow"));
  session.created = absl::FromUnixNanos(created_ns);
  session.last_used = absl::FromUnixNanos(last_used_ns);
  session.ttl = absl::Nanoseconds(ttl_ns);
  session.expires = session.last_used + session.ttl;
  session.context_overflow = ContextOverflowFromName(overflow);
  session.num_messages = static_cast<int64_t>(session.messages.size());
  session.num_tokens = static_cast<int64_t>(session.tokens.size());
  return session;
}

}  // namespace

std::string EncodeSessionState(const SessionState& state) {
  std::string body;
  for (const SessionSnapshot& session : state.sessions) {
    absl::StrAppend(&body, Dump(SessionToJson(session)), "\n");
  }
  const json header = {{"format", kFormat},
                       {"version", kVersion},
                       {"model", state.model_fingerprint},
                       {"sessions", state.sessions.size()},
                       {"body_bytes", body.size()},
                       {"crc32", Crc32(absl::StrCat(state.model_fingerprint, "\n", body))}};
  return absl::StrCat(Dump(header), "\n", body);
}

absl::StatusOr<SessionState> DecodeSessionState(absl::string_view bytes) {
  const size_t header_end = bytes.find('\n');
  if (header_end == absl::string_view::npos) return Torn("no header line");
  const json header = json::parse(bytes.substr(0, header_end), nullptr, false);
  if (header.is_discarded() || !header.is_object()) return Torn("the header is not JSON");
  if (header.value("format", "") != kFormat) {
    return absl::FailedPreconditionError("not a minimind session state file");
  }
  if (header.value("version", 0) != kVersion) {
    return absl::FailedPreconditionError(absl::StrCat("session state file version ",
                                                      header.value("version", 0),
                                                      " (this server reads ", kVersion, ")"));
  }
  for (const char* name : {"sessions", "body_bytes", "crc32"}) {
    if (!header.contains(name) || !header[name].is_number_unsigned()) {
      return Torn(absl::StrCat("the header has no ", name));
    }
  }
  if (!header.contains("model") || !header["model"].is_string()) {
    return Torn("the header has no model");
  }
  const absl::string_view body = bytes.substr(header_end + 1);
  if (header["body_bytes"].get<uint64_t>() != body.size()) {
    return Torn(absl::StrCat("the body has ", body.size(), " bytes, the header says ",
                             header["body_bytes"].get<uint64_t>()));
  }
  SessionState state;
  state.model_fingerprint = header["model"].get<std::string>();
  if (header["crc32"].get<uint64_t>() != Crc32(absl::StrCat(state.model_fingerprint, "\n", body))) {
    return Torn("CRC mismatch");
  }
  size_t begin = 0;
  while (begin < body.size()) {
    size_t end = body.find('\n', begin);
    if (end == absl::string_view::npos) end = body.size();
    const json line = json::parse(body.substr(begin, end - begin), nullptr, false);
    if (line.is_discarded()) return Torn("a session line is not JSON");
    absl::StatusOr<SessionSnapshot> session = SessionFromJson(line);
    if (!session.ok()) return Torn(session.status().message());
    state.sessions.push_back(*std::move(session));
    begin = end + 1;
  }
  if (state.sessions.size() != header["sessions"].get<uint64_t>()) {
    return Torn("the session count does not match the header");
  }
  return state;
}

absl::Status WriteSessionStateFile(const std::string& path, const SessionState& state) {
  return WriteFileAtomically(path, EncodeSessionState(state));
}

absl::StatusOr<SessionState> ReadSessionStateFile(const std::string& path) {
  MINIMIND_ASSIGN_OR_RETURN(const std::string bytes, ReadWholeFile(path));
  return DecodeSessionState(bytes);
}

}  // namespace minimind
