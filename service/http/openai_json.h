// The OpenAI-compatible request/response JSON of the HTTP API (openai_http_server.h), converted
// to and from minimind.v1 messages. Pure functions, no I/O; thread-safe.
//
// Requests: POST /v1/chat/completions {model, messages, max_tokens | max_completion_tokens,
// temperature, top_p, stop (string or array), seed, presence_penalty, frequency_penalty,
// logprobs, top_logprobs, n (1 only), stream, stream_options.include_usage, response_format
// ({type: text | json_object | json_schema, json_schema: {name, schema, strict}})} and
// POST /v1/completions {model, prompt (string, or an array of one string or of token ids), the same
// sampling fields}. Extensions: top_k, min_p, repetition_penalty, ignore_eos, session_id (continue
// a session: `messages` are then only the new ones), context_overflow ("truncate" | "error"),
// regex (the reply matches it), choice (the reply is one of these strings).
// Fields accepted and ignored (they never change the reply): user, metadata, store, service_tier.
// Any other field is invalid_request_error naming it (never silently ignored); so are wrong types.
#ifndef MINIMIND_SERVICE_HTTP_OPENAI_JSON_H_
#define MINIMIND_SERVICE_HTTP_OPENAI_JSON_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "minimind/v1/inference.pb.h"

namespace minimind {

enum class OpenAiEndpoint { kChatCompletions, kCompletions };

struct OpenAiRequest {
  v1::GenerateRequest generate;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
};

// InvalidArgument naming the field for malformed JSON, a wrong type, n != 1, or missing input.
absl::StatusOr<OpenAiRequest> ParseOpenAiRequest(OpenAiEndpoint endpoint, absl::string_view body);

// "stop", "length", or "cancelled" (a generation cancelled server-side, e.g. by a drain).
const char* OpenAiFinishReason(v1::FinishReason reason);

// The usage object: prompt_tokens, completion_tokens, total_tokens,
// prompt_tokens_details.cached_tokens; for a session turn (extensions) session_saved, and
// session_save_error when it is false.
nlohmann::json OpenAiUsage(const v1::Usage& usage);

// The whole (non-streaming) response of `endpoint` for the merged `response`.
nlohmann::json OpenAiResponse(OpenAiEndpoint endpoint, const std::string& id, int64_t created,
                              const std::string& model, const v1::GenerateResponse& response);

// One server-sent-event chunk object for a streamed delta (`first` adds the assistant role).
nlohmann::json OpenAiChunk(OpenAiEndpoint endpoint, const std::string& id, int64_t created,
                           const std::string& model, const v1::GenerateResponse& delta, bool first);

// {"error": {"message", "type", "param", "code"}} and its HTTP status, from a status.
struct OpenAiError {
  int http_status = 500;
  nlohmann::json body;
};
OpenAiError ToOpenAiError(const absl::Status& status);

}  // namespace minimind

#endif  // MINIMIND_SERVICE_HTTP_OPENAI_JSON_H_
