#include "service/http/session_json.h"

#include <cstdint>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace minimind {
namespace {

using json = nlohmann::json;

absl::StatusOr<json> ParseObject(absl::string_view body) {
  if (body.empty()) return json::object();
  json parsed = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return absl::InvalidArgumentError("the request body is not a JSON object");
  }
  return parsed;
}

// ttl_seconds: a non-negative integer; range checks are the store's (ValidateSessionTtl).
absl::StatusOr<std::optional<absl::Duration>> TtlField(const json& body) {
  auto it = body.find("ttl_seconds");
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer()) {
    return absl::InvalidArgumentError("ttl_seconds must be an integer");
  }
  const int64_t seconds =
      it->is_number_unsigned()
          ? static_cast<int64_t>(std::min<uint64_t>(it->get<uint64_t>(), uint64_t{1} << 40))
          : it->get<int64_t>();
  if (seconds < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("ttl_seconds must be non-negative, got ", seconds));
  }
  return absl::Seconds(seconds);
}

double UnixSeconds(absl::Time time) { return absl::ToDoubleSeconds(time - absl::UnixEpoch()); }

}  // namespace

absl::StatusOr<SessionCreateBody> ParseSessionCreateBody(absl::string_view body) {
  absl::StatusOr<json> parsed = ParseObject(body);
  if (!parsed.ok()) return parsed.status();
  SessionCreateBody out;
  if (auto it = parsed->find("system_prompt"); it != parsed->end() && !it->is_null()) {
    if (!it->is_string()) return absl::InvalidArgumentError("system_prompt must be a string");
    out.system_prompt = it->get<std::string>();
  }
  absl::StatusOr<std::optional<absl::Duration>> ttl = TtlField(*parsed);
  if (!ttl.ok()) return ttl.status();
  out.ttl = ttl->value_or(absl::ZeroDuration());
  if (auto it = parsed->find("context_overflow"); it != parsed->end() && !it->is_null()) {
    if (!it->is_string() || (*it != "truncate" && *it != "error")) {
      return absl::InvalidArgumentError("context_overflow must be \"truncate\" or \"error\"");
    }
    out.context_overflow = *it == "error" ? ContextOverflow::kError : ContextOverflow::kTruncate;
  }
  if (auto it = parsed->find("labels"); it != parsed->end() && !it->is_null()) {
    if (!it->is_object()) return absl::InvalidArgumentError("labels must be an object of strings");
    for (const auto& [key, value] : it->items()) {
      if (!value.is_string()) {
        return absl::InvalidArgumentError(absl::StrCat("labels[\"", key, "\"] must be a string"));
      }
      out.labels[key] = value.get<std::string>();
    }
  }
  return out;
}

absl::StatusOr<std::optional<absl::Duration>> ParseSessionForkBody(absl::string_view body) {
  absl::StatusOr<json> parsed = ParseObject(body);
  if (!parsed.ok()) return parsed.status();
  return TtlField(*parsed);
}

json SessionJson(const SessionSnapshot& session, bool with_messages) {
  json out = {{"id", session.id},
              {"object", "session"},
              {"system_prompt", session.system_prompt},
              {"labels", session.labels},
              {"num_messages", with_messages ? static_cast<int64_t>(session.messages.size())
                                             : session.num_messages},
              {"num_tokens", session.num_tokens},
              {"kv_cached", session.kv_cached()},
              {"turns", session.turns},
              {"busy", session.busy},
              {"created", UnixSeconds(session.created)},
              {"last_used", UnixSeconds(session.last_used)},
              {"expires", UnixSeconds(session.expires)},
              {"ttl_seconds", absl::ToDoubleSeconds(session.ttl)},
              {"context_overflow",
               session.context_overflow == ContextOverflow::kError ? "error" : "truncate"},
              {"window_start", session.window_start}};
  if (with_messages) {
    json messages = json::array();
    for (const ChatMessage& message : session.messages) {
      json entry = {{"role", message.role}, {"content", message.content.value_or("")}};
      if (message.reasoning_content.has_value()) {
        entry["reasoning_content"] = *message.reasoning_content;
      }
      messages.push_back(std::move(entry));
    }
    out["messages"] = std::move(messages);
  }
  return out;
}

}  // namespace minimind
