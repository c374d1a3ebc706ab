#include "service/request_conversion.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "service/request_checks.h"

namespace minimind {
namespace {

// The request's enable_thinking, unset when it has none (the template's default).
std::optional<bool> ThinkingOf(const v1::GenerateRequest& request) {
  if (!request.has_enable_thinking()) return std::nullopt;
  return request.enable_thinking();
}

bool IsKnownRole(absl::string_view role) {
  return role == "system" || role == "user" || role == "assistant" || role == "tool";
}

}  // namespace

absl::StatusOr<SamplingParams> SamplingParamsFromProto(const v1::GenerateRequest& request,
                                                       const ServiceLimits& limits) {
  SamplingParams params;
  if (request.has_temperature()) params.temperature = request.temperature();
  if (request.has_top_k()) params.top_k = request.top_k();
  if (request.has_top_p()) params.top_p = request.top_p();
  if (request.has_min_p()) params.min_p = request.min_p();
  if (request.has_repetition_penalty()) params.repetition_penalty = request.repetition_penalty();
  if (request.has_presence_penalty()) params.presence_penalty = request.presence_penalty();
  if (request.has_frequency_penalty()) params.frequency_penalty = request.frequency_penalty();
  if (request.has_seed()) params.seed = request.seed();
  if (request.has_max_tokens()) {
    if (request.max_tokens() < 1 || request.max_tokens() > limits.max_tokens_cap) {
      return absl::InvalidArgumentError(absl::StrCat(
          "max_tokens must be in [1, ", limits.max_tokens_cap, "], got ", request.max_tokens()));
    }
    params.max_tokens = request.max_tokens();
  }
  params.stop.assign(request.stop().begin(), request.stop().end());
  params.stop_token_ids.assign(request.stop_token_ids().begin(), request.stop_token_ids().end());
  if (request.has_ignore_eos()) params.ignore_eos = request.ignore_eos();
  if (request.has_logprobs()) params.logprobs = request.logprobs();
  if (request.has_top_logprobs()) params.top_logprobs = request.top_logprobs();
  if (request.has_prompt_logprobs()) params.prompt_logprobs = request.prompt_logprobs();
  if (absl::Status status = ValidateSamplingParams(params); !status.ok()) return status;
  return params;
}

std::optional<int32_t> DefaultMaxTokens(int64_t room, const ServiceLimits& limits) {
  if (room < 1) return std::nullopt;
  return static_cast<int32_t>(std::min<int64_t>(room, limits.max_tokens_cap));
}

int64_t ReplyBudget(const v1::GenerateRequest& request, int64_t max_context,
                    const ServiceLimits& limits) {
  if (request.has_max_tokens()) return std::max<int64_t>(1, request.max_tokens());
  return std::max<int64_t>(1, std::min<int64_t>(limits.max_tokens_cap, max_context / 4));
}

absl::Status ValidateIdField(absl::string_view field, absl::string_view id,
                             const ServiceLimits& limits) {
  if (static_cast<int64_t>(id.size()) > limits.max_id_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " is ", id.size(), " bytes; the limit is ", limits.max_id_bytes));
  }
  for (char c : id) {
    if (c < 0x21 || c > 0x7e) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, " must be printable ASCII without spaces"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ChatMessage>> ChatMessagesFromProto(
    const google::protobuf::RepeatedPtrField<v1::ChatMessage>& messages,
    const ServiceLimits& limits) {
  if (messages.empty()) return absl::InvalidArgumentError("input is empty: messages has none");
  if (messages.size() > limits.max_messages) {
    return absl::InvalidArgumentError(absl::StrCat("messages has ", messages.size(),
                                                   " entries; the limit is ", limits.max_messages));
  }
  std::vector<ChatMessage> out;
  out.reserve(messages.size());
  int64_t bytes = 0;
  for (int i = 0; i < messages.size(); ++i) {
    const v1::ChatMessage& message = messages[i];
    if (absl::Status s = CheckUtf8(absl::StrCat("messages[", i, "].role"), message.role());
        !s.ok()) {
      return s;
    }
    if (!IsKnownRole(message.role())) {
      return absl::InvalidArgumentError(
          absl::StrCat("messages[", i, "].role \"", message.role(),
                       "\" is unknown; expected system, user, assistant or tool"));
    }
    if (absl::Status s = CheckUtf8(absl::StrCat("messages[", i, "].content"), message.content());
        !s.ok()) {
      return s;
    }
    if (absl::Status s = CheckUtf8(absl::StrCat("messages[", i, "].reasoning_content"),
                                   message.reasoning_content());
        !s.ok()) {
      return s;
    }
    bytes += message.content().size() + message.reasoning_content().size();
    ChatMessage converted;
    converted.role = message.role();
    converted.content = message.content();
    if (!message.reasoning_content().empty()) {
      converted.reasoning_content = message.reasoning_content();
    }
    out.push_back(std::move(converted));
  }
  if (bytes > limits.max_prompt_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "messages hold ", bytes, " bytes of content; the limit is ", limits.max_prompt_bytes));
  }
  return out;
}

PromptBuilder::PromptBuilder(const Tokenizer& tokenizer, const ChatTemplate* chat_template,
                             ServiceLimits limits)
    : tokenizer_(tokenizer), chat_template_(chat_template), limits_(limits) {}

absl::Status PromptBuilder::CheckTokenCount(int64_t count) const {
  if (count > limits_.max_prompt_tokens) {
    return absl::InvalidArgumentError(
        absl::StrCat("prompt is ", count, " tokens; the limit is ", limits_.max_prompt_tokens));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int32_t>> PromptBuilder::EncodeChecked(absl::string_view text) const {
  absl::StatusOr<std::vector<TokenId>> ids = tokenizer_.Encode(text);
  if (!ids.ok()) return absl::InvalidArgumentError(ids.status().message());
  return std::vector<int32_t>(ids->begin(), ids->end());
}

absl::StatusOr<std::vector<int32_t>> PromptBuilder::RenderPrompt(
    absl::string_view system_prompt, const std::vector<ChatMessage>& messages,
    std::optional<bool> enable_thinking) const {
  absl::StatusOr<std::string> text = Render(system_prompt, messages, true, enable_thinking);
  if (!text.ok()) return text.status();
  return EncodeChecked(*text);
}

absl::StatusOr<std::optional<ConstraintSpec>> ConstraintSpecFromProto(
    const v1::GenerateRequest& request) {
  ConstraintSpec spec;
  switch (request.constraint_case()) {
    case v1::GenerateRequest::CONSTRAINT_NOT_SET:
      return std::optional<ConstraintSpec>();
    case v1::GenerateRequest::kJsonSchema:
      spec.kind = ConstraintKind::kJsonSchema;
      spec.text = request.json_schema();
      break;
    case v1::GenerateRequest::kJsonObject:
      spec.kind = ConstraintKind::kJsonObject;
      break;
    case v1::GenerateRequest::kRegex:
      spec.kind = ConstraintKind::kRegex;
      spec.text = request.regex();
      break;
    case v1::GenerateRequest::kChoice:
      spec.kind = ConstraintKind::kChoice;
      spec.choices.assign(request.choice().choices().begin(), request.choice().choices().end());
      break;
    case v1::GenerateRequest::kGrammar:
      spec.kind = ConstraintKind::kGrammar;
      spec.text = request.grammar();
      break;
  }
  if (request.has_enable_thinking() && request.enable_thinking()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "enable_thinking cannot be combined with a ", ConstraintKindName(spec.kind),
        " constraint: the constraint applies to the whole reply, which then has no think block"));
  }
  return spec;
}

absl::StatusOr<std::vector<int32_t>> PromptBuilder::WindowTokens(
    absl::string_view system_prompt, const std::vector<ChatMessage>& transcript,
    int64_t window_start) const {
  if (window_start < 0 || window_start > static_cast<int64_t>(transcript.size())) {
    return absl::InvalidArgumentError(
        absl::StrCat("window start ", window_start, " outside ", transcript.size(), " messages"));
  }
  const std::vector<ChatMessage> window(transcript.begin() + window_start, transcript.end());
  absl::StatusOr<std::string> text = Render(system_prompt, window, false, std::nullopt);
  if (!text.ok()) return text.status();
  return EncodeChecked(*text);
}

absl::StatusOr<std::string> PromptBuilder::Render(absl::string_view system_prompt,
                                                  const std::vector<ChatMessage>& messages,
                                                  bool add_generation_prompt,
                                                  std::optional<bool> enable_thinking) const {
  if (chat_template_ == nullptr) {
    return absl::InvalidArgumentError(
        "the model has no chat template; send prompt or token_ids instead of messages");
  }
  std::vector<ChatMessage> all;
  all.reserve(messages.size() + 1);
  if (!system_prompt.empty()) {
    ChatMessage system;
    system.role = "system";
    system.content = std::string(system_prompt);
    all.push_back(std::move(system));
  }
  all.insert(all.end(), messages.begin(), messages.end());
  ChatRenderOptions options;
  options.add_generation_prompt = add_generation_prompt;
  options.enable_thinking = enable_thinking;
  absl::StatusOr<std::string> text = chat_template_->Render(all, options);
  if (!text.ok()) return absl::InvalidArgumentError(text.status().message());
  return text;
}

absl::StatusOr<std::vector<int32_t>> PromptBuilder::Build(
    const v1::GenerateRequest& request) const {
  std::vector<int32_t> tokens;
  switch (request.input_case()) {
    case v1::GenerateRequest::kPrompt: {
      const std::string& prompt = request.prompt();
      if (prompt.empty()) return absl::InvalidArgumentError("input is empty: prompt is \"\"");
      if (static_cast<int64_t>(prompt.size()) > limits_.max_prompt_bytes) {
        return absl::InvalidArgumentError(absl::StrCat(
            "prompt is ", prompt.size(), " bytes; the limit is ", limits_.max_prompt_bytes));
      }
      if (absl::Status s = CheckUtf8("prompt", prompt); !s.ok()) return s;
      absl::StatusOr<std::vector<int32_t>> encoded = EncodeChecked(prompt);
      if (!encoded.ok()) return encoded.status();
      tokens = *std::move(encoded);
      break;
    }
    case v1::GenerateRequest::kTokenIds: {
      const auto& ids = request.token_ids().ids();
      if (ids.empty()) return absl::InvalidArgumentError("input is empty: token_ids has none");
      if (absl::Status s = CheckTokenCount(ids.size()); !s.ok()) return s;
      for (int i = 0; i < ids.size(); ++i) {
        if (ids[i] < 0 || ids[i] >= tokenizer_.vocab_size()) {
          return absl::InvalidArgumentError(absl::StrCat("token_ids[", i, "] = ", ids[i],
                                                         " is outside the vocabulary [0, ",
                                                         tokenizer_.vocab_size(), ")"));
        }
      }
      tokens.assign(ids.begin(), ids.end());
      break;
    }
    case v1::GenerateRequest::kMessages: {
      absl::StatusOr<std::vector<ChatMessage>> messages =
          ChatMessagesFromProto(request.messages().messages(), limits_);
      if (!messages.ok()) return messages.status();
      absl::StatusOr<std::vector<int32_t>> encoded =
          RenderPrompt("", *messages, ThinkingOf(request));
      if (!encoded.ok()) return encoded.status();
      tokens = *std::move(encoded);
      break;
    }
    case v1::GenerateRequest::INPUT_NOT_SET:
      return absl::InvalidArgumentError("input is empty: set prompt, token_ids or messages");
  }
  if (tokens.empty()) return absl::InvalidArgumentError("input is empty: it encodes to no tokens");
  if (absl::Status s = CheckTokenCount(tokens.size()); !s.ok()) return s;
  return tokens;
}

absl::StatusOr<PromptBuilder::Turn> PromptBuilder::BuildTurn(
    absl::string_view system_prompt, const std::vector<ChatMessage>& full_transcript,
    int64_t window_start, const std::vector<int32_t>& history_tokens,
    const v1::GenerateRequest& request, const ContextBudget& budget) const {
  window_start = std::clamp<int64_t>(window_start, 0, static_cast<int64_t>(full_transcript.size()));
  const std::vector<ChatMessage> transcript(full_transcript.begin() + window_start,
                                            full_transcript.end());
  Turn turn;
  turn.window_start = window_start;
  switch (request.input_case()) {
    case v1::GenerateRequest::kMessages: {
      absl::StatusOr<std::vector<ChatMessage>> messages =
          ChatMessagesFromProto(request.messages().messages(), limits_);
      if (!messages.ok()) return messages.status();
      turn.new_messages = *std::move(messages);
      break;
    }
    case v1::GenerateRequest::kPrompt: {
      if (request.prompt().empty()) {
        return absl::InvalidArgumentError("input is empty: prompt is \"\"");
      }
      if (static_cast<int64_t>(request.prompt().size()) > limits_.max_prompt_bytes) {
        return absl::InvalidArgumentError(absl::StrCat("prompt is ", request.prompt().size(),
                                                       " bytes; the limit is ",
                                                       limits_.max_prompt_bytes));
      }
      if (absl::Status s = CheckUtf8("prompt", request.prompt()); !s.ok()) return s;
      ChatMessage user;
      user.role = "user";
      user.content = request.prompt();
      turn.new_messages.push_back(std::move(user));
      break;
    }
    case v1::GenerateRequest::kTokenIds:
      return absl::InvalidArgumentError(
          "a session turn takes messages (or a prompt as one user message), not token_ids");
    case v1::GenerateRequest::INPUT_NOT_SET:
      return absl::InvalidArgumentError("input is empty: set messages for the session turn");
  }
  const bool too_many_messages =
      static_cast<int64_t>(transcript.size() + turn.new_messages.size()) > limits_.max_messages;
  if (too_many_messages && !budget.truncate) {
    return absl::InvalidArgumentError(
        absl::StrCat("the session would hold ", transcript.size() + turn.new_messages.size(),
                     " messages; the limit is ", limits_.max_messages));
  }
  const std::optional<bool> thinking = ThinkingOf(request);
  std::vector<ChatMessage> all = transcript;
  all.insert(all.end(), turn.new_messages.begin(), turn.new_messages.end());
  absl::StatusOr<std::string> full = Render(system_prompt, all, true, thinking);
  if (!full.ok()) return full.status();

  // The history's own rendering (nothing before the first turn but the system prompt, which may be
  // empty: then the suffix is the whole text).
  std::string previous;
  if (!transcript.empty() || !system_prompt.empty()) {
    absl::StatusOr<std::string> rendered = Render(system_prompt, transcript, false, thinking);
    if (!rendered.ok()) return rendered.status();
    previous = *std::move(rendered);
  }
  const bool extends = !history_tokens.empty() && absl::StartsWith(*full, previous);
  if (extends) {
    absl::StatusOr<std::vector<int32_t>> suffix =
        EncodeChecked(absl::string_view(*full).substr(previous.size()));
    if (!suffix.ok()) return suffix.status();
    turn.prompt_tokens = history_tokens;
    turn.prompt_tokens.insert(turn.prompt_tokens.end(), suffix->begin(), suffix->end());
  } else {
    absl::StatusOr<std::vector<int32_t>> encoded = EncodeChecked(*full);
    if (!encoded.ok()) return encoded.status();
    turn.prompt_tokens = *std::move(encoded);
  }
  const bool fits =
      budget.max_context <= 0 ||
      static_cast<int64_t>(turn.prompt_tokens.size()) + budget.reply_tokens <= budget.max_context;
  if (budget.truncate && (!fits || too_many_messages)) {
    absl::StatusOr<Fit> fit =
        FitWindow(system_prompt, {}, transcript, turn.new_messages, thinking, budget);
    if (!fit.ok()) return fit.status();
    turn.window_start = window_start + fit->dropped;
    turn.dropped_messages = fit->dropped;
    turn.dropped_tokens =
        std::max<int64_t>(0, static_cast<int64_t>(turn.prompt_tokens.size() - fit->tokens.size()));
    turn.prompt_tokens = std::move(fit->tokens);
  }
  if (absl::Status s = CheckTokenCount(turn.prompt_tokens.size()); !s.ok()) return s;
  return turn;
}

absl::StatusOr<PromptBuilder::Fit> PromptBuilder::FitWindow(
    absl::string_view system_prompt, const std::vector<ChatMessage>& pinned,
    const std::vector<ChatMessage>& window, const std::vector<ChatMessage>& new_messages,
    std::optional<bool> enable_thinking, const ContextBudget& budget) const {
  const int64_t size = static_cast<int64_t>(window.size());
  // Drop points: whole turns only (a turn starts at a user message), or the whole window; never
  // fewer than the message limit needs.
  const int64_t least = static_cast<int64_t>(pinned.size() + window.size() + new_messages.size()) -
                        limits_.max_messages;
  std::vector<int64_t> drops;
  for (int64_t k = std::max<int64_t>(1, least); k <= size; ++k) {
    if (k == size || window[k].role == "user") drops.push_back(k);
  }
  if (drops.empty()) drops.push_back(size);
  absl::flat_hash_map<int64_t, std::vector<int32_t>> rendered;  // drop -> prompt tokens
  auto tokens_after = [&](int64_t k) -> absl::StatusOr<const std::vector<int32_t>*> {
    auto it = rendered.find(k);
    if (it != rendered.end()) return &it->second;
    std::vector<ChatMessage> kept = pinned;
    kept.insert(kept.end(), window.begin() + k, window.end());
    kept.insert(kept.end(), new_messages.begin(), new_messages.end());
    absl::StatusOr<std::vector<int32_t>> tokens =
        RenderPrompt(system_prompt, kept, enable_thinking);
    if (!tokens.ok()) return tokens.status();
    return &rendered.emplace(k, *std::move(tokens)).first->second;
  };
  // The first drop point whose prompt has at most `target` tokens (prompts shrink as more is
  // dropped), by binary search; -1 if none.
  auto first_within = [&](int64_t target) -> absl::StatusOr<int64_t> {
    int64_t low = 0;
    int64_t high = static_cast<int64_t>(drops.size());
    while (low < high) {
      const int64_t middle = (low + high) / 2;
      absl::StatusOr<const std::vector<int32_t>*> tokens = tokens_after(drops[middle]);
      if (!tokens.ok()) return tokens.status();
      if (static_cast<int64_t>((*tokens)->size()) <= target) {
        high = middle;
      } else {
        low = middle + 1;
      }
    }
    return low < static_cast<int64_t>(drops.size()) ? drops[low] : -1;
  };
  const int64_t hard = budget.max_context - budget.reply_tokens;
  const int64_t soft =
      std::min<int64_t>(hard, static_cast<int64_t>(static_cast<double>(budget.max_context) *
                                                   (1.0 - limits_.context_free_fraction)));
  absl::StatusOr<int64_t> chosen = first_within(soft);
  if (chosen.ok() && *chosen < 0) chosen = first_within(hard);
  if (!chosen.ok()) return chosen.status();
  if (*chosen < 0) {
    absl::StatusOr<const std::vector<int32_t>*> alone = tokens_after(size);
    if (!alone.ok()) return alone.status();
    return absl::InvalidArgumentError(absl::StrCat(
        "the new message needs ", (*alone)->size(),
        " prompt tokens with the system prompt and the chat template; with ", budget.reply_tokens,
        " tokens kept for the reply that exceeds the context limit of ", budget.max_context,
        " tokens"));
  }
  Fit fit;
  fit.dropped = *chosen;
  fit.tokens = std::move(rendered[*chosen]);
  return fit;
}

absl::StatusOr<PromptBuilder::FittedPrompt> PromptBuilder::BuildTruncated(
    const v1::GenerateRequest& request, const ContextBudget& budget) const {
  if (request.input_case() != v1::GenerateRequest::kMessages) {
    return absl::InvalidArgumentError(
        "context_overflow TRUNCATE needs messages input (it drops whole turns); prompt and "
        "token_ids cannot be truncated");
  }
  absl::StatusOr<std::vector<ChatMessage>> messages =
      ChatMessagesFromProto(request.messages().messages(), limits_);
  if (!messages.ok()) return messages.status();
  const std::optional<bool> thinking = ThinkingOf(request);
  FittedPrompt prompt;
  absl::StatusOr<std::vector<int32_t>> encoded = RenderPrompt("", *messages, thinking);
  if (!encoded.ok()) return encoded.status();
  prompt.tokens = *std::move(encoded);
  if (budget.max_context <= 0 ||
      static_cast<int64_t>(prompt.tokens.size()) + budget.reply_tokens <= budget.max_context) {
    if (absl::Status s = CheckTokenCount(prompt.tokens.size()); !s.ok()) return s;
    return prompt;
  }
  // Leading system messages stay; the last turn (from the last user message on) is the new one.
  size_t first = 0;
  while (first < messages->size() && (*messages)[first].role == "system") ++first;
  size_t last = messages->size();
  while (last > first && (*messages)[last - 1].role != "user") --last;
  if (last > first) --last;  // the last user message itself
  const std::vector<ChatMessage> pinned(messages->begin(), messages->begin() + first);
  const std::vector<ChatMessage> window(messages->begin() + first, messages->begin() + last);
  const std::vector<ChatMessage> newest(messages->begin() + last, messages->end());
  absl::StatusOr<Fit> fit = FitWindow("", pinned, window, newest, thinking, budget);
  if (!fit.ok()) return fit.status();
  prompt.dropped_messages = fit->dropped;
  prompt.dropped_tokens =
      std::max<int64_t>(0, static_cast<int64_t>(prompt.tokens.size() - fit->tokens.size()));
  prompt.tokens = std::move(fit->tokens);
  if (absl::Status s = CheckTokenCount(prompt.tokens.size()); !s.ok()) return s;
  return prompt;
}

std::vector<int32_t> PromptBuilder::CommittedTokens(absl::string_view system_prompt,
                                                    const std::vector<ChatMessage>& transcript,
                                                    const std::vector<int32_t>& prompt_tokens,
                                                    const std::vector<int32_t>& output_tokens,
                                                    std::optional<bool> enable_thinking) const {
  std::vector<int32_t> tokens = prompt_tokens;
  tokens.insert(tokens.end(), output_tokens.begin(), output_tokens.end());
  absl::StatusOr<std::string> rendered = Render(system_prompt, transcript, false, enable_thinking);
  absl::StatusOr<std::string> decoded = tokenizer_.Decode(tokens);
  if (!rendered.ok() || !decoded.ok() || !absl::StartsWith(*rendered, *decoded)) {
    // The template does not reproduce the generated text verbatim; keep the exact tokens. The
    // next turn re-renders the conversation and reuses the common prefix.
    return tokens;
  }
  absl::StatusOr<std::vector<int32_t>> tail =
      EncodeChecked(absl::string_view(*rendered).substr(decoded->size()));
  if (tail.ok()) tokens.insert(tokens.end(), tail->begin(), tail->end());
  return tokens;
}

}  // namespace minimind
