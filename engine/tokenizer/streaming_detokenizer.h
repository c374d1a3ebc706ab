// StreamingDetokenizer: turns a stream of token ids into text deltas that are always complete
// UTF-8, for token streaming. A character split over several tokens is emitted once, whole, by
// the call that completes it. The concatenation of all deltas plus `Finish()` equals
// `Tokenizer::Decode` of all the ids (with the same `skip_special`), including the U+FFFD that
// Decode produces for bytes that never form a valid character.
//
// One per generation; not thread-safe. Holds a reference: the tokenizer must outlive it.
#ifndef MINIMIND_ENGINE_TOKENIZER_STREAMING_DETOKENIZER_H_
#define MINIMIND_ENGINE_TOKENIZER_STREAMING_DETOKENIZER_H_

#include <string>

#include "absl/status/statusor.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/utf8.h"

namespace minimind {

class StreamingDetokenizer {
 public:
  StreamingDetokenizer(const Tokenizer& tokenizer, bool skip_special)
      : tokenizer_(&tokenizer), skip_special_(skip_special) {}

  // Feeds one id; returns the text it completes (often empty mid-character). OutOfRange for an
  // id with no token, leaving the state unchanged.
  absl::StatusOr<std::string> Add(TokenId id);

  // Ends the stream: returns the pending bytes of an unfinished character as U+FFFD (or ""),
  // and resets the state so the object can be reused.
  std::string Finish() { return pending_.Finish(); }

 private:
  const Tokenizer* tokenizer_;
  bool skip_special_;
  Utf8LossyDecoder pending_;
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_TOKENIZER_STREAMING_DETOKENIZER_H_
