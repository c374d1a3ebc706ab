#include "service/sessions/session_codec.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/base/status_macros.h"
#include "nlohmann/json.hpp"

namespace minimind {
namespace {

using nlohmann::json;

// JSON text that never throws: invalid UTF-8 becomes U+FFFD.
std::string Dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

json MessageToJson(const ChatMessage& message) {
  json out = {{"role", message.role}};
  out["content"] = message.content.has_value() ? json(*message.content) : json(nullptr);
  if (message.reasoning_content.has_value()) out["reasoning_content"] = *message.reasoning_content;
  if (!message.tool_calls.empty()) {
    json calls = json::array();
    for (const ToolCall& call : message.tool_calls) {
      calls.push_back({{"name", call.name},
                       {"arguments", call.arguments},
                       {"arguments_is_json", call.arguments_is_json}});
    }
    out["tool_calls"] = std::move(calls);
  }
  return out;
}

absl::Status Corrupt(absl::string_view what) {
  return absl::InternalError(absl::StrCat("corrupt session record: ", what));
}

absl::StatusOr<ChatMessage> MessageFromJson(const json& in) {
  if (!in.is_object() || !in.contains("role") || !in["role"].is_string()) {
    return Corrupt("a message without a role");
  }
  ChatMessage message;
  message.role = in["role"].get<std::string>();
  if (auto it = in.find("content"); it != in.end() && it->is_string()) {
    message.content = it->get<std::string>();
  }
  if (auto it = in.find("reasoning_content"); it != in.end() && it->is_string()) {
    message.reasoning_content = it->get<std::string>();
  }
  if (auto it = in.find("tool_calls"); it != in.end() && it->is_array()) {
    for (const json& call : *it) {
      if (!call.is_object() || !call.value("name", json()).is_string() ||
          !call.value("arguments", json()).is_string()) {
        return Corrupt("a malformed tool call");
      }
      message.tool_calls.push_back(ToolCall{call["name"].get<std::string>(),
                                            call["arguments"].get<std::string>(),
                                            call.value("arguments_is_json", false)});
    }
  }
  return message;
}

}  // namespace

// One JSON line per message, each ending in '\n' (JSON text never holds a raw newline).
std::string MessagesToJsonLines(const std::vector<ChatMessage>& messages) {
  std::string out;
  for (const ChatMessage& message : messages)
    absl::StrAppend(&out, Dump(MessageToJson(message)), "\n");
  return out;
}

absl::StatusOr<std::vector<ChatMessage>> MessagesFromJsonLines(absl::string_view text) {
  std::vector<ChatMessage> messages;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    json parsed = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) return Corrupt("a message is not JSON");
    MINIMIND_ASSIGN_OR_RETURN(ChatMessage message, MessageFromJson(parsed));
    messages.push_back(std::move(message));
  }
  return messages;
}

std::string LabelsToJson(const SessionLabels& labels) {
  json out = json::object();
  for (const auto& [key, value] : labels) out[key] = value;
  return Dump(out);
}

absl::StatusOr<SessionLabels> LabelsFromJson(absl::string_view text) {
  json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) return Corrupt("labels are not a JSON object");
  SessionLabels labels;
  for (const auto& [key, value] : parsed.items()) {
    if (!value.is_string()) return Corrupt("a label value is not a string");
    labels[key] = value.get<std::string>();
  }
  return labels;
}

// [num_tokens * 4] little-endian int32.
std::string PackTokens(const std::vector<int32_t>& tokens) {
  std::string out(tokens.size() * 4, '\0');
  for (size_t i = 0; i < tokens.size(); ++i) {
    const uint32_t value = static_cast<uint32_t>(tokens[i]);
    for (int byte = 0; byte < 4; ++byte) {
      out[i * 4 + byte] = static_cast<char>((value >> (8 * byte)) & 0xff);
    }
  }
  return out;
}

absl::StatusOr<std::vector<int32_t>> UnpackTokens(absl::string_view bytes) {
  if (bytes.size() % 4 != 0) return Corrupt("the token bytes are not a multiple of 4");
  std::vector<int32_t> tokens(bytes.size() / 4);
  for (size_t i = 0; i < tokens.size(); ++i) {
    uint32_t value = 0;
    for (int byte = 0; byte < 4; ++byte) {
      value |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[i * 4 + byte])) << (8 * byte);
    }
    tokens[i] = static_cast<int32_t>(value);
  }
  return tokens;
}

absl::string_view ContextOverflowName(ContextOverflow overflow) {
  return overflow == ContextOverflow::kError ? "error" : "truncate";
}

ContextOverflow ContextOverflowFromName(absl::string_view name) {
  return name == "error" ? ContextOverflow::kError : ContextOverflow::kTruncate;
}

}  // namespace minimind
