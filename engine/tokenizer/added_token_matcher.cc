#include "engine/tokenizer/added_token_matcher.h"

#include <algorithm>
#include <cstdint>

namespace minimind {
namespace {

bool IsAsciiWhitespace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

}  // namespace

AddedTokenMatcher::AddedTokenMatcher(std::vector<AddedTokenSpec> tokens)
    : tokens_(std::move(tokens)) {
  std::stable_sort(tokens_.begin(), tokens_.end(), [](const auto& a, const auto& b) {
    return a.content.size() > b.content.size();
  });
  for (const auto& token : tokens_) {
    is_first_byte_[static_cast<uint8_t>(token.content[0])] = true;
  }
}

void AddedTokenMatcher::Split(absl::string_view text, bool parse_special,
                              std::vector<Segment>& segments) const {
  size_t plain_start = 0;
  size_t offset = 0;
  while (offset < text.size()) {
    if (!is_first_byte_[static_cast<uint8_t>(text[offset])]) {
      ++offset;
      continue;
    }
    const AddedTokenSpec* match = nullptr;
    for (const auto& token : tokens_) {  // Longest first, so the first hit is the longest.
      if (token.special && !parse_special) continue;
      if (text.compare(offset, token.content.size(), token.content) == 0) {
        match = &token;
        break;
      }
    }
    if (match == nullptr) {
      ++offset;
      continue;
    }
    size_t match_start = offset;
    size_t match_end = offset + match->content.size();
    if (match->lstrip) {
      while (match_start > plain_start && IsAsciiWhitespace(text[match_start - 1])) --match_start;
    }
    if (match->rstrip) {
      while (match_end < text.size() && IsAsciiWhitespace(text[match_end])) ++match_end;
    }
    if (match_start > plain_start) {
      segments.push_back({text.substr(plain_start, match_start - plain_start), -1});
    }
    segments.push_back({text.substr(match_start, match_end - match_start), match->id});
    plain_start = offset = match_end;
  }
  if (plain_start < text.size()) segments.push_back({text.substr(plain_start), -1});
}

}  // namespace minimind
