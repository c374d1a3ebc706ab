// TokenDelta: what one engine step adds to one generation, streamed through
// GenerationSink::OnDelta. A plain value.
#ifndef MINIMIND_ENGINE_SCHEDULER_TOKEN_DELTA_H_
#define MINIMIND_ENGINE_SCHEDULER_TOKEN_DELTA_H_

#include <cstdint>
#include <string>
#include <vector>

#include "engine/sampling/sampler.h"

namespace minimind {

struct TokenDelta {
  // Ids generated this step (stop tokens included: they count as completion tokens).
  std::vector<int32_t> token_ids;
  // Text that became final: complete UTF-8; a possible beginning of a stop string is held back
  // and a matched stop string is cut, as StopChecker specifies. Often empty.
  std::string text;
  // One entry per token_ids entry: the id and, when params.logprobs, its logprob and the
  // params.top_logprobs alternatives.
  std::vector<SampledToken> sampled;
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_SCHEDULER_TOKEN_DELTA_H_
