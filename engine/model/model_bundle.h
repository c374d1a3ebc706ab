// ModelBundle: everything needed to serve one model directory — the weights (Model), the
// tokenizer, the chat template when the directory has one, and the ids that end a generation.
// What the CLI and the server load at start-up; a plain value, movable, immutable after load.
//
// End-of-sequence ids: the token named by tokenizer_config.json's `eos_token`, plus
// "<|endoftext|>" and "<|im_end|>" when the vocabulary has them as special tokens (MiniMind's
// vocabularies use both: documents end with the first, chat turns with the second), without
// duplicates, in that order.
//
// Thread-safety: const access is safe from any thread (Tokenizer and ChatTemplate are immutable;
// the weights are read-only mappings).
#ifndef MINIMIND_ENGINE_MODEL_MODEL_BUNDLE_H_
#define MINIMIND_ENGINE_MODEL_MODEL_BUNDLE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/base/dtype.h"
#include "engine/model/checkpoint_loader.h"
#include "engine/model/model.h"
#include "engine/tokenizer/chat_template.h"
#include "engine/tokenizer/tokenizer.h"

namespace minimind {

struct ModelBundleOptions {
  // Weights: a directory in Hugging Face layout, a *.safetensors(.index.json) file or a
  // MiniMind *.pth file (see checkpoint_loader.h).
  std::string model_path;
  // config.json to use instead of the one in/beside model_path (how a .pth gets its architecture).
  std::string config_path;
  // Directory holding tokenizer.json (and optionally tokenizer_config.json); empty means the
  // model directory, or the directory of the model file.
  std::string tokenizer_dir;
  // Storage type of the matmul weights (weight_conversion.h), converted after loading whatever
  // the checkpoint stores; nullopt keeps them as stored.
  std::optional<DType> weight_dtype;
};

struct ModelBundle {
  Model model;
  Tokenizer tokenizer;
  std::optional<ChatTemplate> chat_template;  // nullopt without a tokenizer_config.json template.
  std::vector<TokenId> eos_token_ids;
  std::string tokenizer_dir;

  // Ids a generation may produce: [0, tokenizer vocabulary). A checkpoint's embedding may have
  // more rows (padding, as many exports round the vocabulary up); those ids have no text, so
  // samplers see only the first sampling_vocab_size() logits of a row.
  int64_t sampling_vocab_size() const { return tokenizer.vocab_size(); }
};

// Loads and cross-checks the parts: InvalidArgument when the tokenizer's vocabulary is larger
// than the model's (ids the embedding cannot look up); loader/tokenizer errors pass through with
// the path prepended.
absl::StatusOr<ModelBundle> LoadModelBundle(const ModelBundleOptions& options);

}  // namespace minimind

#endif  // MINIMIND_ENGINE_MODEL_MODEL_BUNDLE_H_
