#include "engine/tokenizer/tokenizer_spec.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace minimind {
namespace {

using Json = nlohmann::json;

// Ids above this are rejected: no real vocabulary is this large, and it bounds the id tables.
constexpr int64_t kMaxTokenId = (int64_t{1} << 24) - 1;

absl::Status Invalid(absl::string_view path, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("tokenizer.json: ", path, ": ", problem));
}

absl::Status Unsupported(absl::string_view path, absl::string_view what) {
  return absl::UnimplementedError(absl::StrCat("tokenizer.json: ", path, ": unsupported ", what));
}

// Reads an optional boolean member, defaulting to `fallback` when absent or null.
absl::StatusOr<bool> OptionalBool(const Json& object, const char* key, bool fallback,
                                  absl::string_view path) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) return Invalid(absl::StrCat(path, ".", key), "expected a boolean");
  return it->get<bool>();
}

absl::StatusOr<TokenId> ParseTokenId(const Json& value, absl::string_view path) {
  if (!value.is_number_integer()) return Invalid(path, "expected an integer token id");
  const int64_t id = value.get<int64_t>();
  if (id < 0 || id > kMaxTokenId) {
    return Invalid(path, absl::StrCat("token id ", id, " is outside [0, ", kMaxTokenId, "]"));
  }
  return static_cast<TokenId>(id);
}

absl::Status ParseModel(const Json& model, TokenizerSpec& spec) {
  if (!model.is_object()) return Invalid("model", "expected an object");
  if (const auto type = model.find("type"); type != model.end() && *type != "BPE") {
    return Unsupported("model.type", absl::StrCat("model type ", type->dump(),
                                                  " (only BPE is supported)"));
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix", "dropout"}) {
    const auto it = model.find(key);
    if (it != model.end() && !it->is_null() && *it != "") {
      return Unsupported(absl::StrCat("model.", key), absl::StrCat("value ", it->dump()));
    }
  }
  if (auto fallback = OptionalBool(model, "byte_fallback", false, "model"); !fallback.ok()) {
    return fallback.status();
  } else if (*fallback) {
    return Unsupported("model.byte_fallback", "byte fallback (the ByteLevel alphabet covers bytes)");
  }
  auto ignore_merges = OptionalBool(model, "ignore_merges", false, "model");
  if (!ignore_merges.ok()) return ignore_merges.status();
  spec.ignore_merges = *ignore_merges;
  if (const auto unk = model.find("unk_token"); unk != model.end() && !unk->is_null()) {
    if (!unk->is_string()) return Invalid("model.unk_token", "expected a string or null");
    spec.unk_token = unk->get<std::string>();
  }

  const auto vocab = model.find("vocab");
  if (vocab == model.end()) return Invalid("model", "missing \"vocab\"");
  if (!vocab->is_object()) return Invalid("model.vocab", "expected an object of token -> id");
  if (vocab->empty()) return Invalid("model.vocab", "is empty");
  spec.vocab.reserve(vocab->size());
  for (const auto& [token, id_value] : vocab->items()) {
    auto id = ParseTokenId(id_value, absl::StrCat("model.vocab[\"", token, "\"]"));
    if (!id.ok()) return id.status();
    spec.vocab.emplace_back(token, *id);
  }

  const auto merges = model.find("merges");
  if (merges == model.end()) return Invalid("model", "missing \"merges\"");
  if (!merges->is_array()) return Invalid("model.merges", "expected an array");
  spec.merges.reserve(merges->size());
  for (size_t i = 0; i < merges->size(); ++i) {
    const Json& merge = (*merges)[i];
    const std::string path = absl::StrCat("model.merges[", i, "]");
    if (merge.is_string()) {
      // Legacy form "left right": exactly one separating space.
      const auto& text = merge.get_ref<const std::string&>();
      const size_t space = text.find(' ');
      if (space == std::string::npos || space == 0 || space + 1 == text.size() ||
          text.find(' ', space + 1) != std::string::npos) {
        return Invalid(path, absl::StrCat("expected \"left right\", got ", merge.dump()));
      }
      spec.merges.emplace_back(text.substr(0, space), text.substr(space + 1));
    } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() &&
               merge[1].is_string()) {
      spec.merges.emplace_back(merge[0].get<std::string>(), merge[1].get<std::string>());
    } else {
      return Invalid(path, absl::StrCat("expected \"left right\" or [\"left\", \"right\"], got ",
                                        merge.dump().substr(0, 80)));
    }
  }
  return absl::OkStatus();
}

absl::Status ParseAddedTokens(const Json& root, TokenizerSpec& spec) {
  const auto added = root.find("added_tokens");
  if (added == root.end() || added->is_null()) return absl::OkStatus();
  if (!added->is_array()) return Invalid("added_tokens", "expected an array");
  for (size_t i = 0; i < added->size(); ++i) {
    const Json& token = (*added)[i];
    const std::string path = absl::StrCat("added_tokens[", i, "]");
    if (!token.is_object()) return Invalid(path, "expected an object");
    AddedTokenSpec parsed;
    const auto id = token.find("id");
    if (id == token.end()) return Invalid(path, "missing \"id\"");
    auto parsed_id = ParseTokenId(*id, absl::StrCat(path, ".id"));
    if (!parsed_id.ok()) return parsed_id.status();
    parsed.id = *parsed_id;
    const auto content = token.find("content");
    if (content == token.end() || !content->is_string() || content->get_ref<const std::string&>().empty()) {
      return Invalid(path, "\"content\" must be a non-empty string");
    }
    parsed.content = content->get<std::string>();
    for (auto [key, field] : {std::pair{"special", &parsed.special},
                              std::pair{"lstrip", &parsed.lstrip},
                              std::pair{"rstrip", &parsed.rstrip}}) {
      auto value = OptionalBool(token, key, false, path);
      if (!value.ok()) return value.status();
      *field = *value;
    }
    auto single_word = OptionalBool(token, "single_word", false, path);
    if (!single_word.ok()) return single_word.status();
    if (*single_word) return Unsupported(absl::StrCat(path, ".single_word"), "single_word=true");
    spec.added_tokens.push_back(std::move(parsed));
  }
  return absl::OkStatus();
}

// Accepts ByteLevel, or a Sequence of Split(Isolated) steps ending in ByteLevel.
absl::Status ParsePreTokenizer(const Json& pre_tokenizer, absl::string_view path,
                               TokenizerSpec& spec, bool& saw_byte_level) {
  if (!pre_tokenizer.is_object()) return Invalid(path, "expected an object");
  const std::string type = pre_tokenizer.value("type", "");
  if (type == "Sequence") {
    const auto steps = pre_tokenizer.find("pretokenizers");
    if (steps == pre_tokenizer.end() || !steps->is_array()) {
      return Invalid(path, "Sequence needs a \"pretokenizers\" array");
    }
    for (size_t i = 0; i < steps->size(); ++i) {
      if (saw_byte_level) {
        return Unsupported(path, "pre-tokenizer steps after ByteLevel");
      }
      absl::Status status = ParsePreTokenizer(
          (*steps)[i], absl::StrCat(path, ".pretokenizers[", i, "]"), spec, saw_byte_level);
      if (!status.ok()) return status;
    }
    return absl::OkStatus();
  }
  if (type == "Split") {
    if (pre_tokenizer.value("behavior", "") != "Isolated") {
      return Unsupported(absl::StrCat(path, ".behavior"), "Split behaviour (only \"Isolated\" is supported)");
    }
    if (pre_tokenizer.value("invert", false)) return Unsupported(absl::StrCat(path, ".invert"), "invert=true");
    const auto pattern = pre_tokenizer.find("pattern");
    if (pattern == pre_tokenizer.end() || !pattern->is_object()) {
      return Invalid(path, "Split needs a \"pattern\" object");
    }
    if (const auto regex = pattern->find("Regex"); regex != pattern->end() && regex->is_string()) {
      spec.split_patterns.push_back({regex->get<std::string>(), /*literal=*/false});
    } else if (const auto literal = pattern->find("String");
               literal != pattern->end() && literal->is_string()) {
      spec.split_patterns.push_back({literal->get<std::string>(), /*literal=*/true});
    } else {
      return Invalid(absl::StrCat(path, ".pattern"), "expected {\"Regex\": ...} or {\"String\": ...}");
    }
    return absl::OkStatus();
  }
  if (type == "ByteLevel") {
    auto add_prefix_space = OptionalBool(pre_tokenizer, "add_prefix_space", false, path);
    if (!add_prefix_space.ok()) return add_prefix_space.status();
    auto use_regex = OptionalBool(pre_tokenizer, "use_regex", true, path);
    if (!use_regex.ok()) return use_regex.status();
    spec.add_prefix_space = *add_prefix_space;
    if (*use_regex) spec.split_patterns.push_back({std::string(kGpt2SplitPattern), false});
    saw_byte_level = true;
    return absl::OkStatus();
  }
  return Unsupported(absl::StrCat(path, ".type"), absl::StrCat("pre-tokenizer \"", type, "\""));
}

absl::Status ParseTokenizer(const Json& root, TokenizerSpec& spec) {
  if (!root.is_object()) return Invalid("<root>", "expected a JSON object");
  if (const auto normalizer = root.find("normalizer");
      normalizer != root.end() && !normalizer->is_null()) {
    return Unsupported("normalizer", absl::StrCat("normalizer ", normalizer->value("type", "?")));
  }
  const auto model = root.find("model");
  if (model == root.end()) return Invalid("<root>", "missing \"model\"");
  if (absl::Status status = ParseModel(*model, spec); !status.ok()) return status;
  if (absl::Status status = ParseAddedTokens(root, spec); !status.ok()) return status;

  const auto pre_tokenizer = root.find("pre_tokenizer");
  if (pre_tokenizer == root.end() || pre_tokenizer->is_null()) {
    return Unsupported("pre_tokenizer", "tokenizer without a ByteLevel pre-tokenizer");
  }
  bool saw_byte_level = false;
  if (absl::Status status = ParsePreTokenizer(*pre_tokenizer, "pre_tokenizer", spec, saw_byte_level);
      !status.ok()) {
    return status;
  }
  if (!saw_byte_level) {
    return Unsupported("pre_tokenizer", "tokenizer without a ByteLevel pre-tokenizer");
  }
  const auto decoder = root.find("decoder");
  if (decoder == root.end() || decoder->is_null() || !decoder->is_object() ||
      decoder->value("type", "") != "ByteLevel") {
    return Unsupported("decoder", "decoder (only ByteLevel is supported)");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TokenizerSpec> ParseTokenizerJson(absl::string_view json_text) {
  Json root;
  try {
    root = Json::parse(json_text);
  } catch (const Json::parse_error& error) {
    return absl::InvalidArgumentError(
        absl::StrCat("tokenizer.json: not valid JSON at byte ", error.byte, ": ", error.what()));
  } catch (const Json::exception& error) {  // out_of_range 406: a number beyond double's range.
    return absl::InvalidArgumentError(absl::StrCat("tokenizer.json: ", error.what()));
  }
  TokenizerSpec spec;
  try {
    if (absl::Status status = ParseTokenizer(root, spec); !status.ok()) return status;
  } catch (const Json::exception& error) {
    // Type errors from `value()` on members of the wrong JSON type.
    return absl::InvalidArgumentError(absl::StrCat("tokenizer.json: ", error.what()));
  }
  return spec;
}

}  // namespace minimind
