#include "engine/tokenizer/tokenizer.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/tokenizer/utf8.h"

namespace minimind {

absl::StatusOr<Tokenizer> Tokenizer::FromFile(const std::string& path) {
  std::filesystem::path file = path;
  std::error_code error;
  if (std::filesystem::is_directory(file, error)) file /= "tokenizer.json";
  std::ifstream stream(file, std::ios::binary);
  if (!stream) return absl::NotFoundError(absl::StrCat("cannot open ", file.string()));
  std::ostringstream contents;
  contents << stream.rdbuf();
  auto tokenizer = FromJson(contents.str());
  if (!tokenizer.ok()) {
    return absl::Status(tokenizer.status().code(),
                        absl::StrCat(file.string(), ": ", tokenizer.status().message()));
  }
  return tokenizer;
}

absl::StatusOr<Tokenizer> Tokenizer::FromJson(absl::string_view json_text) {
  auto spec = ParseTokenizerJson(json_text);
  if (!spec.ok()) return spec.status();
  return FromSpec(*std::move(spec));
}

absl::StatusOr<Tokenizer> Tokenizer::FromSpec(TokenizerSpec spec) {
  auto bpe = BpeModel::Create(spec);
  if (!bpe.ok()) return bpe.status();
  std::vector<RegexSplitter> splitters;
  for (const auto& pattern : spec.split_patterns) {
    auto splitter = RegexSplitter::Create(pattern);
    if (!splitter.ok()) return splitter.status();
    splitters.push_back(*std::move(splitter));
  }

  TokenId vocab_size = bpe->id_limit();
  for (const auto& added : spec.added_tokens) vocab_size = std::max(vocab_size, added.id + 1);

  std::vector<std::string> token_strings(vocab_size);
  std::vector<bool> has_token(vocab_size, false);
  std::vector<bool> is_added(vocab_size, false);
  std::vector<bool> is_special(vocab_size, false);
  for (const auto& [token, id] : bpe->vocabulary()) {
    token_strings[id] = token;
    has_token[id] = true;
  }
  absl::flat_hash_map<std::string, TokenId> added_token_ids;
  for (const auto& added : spec.added_tokens) {
    // An added token may restate a vocabulary entry (same id and text); it may not rename an id.
    if (has_token[added.id] && token_strings[added.id] != added.content) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tokenizer.json: added token \"", added.content, "\" reuses id ", added.id,
          " of vocabulary token \"", token_strings[added.id], "\""));
    }
    if (const auto [it, inserted] = added_token_ids.emplace(added.content, added.id);
        !inserted && it->second != added.id) {
      return absl::InvalidArgumentError(absl::StrCat("tokenizer.json: added token \"",
                                                     added.content, "\" has two ids, ",
                                                     it->second, " and ", added.id));
    }
    token_strings[added.id] = added.content;
    has_token[added.id] = true;
    is_added[added.id] = true;
    is_special[added.id] = added.special;
  }

  // What each vocabulary token decodes to, per Hugging Face's ByteLevel decoder: the byte behind
  // each character, or the token's own UTF-8 when some character is outside the alphabet.
  std::vector<std::string> token_bytes(vocab_size);
  for (TokenId id = 0; id < vocab_size; ++id) {
    if (!has_token[id] || is_added[id]) continue;
    auto bytes = bpe->alphabet().ToBytes(token_strings[id]);
    token_bytes[id] = bytes.has_value() ? *std::move(bytes) : token_strings[id];
  }

  const bool add_prefix_space = spec.add_prefix_space;
  Tokenizer tokenizer(*std::move(bpe), AddedTokenMatcher(std::move(spec.added_tokens)),
                      std::move(splitters), add_prefix_space);
  tokenizer.token_strings_ = std::move(token_strings);
  tokenizer.token_bytes_ = std::move(token_bytes);
  tokenizer.has_token_ = std::move(has_token);
  tokenizer.is_added_ = std::move(is_added);
  tokenizer.is_special_ = std::move(is_special);
  tokenizer.added_token_ids_ = std::move(added_token_ids);
  return tokenizer;
}

void Tokenizer::EncodePlain(absl::string_view text, BpeScratch& scratch,
                            std::vector<TokenId>& ids) const {
  std::string prefixed;
  if (add_prefix_space_ && !text.empty() && text.front() != ' ') {
    prefixed = absl::StrCat(" ", text);
    text = prefixed;
  }
  std::vector<absl::string_view> pieces{text};
  std::vector<absl::string_view> next_pieces;
  for (const auto& splitter : splitters_) {
    next_pieces.clear();
    for (const absl::string_view piece : pieces) splitter.Split(piece, next_pieces);
    pieces.swap(next_pieces);
  }
  for (const absl::string_view piece : pieces) bpe_.EncodePiece(piece, scratch, ids);
}

absl::StatusOr<std::vector<TokenId>> Tokenizer::Encode(absl::string_view text,
                                                       bool parse_special) const {
  if (const size_t bad = FirstInvalidUtf8Offset(text); bad != text.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("text is not valid UTF-8: ill-formed byte 0x",
                     absl::Hex(static_cast<uint8_t>(text[bad]), absl::kZeroPad2), " at offset ",
                     bad));
  }
  std::vector<AddedTokenMatcher::Segment> segments;
  added_tokens_.Split(text, parse_special, segments);
  std::vector<TokenId> ids;
  ids.reserve(text.size() / 2 + 1);
  BpeScratch scratch;
  for (const auto& segment : segments) {
    if (segment.token >= 0) {
      ids.push_back(segment.token);
    } else {
      EncodePlain(segment.text, scratch, ids);
    }
  }
  return ids;
}

absl::Status Tokenizer::CheckId(TokenId id) const {
  if (id < 0 || id >= vocab_size() || !has_token_[id]) {
    return absl::OutOfRangeError(absl::StrCat("token id ", id, " is not in the vocabulary (size ",
                                              vocab_size(), ")"));
  }
  return absl::OkStatus();
}

absl::Status Tokenizer::DecodeStep(TokenId id, bool skip_special, Utf8LossyDecoder& pending,
                                   std::string& out) const {
  if (absl::Status status = CheckId(id); !status.ok()) return status;
  if (skip_special && is_special_[id]) return absl::OkStatus();
  if (is_added_[id]) {
    absl::StrAppend(&out, pending.Finish(), token_strings_[id]);
  } else {
    pending.Append(token_bytes_[id]);
    absl::StrAppend(&out, pending.TakeComplete());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Tokenizer::Decode(absl::Span<const TokenId> ids,
                                              bool skip_special) const {
  std::string text;
  Utf8LossyDecoder pending;
  for (const TokenId id : ids) {
    if (absl::Status status = DecodeStep(id, skip_special, pending, text); !status.ok()) {
      return status;
    }
  }
  absl::StrAppend(&text, pending.Finish());
  return text;
}

absl::StatusOr<absl::string_view> Tokenizer::TokenString(TokenId id) const {
  if (absl::Status status = CheckId(id); !status.ok()) return status;
  return token_strings_[id];
}

std::optional<TokenId> Tokenizer::FindToken(absl::string_view token) const {
  if (const auto it = added_token_ids_.find(token); it != added_token_ids_.end()) {
    return it->second;
  }
  return bpe_.Find(token);
}

}  // namespace minimind
