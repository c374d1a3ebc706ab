#include "engine/model/model_bundle.h"

#include <algorithm>
#include <filesystem>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/model/weight_conversion.h"

namespace minimind {
namespace {

std::string DefaultTokenizerDir(const std::string& model_path) {
  const std::filesystem::path path(model_path);
  if (std::filesystem::is_directory(path)) return path.string();
  const std::filesystem::path parent = path.parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

std::vector<TokenId> FindEosTokenIds(const Tokenizer& tokenizer,
                                     const std::optional<ChatTemplate>& chat_template) {
  std::vector<std::string> names;
  if (chat_template.has_value() && chat_template->eos_token().has_value()) {
    names.push_back(*chat_template->eos_token());
  }
  names.push_back("<|endoftext|>");
  names.push_back("<|im_end|>");
  std::vector<TokenId> ids;
  for (size_t i = 0; i < names.size(); ++i) {
    const std::optional<TokenId> id = tokenizer.FindToken(names[i]);
    if (!id.has_value()) continue;
    // The configured eos_token counts even when not special; the conventional names only as
    // special tokens, so a plain-text "<|endoftext|>" piece in some vocabulary never stops output.
    if (i > 0 && !tokenizer.IsSpecial(*id)) continue;
    if (std::find(ids.begin(), ids.end(), *id) == ids.end()) ids.push_back(*id);
  }
  return ids;
}

}  // namespace

absl::StatusOr<ModelBundle> LoadModelBundle(const ModelBundleOptions& options) {
  if (options.model_path.empty()) return absl::InvalidArgumentError("no model path given");
  absl::StatusOr<Model> model =
      LoadModel(options.model_path, LoadOptions{.config_path = options.config_path});
  if (!model.ok()) return model.status();
  if (options.weight_dtype.has_value()) {
    if (absl::Status status = ConvertMatMulWeights(*options.weight_dtype, *model); !status.ok()) {
      return absl::Status(
          status.code(), absl::StrCat("checkpoint '", options.model_path, "': ", status.message()));
    }
  }

  const std::string tokenizer_dir = options.tokenizer_dir.empty()
                                        ? DefaultTokenizerDir(options.model_path)
                                        : options.tokenizer_dir;
  absl::StatusOr<Tokenizer> tokenizer = Tokenizer::FromFile(tokenizer_dir);
  if (!tokenizer.ok()) return tokenizer.status();
  if (tokenizer->vocab_size() > model->config.vocab_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("the tokenizer in ", tokenizer_dir, " has ", tokenizer->vocab_size(),
                     " tokens but the model's vocab_size is ", model->config.vocab_size,
                     ": they do not belong together"));
  }

  std::optional<ChatTemplate> chat_template;
  absl::StatusOr<ChatTemplate> loaded_template = ChatTemplate::FromModelDir(tokenizer_dir);
  if (loaded_template.ok()) {
    chat_template = *std::move(loaded_template);
  } else if (!absl::IsNotFound(loaded_template.status())) {
    return loaded_template.status();
  }

  std::vector<TokenId> eos_token_ids = FindEosTokenIds(*tokenizer, chat_template);
  return ModelBundle{.model = *std::move(model),
                     .tokenizer = *std::move(tokenizer),
                     .chat_template = std::move(chat_template),
                     .eos_token_ids = std::move(eos_token_ids),
                     .tokenizer_dir = tokenizer_dir};
}

}  // namespace minimind
