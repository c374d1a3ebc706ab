#define PCRE2_CODE_UNIT_WIDTH 8

#include "engine/tokenizer/regex_splitter.h"

#include <pcre2.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace minimind {
namespace {

struct MatchDataDeleter {
  void operator()(pcre2_match_data* data) const { pcre2_match_data_free(data); }
};

// Length of the UTF-8 character starting with `lead` (input is known to be valid).
size_t Utf8CharLength(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  return 4;
}

}  // namespace

void RegexSplitter::CodeDeleter::operator()(pcre2_real_code_8* code) const {
  pcre2_code_free(code);
}

absl::StatusOr<RegexSplitter> RegexSplitter::Create(const SplitPattern& pattern) {
  // PCRE2 refuses UCP together with LITERAL; a literal has no character classes anyway.
  const uint32_t options = pattern.literal ? PCRE2_UTF | PCRE2_LITERAL : PCRE2_UTF | PCRE2_UCP;
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  pcre2_code* code =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.pattern.data()), pattern.pattern.size(),
                    options, &error_code, &error_offset, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error_code, message, sizeof(message));
    return absl::InvalidArgumentError(
        absl::StrCat("pre-tokenizer regex \"", pattern.pattern, "\" does not compile at offset ",
                     error_offset, ": ", reinterpret_cast<const char*>(message)));
  }
  // JIT is an optimisation only: when unavailable (e.g. a hardened kernel), matching still works.
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  return RegexSplitter(code);
}

void RegexSplitter::Split(absl::string_view text, std::vector<absl::string_view>& pieces) const {
  std::unique_ptr<pcre2_match_data, MatchDataDeleter> match_data(
      pcre2_match_data_create_from_pattern(code_.get(), nullptr));
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t gap_start = 0;
  size_t offset = 0;
  while (offset < text.size()) {
    const int result = pcre2_match(code_.get(), subject, text.size(), offset, PCRE2_NO_UTF_CHECK,
                                   match_data.get(), nullptr);
    if (result < 0) break;  // PCRE2_ERROR_NOMATCH, or a resource limit: the rest is one gap.
    const PCRE2_SIZE* bounds = pcre2_get_ovector_pointer(match_data.get());
    const size_t match_start = bounds[0];
    const size_t match_end = bounds[1];
    if (match_end == match_start) {
      if (match_start >= text.size()) break;
      // An empty match cuts nothing; step over one character so the scan always advances.
      offset = match_start + Utf8CharLength(static_cast<unsigned char>(text[match_start]));
      continue;
    }
    if (match_start > gap_start) pieces.push_back(text.substr(gap_start, match_start - gap_start));
    pieces.push_back(text.substr(match_start, match_end - match_start));
    gap_start = offset = match_end;
  }
  if (gap_start < text.size()) pieces.push_back(text.substr(gap_start));
}

}  // namespace minimind
