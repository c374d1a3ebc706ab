#include "service/http/openai_json.h"

#include <limits>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace minimind {
namespace {

using nlohmann::json;

absl::Status Invalid(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, " ", problem));
}

// Sets `set(value)` from an optional number field.
template <typename Setter>
absl::Status Number(const json& body, const char* field, Setter set) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_number()) return Invalid(field, "must be a number");
  set(it->get<double>());
  return absl::OkStatus();
}

template <typename Setter>
absl::Status Integer(const json& body, const char* field, Setter set) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_number_integer()) return Invalid(field, "must be an integer");
  const int64_t value = it->get<int64_t>();
  if (value < std::numeric_limits<int32_t>::min() || value > std::numeric_limits<int32_t>::max()) {
    return Invalid(field, "is out of range");
  }
  set(value);
  return absl::OkStatus();
}

template <typename Setter>
absl::Status Boolean(const json& body, const char* field, Setter set) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_boolean()) return Invalid(field, "must be true or false");
  set(it->get<bool>());
  return absl::OkStatus();
}

// A message's content: a string, or an array of {"type": "text", "text": ...} parts.
absl::StatusOr<std::string> Content(const json& content, const std::string& where) {
  if (content.is_null()) return std::string();
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array()) return Invalid(where, "must be a string or an array of text parts");
  std::string text;
  for (size_t i = 0; i < content.size(); ++i) {
    const json& part = content[i];
    if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") ||
        !part["text"].is_string()) {
      return Invalid(absl::StrCat(where, "[", i, "]"),
                     "must be {\"type\": \"text\", \"text\": ...} (only text is supported)");
    }
    text += part["text"].get<std::string>();
  }
  return text;
}

absl::Status Sampling(const json& body, v1::GenerateRequest& out) {
  if (absl::Status s = Integer(body, "max_tokens", [&](int64_t v) { out.set_max_tokens(v); });
      !s.ok())
    return s;
  if (absl::Status s =
          Integer(body, "max_completion_tokens", [&](int64_t v) { out.set_max_tokens(v); });
      !s.ok())
    return s;
  if (absl::Status s = Number(body, "temperature", [&](double v) { out.set_temperature(v); });
      !s.ok())
    return s;
  if (absl::Status s = Number(body, "top_p", [&](double v) { out.set_top_p(v); }); !s.ok())
    return s;
  if (absl::Status s = Number(body, "min_p", [&](double v) { out.set_min_p(v); }); !s.ok())
    return s;
  if (absl::Status s = Integer(body, "top_k", [&](int64_t v) { out.set_top_k(v); }); !s.ok()) {
    return s;
  }
  if (absl::Status s =
          Number(body, "presence_penalty", [&](double v) { out.set_presence_penalty(v); });
      !s.ok())
    return s;
  if (absl::Status s =
          Number(body, "frequency_penalty", [&](double v) { out.set_frequency_penalty(v); });
      !s.ok())
    return s;
  if (absl::Status s =
          Number(body, "repetition_penalty", [&](double v) { out.set_repetition_penalty(v); });
      !s.ok())
    return s;
  if (auto it = body.find("seed"); it != body.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0) {
      return Invalid("seed", "must be a non-negative integer");
    }
    out.set_seed(it->get<uint64_t>());
  }
  if (absl::Status s = Boolean(body, "ignore_eos", [&](bool v) { out.set_ignore_eos(v); }); !s.ok())
    return s;
  if (auto it = body.find("stop"); it != body.end() && !it->is_null()) {
    if (it->is_string()) {
      out.add_stop(it->get<std::string>());
    } else if (it->is_array()) {
      for (const json& stop : *it) {
        if (!stop.is_string()) return Invalid("stop", "must be a string or an array of strings");
        out.add_stop(stop.get<std::string>());
      }
    } else {
      return Invalid("stop", "must be a string or an array of strings");
    }
  }
  if (auto it = body.find("n"); it != body.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<int64_t>() != 1) {
      return Invalid("n", "must be 1: this server returns one choice per request");
    }
  }
  return absl::OkStatus();
}

// Fields this server reads, on both endpoints and on one; fields it accepts and ignores because
// they never change the reply. Any other field is refused, so nothing a client asks for is
// silently dropped.
const absl::flat_hash_set<std::string>& SharedFields() {
  static const auto* const kFields = new absl::flat_hash_set<std::string>{"model",
                                                                          "max_tokens",
                                                                          "max_completion_tokens",
                                                                          "temperature",
                                                                          "top_p",
                                                                          "min_p",
                                                                          "top_k",
                                                                          "presence_penalty",
                                                                          "frequency_penalty",
                                                                          "repetition_penalty",
                                                                          "seed",
                                                                          "ignore_eos",
                                                                          "stop",
                                                                          "n",
                                                                          "stream",
                                                                          "stream_options",
                                                                          "session_id",
                                                                          "context_overflow",
                                                                          "response_format",
                                                                          "regex",
                                                                          "choice",
                                                                          "grammar",
                                                                          "logprobs"};
  return *kFields;
}
const absl::flat_hash_set<std::string>& IgnoredFields() {
  static const auto* const kFields =
      new absl::flat_hash_set<std::string>{"user", "metadata", "store", "service_tier"};
  return *kFields;
}

absl::Status CheckFields(OpenAiEndpoint endpoint, const json& body) {
  for (const auto& [name, value] : body.items()) {
    if (SharedFields().contains(name) || IgnoredFields().contains(name)) continue;
    if (endpoint == OpenAiEndpoint::kChatCompletions &&
        (name == "messages" || name == "top_logprobs")) {
      continue;
    }
    if (endpoint == OpenAiEndpoint::kCompletions && name == "prompt") continue;
    return Invalid(name,
                   "is not supported by this server (docs/http_api.md lists the fields it "
                   "reads and the ones it ignores)");
  }
  return absl::OkStatus();
}

// response_format, and the regex / choice / grammar extensions: at most one constraint.
absl::Status Constraint(absl::string_view text, const json& body, v1::GenerateRequest& out) {
  int given = 0;
  if (auto it = body.find("response_format"); it != body.end() && !it->is_null()) {
    if (!it->is_object() || !it->contains("type") || !(*it)["type"].is_string()) {
      return Invalid("response_format", "must be an object with a string \"type\"");
    }
    const std::string type = (*it)["type"].get<std::string>();
    if (type == "json_object") {
      out.mutable_json_object();
      ++given;
    } else if (type == "json_schema") {
      auto spec = it->find("json_schema");
      if (spec == it->end() || !spec->is_object() || !spec->contains("schema") ||
          !((*spec)["schema"].is_object() || (*spec)["schema"].is_boolean())) {
        return Invalid("response_format.json_schema",
                       "must be {\"name\", \"schema\": {...}, \"strict\"}");
      }
      // The schema's own key order decides the order of the reply's properties: read it again
      // from the text (nlohmann::json sorts keys).
      const nlohmann::ordered_json ordered = nlohmann::ordered_json::parse(text, nullptr, false);
      out.set_json_schema(ordered["response_format"]["json_schema"]["schema"].dump(
          -1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
      ++given;
    } else if (type != "text") {
      return Invalid("response_format.type",
                     "must be \"text\", \"json_object\" or \"json_schema\"");
    }
  }
  if (auto it = body.find("regex"); it != body.end() && !it->is_null()) {
    if (!it->is_string()) return Invalid("regex", "must be a string");
    out.set_regex(it->get<std::string>());
    ++given;
  }
  if (auto it = body.find("choice"); it != body.end() && !it->is_null()) {
    if (!it->is_array()) return Invalid("choice", "must be an array of strings");
    for (const json& choice : *it) {
      if (!choice.is_string()) return Invalid("choice", "must be an array of strings");
      out.mutable_choice()->add_choices(choice.get<std::string>());
    }
    ++given;
  }
  if (auto it = body.find("grammar"); it != body.end() && !it->is_null()) {
    if (!it->is_string()) return Invalid("grammar", "must be a string (an EBNF grammar)");
    out.set_grammar(it->get<std::string>());
    ++given;
  }
  if (given > 1) {
    return Invalid("response_format",
                   "only one of response_format (json), regex, choice and grammar may be given");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<OpenAiRequest> ParseOpenAiRequest(OpenAiEndpoint endpoint, absl::string_view body) {
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return absl::InvalidArgumentError("the request body is not a JSON object");
  }
  OpenAiRequest request;
  v1::GenerateRequest& out = request.generate;
  if (absl::Status s = CheckFields(endpoint, parsed); !s.ok()) return s;
  if (absl::Status s = Sampling(parsed, out); !s.ok()) return s;
  if (absl::Status s = Constraint(body, parsed, out); !s.ok()) return s;
  if (absl::Status s = Boolean(parsed, "stream", [&](bool v) { request.stream = v; }); !s.ok()) {
    return s;
  }
  if (auto it = parsed.find("stream_options"); it != parsed.end() && it->is_object()) {
    if (absl::Status s = Boolean(*it, "include_usage", [&](bool v) { request.include_usage = v; });
        !s.ok())
      return s;
  }
  if (auto it = parsed.find("session_id"); it != parsed.end() && !it->is_null()) {
    if (!it->is_string()) return Invalid("session_id", "must be a string");
    out.set_session_id(it->get<std::string>());
  }
  if (auto it = parsed.find("context_overflow"); it != parsed.end() && !it->is_null()) {
    if (!it->is_string() || (*it != "truncate" && *it != "error")) {
      return Invalid("context_overflow", "must be \"truncate\" or \"error\"");
    }
    out.set_context_overflow(*it == "truncate" ? v1::CONTEXT_OVERFLOW_TRUNCATE
                                               : v1::CONTEXT_OVERFLOW_ERROR);
  }
  if (endpoint == OpenAiEndpoint::kChatCompletions) {
    if (absl::Status s = Boolean(parsed, "logprobs", [&](bool v) { out.set_logprobs(v); }); !s.ok())
      return s;
    if (absl::Status s =
            Integer(parsed, "top_logprobs", [&](int64_t v) { out.set_top_logprobs(v); });
        !s.ok())
      return s;
    auto messages = parsed.find("messages");
    if (messages == parsed.end() || !messages->is_array()) {
      return Invalid("messages", "is required: an array of {\"role\", \"content\"}");
    }
    v1::ChatMessages* chat = out.mutable_messages();
    for (size_t i = 0; i < messages->size(); ++i) {
      const json& message = (*messages)[i];
      const std::string where = absl::StrCat("messages[", i, "]");
      if (!message.is_object() || !message.contains("role") || !message["role"].is_string()) {
        return Invalid(where, "must be an object with a string \"role\"");
      }
      v1::ChatMessage* entry = chat->add_messages();
      entry->set_role(message["role"].get<std::string>());
      absl::StatusOr<std::string> content =
          Content(message.contains("content") ? message["content"] : json(), where + ".content");
      if (!content.ok()) return content.status();
      entry->set_content(*std::move(content));
      if (message.contains("reasoning_content") && message["reasoning_content"].is_string()) {
        entry->set_reasoning_content(message["reasoning_content"].get<std::string>());
      }
    }
    return request;
  }
  auto prompt = parsed.find("prompt");
  if (prompt == parsed.end() || prompt->is_null()) return Invalid("prompt", "is required");
  if (prompt->is_string()) {
    out.set_prompt(prompt->get<std::string>());
  } else if (prompt->is_array() && prompt->size() == 1 && (*prompt)[0].is_string()) {
    out.set_prompt((*prompt)[0].get<std::string>());
  } else if (prompt->is_array() && !prompt->empty() && (*prompt)[0].is_number_integer()) {
    for (const json& id : *prompt) {
      if (!id.is_number_integer()) return Invalid("prompt", "token ids must be integers");
      out.mutable_token_ids()->add_ids(id.get<int32_t>());
    }
  } else {
    return Invalid("prompt", "must be a string, an array of one string, or an array of token ids");
  }
  if (auto it = parsed.find("logprobs"); it != parsed.end() && !it->is_null()) {
    // The completions API's logprobs is the number of alternatives.
    if (!it->is_number_integer() || it->get<int64_t>() < 0) {
      return Invalid("logprobs", "must be a non-negative integer");
    }
    out.set_logprobs(true);
    out.set_top_logprobs(it->get<int32_t>());
  }
  return request;
}

const char* OpenAiFinishReason(v1::FinishReason reason) {
  switch (reason) {
    case v1::FINISH_REASON_LENGTH:
      return "length";
    case v1::FINISH_REASON_CANCELLED:
      return "cancelled";
    default:
      return "stop";
  }
}

nlohmann::json OpenAiUsage(const v1::Usage& usage) {
  json body = {{"prompt_tokens", usage.prompt_tokens()},
               {"completion_tokens", usage.completion_tokens()},
               {"total_tokens", usage.prompt_tokens() + usage.completion_tokens()},
               {"prompt_tokens_details", {{"cached_tokens", usage.cached_prompt_tokens()}}}};
  if (usage.context_dropped_messages() > 0) {
    body["context_dropped_messages"] = usage.context_dropped_messages();
    body["context_dropped_tokens"] = usage.context_dropped_tokens();
  }
  if (usage.has_session_saved()) {
    body["session_saved"] = usage.session_saved();
    if (!usage.session_saved()) body["session_save_error"] = usage.session_save_error();
  }
  return body;
}

nlohmann::json OpenAiResponse(OpenAiEndpoint endpoint, const std::string& id, int64_t created,
                              const std::string& model, const v1::GenerateResponse& response) {
  json choice = {{"index", 0}, {"finish_reason", OpenAiFinishReason(response.finish_reason())}};
  if (endpoint == OpenAiEndpoint::kChatCompletions) {
    choice["message"] = {{"role", "assistant"}, {"content", response.text()}};
  } else {
    choice["text"] = response.text();
  }
  choice["logprobs"] = nullptr;
  json body = {{"id", id},
               {"object", endpoint == OpenAiEndpoint::kChatCompletions ? "chat.completion"
                                                                       : "text_completion"},
               {"created", created},
               {"model", model},
               {"choices", json::array({choice})},
               {"usage", OpenAiUsage(response.usage())}};
  if (!response.session_id().empty()) body["session_id"] = response.session_id();
  return body;
}

nlohmann::json OpenAiChunk(OpenAiEndpoint endpoint, const std::string& id, int64_t created,
                           const std::string& model, const v1::GenerateResponse& delta,
                           bool first) {
  json choice = {{"index", 0}, {"logprobs", nullptr}};
  const bool last = delta.finish_reason() != v1::FINISH_REASON_UNSPECIFIED;
  choice["finish_reason"] = last ? json(OpenAiFinishReason(delta.finish_reason())) : json();
  if (endpoint == OpenAiEndpoint::kChatCompletions) {
    json content = {{"content", delta.text()}};
    if (first) content["role"] = "assistant";
    choice["delta"] = std::move(content);
  } else {
    choice["text"] = delta.text();
  }
  return {{"id", id},
          {"object", endpoint == OpenAiEndpoint::kChatCompletions ? "chat.completion.chunk"
                                                                  : "text_completion"},
          {"created", created},
          {"model", model},
          {"choices", json::array({choice})}};
}

OpenAiError ToOpenAiError(const absl::Status& status) {
  const absl::string_view message = status.message();
  OpenAiError error;
  std::string type = "server_error";
  json code = nullptr;
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      error.http_status = 400;
      type = "invalid_request_error";
      break;
    case absl::StatusCode::kUnauthenticated:
      error.http_status = 401;
      type = "authentication_error";
      code = "invalid_api_key";
      break;
    case absl::StatusCode::kPermissionDenied:
      error.http_status = 403;
      type = "permission_error";
      break;
    case absl::StatusCode::kNotFound:
      error.http_status = 404;
      type = "not_found_error";
      break;
    case absl::StatusCode::kAborted:
      error.http_status = 409;
      type = "conflict_error";
      break;
    case absl::StatusCode::kResourceExhausted:
      if (absl::StrContains(message, "context limit")) {
        error.http_status = 400;
        type = "invalid_request_error";
        code = "context_length_exceeded";
      } else {
        error.http_status = 429;
        type = "rate_limit_error";
      }
      break;
    case absl::StatusCode::kUnavailable:
      error.http_status = 503;
      type = "service_unavailable";
      break;
    case absl::StatusCode::kDeadlineExceeded:
      error.http_status = 504;
      type = "timeout";
      break;
    default:
      error.http_status = 500;
  }
  error.body = {
      {"error",
       {{"message", std::string(message)}, {"type", type}, {"param", nullptr}, {"code", code}}}};
  return error;
}

}  // namespace minimind
