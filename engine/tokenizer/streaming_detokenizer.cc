#include "engine/tokenizer/streaming_detokenizer.h"

namespace minimind {

absl::StatusOr<std::string> StreamingDetokenizer::Add(TokenId id) {
  std::string delta;
  if (absl::Status status = tokenizer_->DecodeStep(id, skip_special_, pending_, delta);
      !status.ok()) {
    return status;
  }
  return delta;
}

}  // namespace minimind
