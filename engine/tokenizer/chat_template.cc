#include "engine/tokenizer/chat_template.h"

#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/tokenizer/jinja_tojson.h"
#include "nlohmann/json.hpp"

namespace minimind {
namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

constexpr absl::string_view kAllowedRoles[] = {"system", "user", "assistant", "tool"};

// The fixed text around the tool definitions in both MiniMind templates.
constexpr absl::string_view kToolsPreamble =
    "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>";
constexpr absl::string_view kToolsPostamble =
    "\n</tools>\n\nFor each function call, return a json object with function name and arguments "
    "within <tool_call></tool_call> XML tags:\n<tool_call>\n"
    "{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n";
constexpr absl::string_view kMiniMind2DefaultSystem =
    "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n";
constexpr absl::string_view kOpenThink = "<think>\n";
constexpr absl::string_view kEmptyThink = "<think>\n\n</think>\n\n";

constexpr absl::string_view kFallbackWarningSuffix =
    "; rendering plain ChatML (<|im_start|>{role}\\n{content}<|im_end|>\\n), which may not be "
    "the format the model was trained on";

// Python's str.lstrip('\n'), str.rstrip('\n') and str.strip('\n').
absl::string_view LStripNewlines(absl::string_view text) {
  while (!text.empty() && text.front() == '\n') text.remove_prefix(1);
  return text;
}
absl::string_view RStripNewlines(absl::string_view text) {
  while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  return text;
}
absl::string_view StripNewlines(absl::string_view text) {
  return LStripNewlines(RStripNewlines(text));
}

// Python's text.split(separator)[0] and text.split(separator)[-1].
absl::string_view BeforeFirst(absl::string_view text, absl::string_view separator) {
  const size_t pos = text.find(separator);
  return pos == absl::string_view::npos ? text : text.substr(0, pos);
}
absl::string_view AfterLast(absl::string_view text, absl::string_view separator) {
  const size_t pos = text.rfind(separator);
  return pos == absl::string_view::npos ? text : text.substr(pos + separator.size());
}

absl::Status ValidateMessages(absl::Span<const ChatMessage> messages) {
  if (messages.empty()) return absl::InvalidArgumentError("the conversation has no messages");
  for (size_t i = 0; i < messages.size(); ++i) {
    const std::string& role = messages[i].role;
    bool allowed = false;
    for (const absl::string_view known : kAllowedRoles) allowed = allowed || role == known;
    if (!allowed) {
      return absl::InvalidArgumentError(absl::StrCat("messages[", i, "] has unknown role \"", role,
                                                     "\"; allowed roles are ",
                                                     absl::StrJoin(kAllowedRoles, ", ")));
    }
  }
  return absl::OkStatus();
}

// The text the templates insert for `tool_call.arguments`: a string as is, anything else through
// `tojson`.
absl::StatusOr<std::string> RenderArguments(const ToolCall& call) {
  if (!call.arguments_is_json) return call.arguments;
  OrderedJson value;
  try {
    value = OrderedJson::parse(call.arguments.begin(), call.arguments.end());
  } catch (const OrderedJson::parse_error& error) {
    return absl::InvalidArgumentError(
        absl::StrCat("not valid JSON at byte ", error.byte, ": ", error.what()));
  } catch (const OrderedJson::exception& error) {  // out_of_range 406: a number beyond double.
    return absl::InvalidArgumentError(absl::StrCat("not valid JSON: ", error.what()));
  }
  if (value.is_string()) return value.get<std::string>();
  return JinjaToJson(call.arguments);
}

// The tool-call loop shared by both MiniMind templates. `content` is the template's `content`
// variable at that point (before its final lstrip): a newline separates the first call from
// non-empty content, and each later call from the previous one.
absl::Status AppendToolCalls(size_t message_index, absl::string_view content,
                             absl::Span<const ToolCall> calls, std::string& out) {
  for (size_t j = 0; j < calls.size(); ++j) {
    auto arguments = RenderArguments(calls[j]);
    if (!arguments.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("messages[", message_index, "].tool_calls[", j,
                       "].arguments: ", arguments.status().message()));
    }
    if (j > 0 || !content.empty()) out.push_back('\n');
    absl::StrAppend(&out, "<tool_call>\n{\"name\": \"", calls[j].name,
                    "\", \"arguments\": ", *arguments, "}\n</tool_call>");
  }
  return absl::OkStatus();
}

// minimind-3's assistant turn up to its tool calls. Returns the `content` variable the tool-call
// loop sees: with an inline think block taken out when there is no reasoning_content.
absl::string_view AppendMiniMind3AssistantBody(const ChatMessage& message,
                                               absl::string_view content, std::string& out) {
  absl::string_view reasoning;
  if (message.reasoning_content.has_value()) {
    reasoning = *message.reasoning_content;
  } else if (absl::StrContains(content, "</think>")) {
    reasoning =
        LStripNewlines(AfterLast(RStripNewlines(BeforeFirst(content, "</think>")), "<think>"));
    content = LStripNewlines(AfterLast(content, "</think>"));
  }
  absl::StrAppend(&out, "<think>\n", StripNewlines(reasoning), "\n</think>\n\n",
                  LStripNewlines(content));
  return content;
}

// Both MiniMind templates; they differ only where `kind` is tested.
absl::StatusOr<std::string> RenderMiniMind(ChatTemplateKind kind,
                                           absl::Span<const ChatMessage> messages,
                                           const ChatRenderOptions& options) {
  std::string out;
  const ChatMessage& first = messages.front();
  const bool leading_system = first.role == "system";
  if (leading_system && !first.content.has_value()) {
    return absl::InvalidArgumentError(
        "messages[0] is a system message with null content, which the model's chat template "
        "cannot render");
  }
  if (!options.tools_json.empty()) {
    out += "<|im_start|>system\n";
    if (leading_system) absl::StrAppend(&out, *first.content, "\n\n");
    absl::StrAppend(&out, kToolsPreamble);
    for (size_t i = 0; i < options.tools_json.size(); ++i) {
      auto tool = JinjaToJson(options.tools_json[i]);
      if (!tool.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("tools_json[", i, "]: ", tool.status().message()));
      }
      absl::StrAppend(&out, "\n", *tool);
    }
    absl::StrAppend(&out, kToolsPostamble);
  } else if (leading_system) {
    absl::StrAppend(&out, "<|im_start|>system\n", *first.content, "<|im_end|>\n");
  } else if (kind == ChatTemplateKind::kMiniMind2) {
    absl::StrAppend(&out, kMiniMind2DefaultSystem);
  }

  for (size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& message = messages[i];
    const absl::string_view content =
        message.content.has_value() ? absl::string_view(*message.content) : "";
    if (message.role == "user" || (message.role == "system" && i > 0)) {
      absl::StrAppend(&out, "<|im_start|>", message.role, "\n", content, "<|im_end|>\n");
    } else if (message.role == "assistant") {
      out += "<|im_start|>assistant\n";
      absl::string_view content_before_calls = content;
      if (kind == ChatTemplateKind::kMiniMind3) {
        content_before_calls = AppendMiniMind3AssistantBody(message, content, out);
      } else {
        absl::StrAppend(&out, content);
      }
      if (absl::Status status = AppendToolCalls(i, content_before_calls, message.tool_calls, out);
          !status.ok()) {
        return status;
      }
      out += "<|im_end|>\n";
    } else if (message.role == "tool") {
      // Consecutive tool results share one user turn.
      if (i == 0 || messages[i - 1].role != "tool") out += "<|im_start|>user";
      absl::StrAppend(&out, "\n<tool_response>\n", content, "\n</tool_response>");
      if (i + 1 == messages.size() || messages[i + 1].role != "tool") out += "<|im_end|>\n";
    }
  }

  if (options.add_generation_prompt) {
    out += "<|im_start|>assistant\n";
    if (kind == ChatTemplateKind::kMiniMind3) {
      absl::StrAppend(&out, options.enable_thinking == true ? kOpenThink : kEmptyThink);
    } else if (options.enable_thinking == false) {
      absl::StrAppend(&out, kEmptyThink);
    }
  }
  return out;
}

absl::StatusOr<std::string> RenderChatMl(absl::Span<const ChatMessage> messages,
                                                 const ChatRenderOptions& options) {
  if (!options.tools_json.empty()) {
    return absl::InvalidArgumentError(
        "tools were given, but the model's chat template is plain ChatML, which cannot render "
        "tools");
  }
  std::string out;
  for (size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& message = messages[i];
    if (!message.tool_calls.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("messages[", i,
                       "] has tool calls, but the model's chat template is plain ChatML, which "
                       "cannot render tool calls"));
    }
    absl::StrAppend(&out, "<|im_start|>", message.role, "\n", message.content.value_or(""),
                    "<|im_end|>\n");
  }
  if (options.add_generation_prompt) out += "<|im_start|>assistant\n";
  return out;
}

// A special token entry of tokenizer_config.json: a string, an AddedToken object
// ({"content": ..., ...}) or null.
absl::StatusOr<std::optional<std::string>> ReadSpecialToken(const Json& config, const char* key) {
  const auto it = config.find(key);
  if (it == config.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) {
    const auto content = it->find("content");
    if (content != it->end() && content->is_string()) return content->get<std::string>();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("tokenizer_config.json: ", key,
                   ": expected a string, an object with a string \"content\" "
                   "or null"));
}

}  // namespace

absl::StatusOr<ChatTemplate> ChatTemplate::FromTokenizerConfig(absl::string_view config_json_text) {
  Json config;
  try {
    config = Json::parse(config_json_text.begin(), config_json_text.end());
  } catch (const Json::parse_error& error) {
    return absl::InvalidArgumentError(absl::StrCat("tokenizer_config.json: not valid JSON at byte ",
                                                   error.byte, ": ", error.what()));
  } catch (const Json::exception& error) {  // out_of_range 406: a number beyond double's range.
    return absl::InvalidArgumentError(absl::StrCat("tokenizer_config.json: ", error.what()));
  }
  if (!config.is_object()) {
    return absl::InvalidArgumentError("tokenizer_config.json: expected a JSON object");
  }
  auto bos_token = ReadSpecialToken(config, "bos_token");
  if (!bos_token.ok()) return bos_token.status();
  auto eos_token = ReadSpecialToken(config, "eos_token");
  if (!eos_token.ok()) return eos_token.status();

  ChatTemplateKind kind = ChatTemplateKind::kChatMlFallback;
  std::string warning;
  const auto source = config.find("chat_template");
  if (source == config.end() || source->is_null()) {
    warning = absl::StrCat("tokenizer_config.json has no chat_template", kFallbackWarningSuffix);
  } else if (!source->is_string()) {
    warning = absl::StrCat("tokenizer_config.json: chat_template is a JSON ", source->type_name(),
                           ", not a template string", kFallbackWarningSuffix);
  } else if (const auto detected = DetectChatTemplateKind(source->get_ref<const std::string&>());
             detected.has_value()) {
    kind = *detected;
  } else {
    warning = absl::StrCat(
        "tokenizer_config.json: chat_template is not byte-identical to a known template (",
        ChatTemplateKindName(ChatTemplateKind::kMiniMind3), ", ",
        ChatTemplateKindName(ChatTemplateKind::kMiniMind2), ", ",
        ChatTemplateKindName(ChatTemplateKind::kChatMl), ")", kFallbackWarningSuffix);
  }
  return ChatTemplate(kind, std::move(warning), *std::move(bos_token), *std::move(eos_token));
}

absl::StatusOr<ChatTemplate> ChatTemplate::FromModelDir(const std::string& dir) {
  const std::string path = absl::StrCat(dir, "/tokenizer_config.json");
  std::ifstream stream(path, std::ios::binary);
  if (!stream) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::ostringstream contents;
  contents << stream.rdbuf();
  auto chat_template = FromTokenizerConfig(contents.str());
  if (!chat_template.ok()) {
    return absl::Status(chat_template.status().code(),
                        absl::StrCat(path, ": ", chat_template.status().message()));
  }
  return chat_template;
}

absl::StatusOr<std::string> ChatTemplate::Render(absl::Span<const ChatMessage> messages,
                                                 const ChatRenderOptions& options) const {
  if (absl::Status status = ValidateMessages(messages); !status.ok()) return status;
  if (kind_ == ChatTemplateKind::kChatMl || kind_ == ChatTemplateKind::kChatMlFallback) {
    return RenderChatMl(messages, options);
  }
  return RenderMiniMind(kind_, messages, options);
}

}  // namespace minimind
