#include "engine/tokenizer/byte_tokenizer_files.h"

#include <fstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/tokenizer/byte_level.h"
#include "engine/tokenizer/known_chat_templates.h"
#include "nlohmann/json.hpp"

namespace minimind {
namespace {

using Json = nlohmann::ordered_json;

constexpr const char* kSpecialTokens[] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};

absl::Status WriteJson(const std::string& path, const Json& json) {
  std::ofstream stream(path, std::ios::binary | std::ios::trunc);
  stream << json.dump(2) << "\n";
  stream.close();
  if (!stream) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<int64_t> WriteByteTokenizerFiles(const std::string& dir) {
  Json vocab = Json::object();
  Json added_tokens = Json::array();
  int64_t next_id = 0;
  for (const char* special : kSpecialTokens) {
    added_tokens.push_back({{"id", next_id},
                            {"content", special},
                            {"single_word", false},
                            {"lstrip", false},
                            {"rstrip", false},
                            {"normalized", false},
                            {"special", true}});
    vocab[special] = next_id++;
  }
  const ByteLevelAlphabet alphabet;
  for (int byte = 0; byte < 256; ++byte) {
    vocab[std::string(alphabet.SymbolOf(static_cast<uint8_t>(byte)))] = next_id++;
  }
  const Json tokenizer = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added_tokens},
      {"normalizer", nullptr},
      {"pre_tokenizer",
       {{"type", "ByteLevel"},
        {"add_prefix_space", false},
        {"trim_offsets", true},
        {"use_regex", true}}},
      {"post_processor", nullptr},
      {"decoder",
       {{"type", "ByteLevel"},
        {"add_prefix_space", true},
        {"trim_offsets", true},
        {"use_regex", true}}},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"unk_token", nullptr},
        {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr},
        {"fuse_unk", false},
        {"byte_fallback", false},
        {"ignore_merges", false},
        {"vocab", vocab},
        {"merges", Json::array()}}},
  };
  const Json config = {
      {"tokenizer_class", "PreTrainedTokenizerFast"},
      {"add_bos_token", false},
      {"add_eos_token", false},
      {"bos_token", "<|im_start|>"},
      {"eos_token", "<|im_end|>"},
      {"pad_token", "<|endoftext|>"},
      {"unk_token", "<|endoftext|>"},
      {"clean_up_tokenization_spaces", false},
      {"chat_template", std::string(kChatMlTemplate)},
  };
  if (absl::Status status = WriteJson(absl::StrCat(dir, "/tokenizer.json"), tokenizer);
      !status.ok()) {
    return status;
  }
  if (absl::Status status = WriteJson(absl::StrCat(dir, "/tokenizer_config.json"), config);
      !status.ok()) {
    return status;
  }
  return next_id;
}

}  // namespace minimind
