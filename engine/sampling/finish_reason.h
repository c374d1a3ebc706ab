// FinishReason: why a generation ended, as reported to clients in the last response.
// A plain enum; `FinishReasonName` gives the stable lowercase name used in logs and the API.
#ifndef MINIMIND_ENGINE_SAMPLING_FINISH_REASON_H_
#define MINIMIND_ENGINE_SAMPLING_FINISH_REASON_H_

#include "absl/strings/string_view.h"

namespace minimind {

enum class FinishReason {
  // The model produced an end-of-sequence token or one of the request's stop token ids.
  kStop,
  // max_tokens (or the context length) was reached.
  kLength,
  // The generated text contained one of the request's stop strings.
  kStopSequence,
  // The request was cancelled (by the client or because the engine shut down).
  kCancelled,
};

// "stop", "length", "stop_sequence" or "cancelled".
absl::string_view FinishReasonName(FinishReason reason);

}  // namespace minimind

#endif  // MINIMIND_ENGINE_SAMPLING_FINISH_REASON_H_
