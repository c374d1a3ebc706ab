// Request conversion: proto GenerateRequest -> engine inputs (sampling params, prompt tokens, chat
// messages), with every service limit checked. Pure functions of the request and the model's
// tokenizer/template; no gRPC calls, no engine state. Thread-safe (PromptBuilder is immutable).
//
// Session turns: a session keeps the exact token ids of its history (prompt + generated). A turn's
// prompt is those tokens followed by the tokens of the newly rendered suffix: the text that the
// chat template adds when the new message(s) and the generation prompt are appended to the
// rendered transcript. So the history is never re-tokenized and its KV stays a valid prefix. When
// the template's rendering of the longer conversation does not extend the shorter one (a template
// that rewrites history, e.g. stripping reasoning), the whole conversation is rendered and
// tokenized afresh; the engine then reuses whatever common prefix remains.
#ifndef MINIMIND_SERVICE_REQUEST_CONVERSION_H_
#define MINIMIND_SERVICE_REQUEST_CONVERSION_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/constrain/constraint.h"
#include "engine/sampling/sampling_params.h"
#include "engine/tokenizer/chat_template.h"
#include "engine/tokenizer/tokenizer.h"
#include "minimind/v1/inference.pb.h"
#include "service/service_limits.h"

namespace minimind {

// The request's sampling fields over the server defaults; InvalidArgument naming the field, value
// and range (ValidateSamplingParams), or the max_tokens cap. An unset max_tokens stays unset here:
// its default depends on the prompt's length (DefaultMaxTokens).
absl::StatusOr<SamplingParams> SamplingParamsFromProto(const v1::GenerateRequest& request,
                                                       const ServiceLimits& limits);

// The max_tokens of a request that left it unset: the cap, clipped to `room` (the most new tokens
// the engine can fit after the prompt, Engine::MaxNewTokens), so an unset max_tokens is never the
// reason a request fails. nullopt when room < 1: the engine then reports that the prompt leaves no
// room to generate.
std::optional<int32_t> DefaultMaxTokens(int64_t room, const ServiceLimits& limits);

// InvalidArgument when an id (request_id, session_id) is longer than the limit or not printable
// ASCII. `field` names it in the message.
absl::Status ValidateIdField(absl::string_view field, absl::string_view id,
                             const ServiceLimits& limits);

// Messages with known roles (system, user, assistant, tool), valid UTF-8 and within the count and
// byte limits; InvalidArgument otherwise, naming the message index.
absl::StatusOr<std::vector<ChatMessage>> ChatMessagesFromProto(
    const google::protobuf::RepeatedPtrField<v1::ChatMessage>& messages,
    const ServiceLimits& limits);

// The request's structured-output constraint (nullopt when it has none). InvalidArgument for an
// empty regex or choice list, or a constraint beside enable_thinking (the constraint would forbid
// the think block).
absl::StatusOr<std::optional<ConstraintSpec>> ConstraintSpecFromProto(
    const v1::GenerateRequest& request);

// How a prompt has to fit the context, and whether to drop old turns to make it fit
// (v1::ContextOverflow TRUNCATE) or leave an overflow to fail in the engine.
struct ContextBudget {
  int64_t max_context = 0;   // positions one sequence may hold (Engine::max_context); 0 = unknown
  int64_t reply_tokens = 1;  // kept free for the reply (ReplyBudget)
  bool truncate = false;
};

// The room a request keeps for its reply when its context is truncated: its max_tokens, or when
// unset min(the max_tokens cap, a quarter of the context), so a long conversation still gets a
// reply of useful length.
int64_t ReplyBudget(const v1::GenerateRequest& request, int64_t max_context,
                    const ServiceLimits& limits);

class PromptBuilder {
 public:
  // `chat_template` may be null (messages input is then InvalidArgument). Both must outlive this.
  PromptBuilder(const Tokenizer& tokenizer, const ChatTemplate* chat_template,
                ServiceLimits limits);

  // Prompt tokens of a request without a session: raw prompt, token ids or rendered messages.
  // InvalidArgument: empty input, invalid UTF-8, unknown role, an id outside the tokenizer's
  // vocabulary; over max_prompt_bytes/max_prompt_tokens the message states the limit.
  absl::StatusOr<std::vector<int32_t>> Build(const v1::GenerateRequest& request) const;

  // A stateless `messages` request under TRUNCATE: as Build, but when the rendered prompt leaves
  // less than budget.reply_tokens of the context, the oldest whole turns (a turn starts at a user
  // message) between the leading system message(s) and the last user message are dropped, enough
  // to free limits.context_free_fraction of the context; the rest is rendered and tokenized afresh.
  // InvalidArgument for other input kinds, and naming the sizes when even the system message(s)
  // and the last turn alone do not fit.
  struct FittedPrompt {
    std::vector<int32_t> tokens;
    int64_t dropped_messages = 0;
    int64_t dropped_tokens = 0;  // prompt tokens the drop saved
  };
  absl::StatusOr<FittedPrompt> BuildTruncated(const v1::GenerateRequest& request,
                                              const ContextBudget& budget) const;

  struct Turn {
    std::vector<int32_t> prompt_tokens;     // window tokens + the new suffix's tokens
    std::vector<ChatMessage> new_messages;  // what the turn appends before the reply
    int64_t window_start = 0;               // the context window's first message after this turn
    int64_t dropped_messages = 0;           // messages this turn moved out of the window
    int64_t dropped_tokens = 0;             // prompt tokens that saved
  };
  // A session turn: the new message(s) of `request` (messages, or a prompt taken as one user
  // message) after the session's system prompt, the transcript's window (from `window_start`) and
  // its tokens. Under budget.truncate, a prompt that leaves less than budget.reply_tokens of the
  // context (or a window over max_messages) drops the window's oldest whole turns as
  // BuildTruncated does, never the system prompt or the new message(s); the kept turns are then
  // rendered and tokenized afresh, exactly as a new session holding only them would see them.
  absl::StatusOr<Turn> BuildTurn(absl::string_view system_prompt,
                                 const std::vector<ChatMessage>& transcript, int64_t window_start,
                                 const std::vector<int32_t>& history_tokens,
                                 const v1::GenerateRequest& request,
                                 const ContextBudget& budget) const;

  // The session tokens after a turn: the turn's prompt and output, followed by whatever the
  // template renders after the reply (e.g. "<|im_end|>\n" when generation stopped before it),
  // so the next turn's suffix starts where the template expects. `transcript` already holds the
  // new messages and the assistant reply.
  std::vector<int32_t> CommittedTokens(absl::string_view system_prompt,
                                       const std::vector<ChatMessage>& transcript,
                                       const std::vector<int32_t>& prompt_tokens,
                                       const std::vector<int32_t>& output_tokens,
                                       std::optional<bool> enable_thinking) const;

  // A session's window tokens rendered and tokenized afresh: the system prompt and
  // transcript[window_start..] without a generation prompt, as a session holding only them has
  // after its last turn. For sessions whose tokens came from another tokenizer (a state file of
  // another model).
  absl::StatusOr<std::vector<int32_t>> WindowTokens(absl::string_view system_prompt,
                                                    const std::vector<ChatMessage>& transcript,
                                                    int64_t window_start) const;

  const ServiceLimits& limits() const { return limits_; }

 private:
  absl::StatusOr<std::string> Render(absl::string_view system_prompt,
                                     const std::vector<ChatMessage>& messages,
                                     bool add_generation_prompt,
                                     std::optional<bool> enable_thinking) const;
  absl::StatusOr<std::vector<int32_t>> EncodeChecked(absl::string_view text) const;
  // The tokens of `messages` after the system prompt, rendered with the generation prompt.
  absl::StatusOr<std::vector<int32_t>> RenderPrompt(absl::string_view system_prompt,
                                                    const std::vector<ChatMessage>& messages,
                                                    std::optional<bool> enable_thinking) const;
  absl::Status CheckTokenCount(int64_t count) const;
  // The fewest leading whole turns of `window` to drop so that system + pinned + window[k..] +
  // new_messages, rendered afresh, fits `budget` (see BuildTruncated); returns k and the tokens.
  struct Fit {
    int64_t dropped = 0;
    std::vector<int32_t> tokens;
  };
  absl::StatusOr<Fit> FitWindow(absl::string_view system_prompt,
                                const std::vector<ChatMessage>& pinned,
                                const std::vector<ChatMessage>& window,
                                const std::vector<ChatMessage>& new_messages,
                                std::optional<bool> enable_thinking,
                                const ContextBudget& budget) const;

  const Tokenizer& tokenizer_;
  const ChatTemplate* chat_template_;
  ServiceLimits limits_;
};

}  // namespace minimind

#endif  // MINIMIND_SERVICE_REQUEST_CONVERSION_H_
