// RegexSplitter: one pre-tokenizer split step, a PCRE2 regex (UTF + Unicode properties, JIT
// compiled) that cuts text into its matches and the gaps between them, in order ("Isolated").
// Immutable after creation; `Split` is const and safe to call from many threads at once.
#ifndef MINIMIND_ENGINE_TOKENIZER_REGEX_SPLITTER_H_
#define MINIMIND_ENGINE_TOKENIZER_REGEX_SPLITTER_H_

#include <memory>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"
#include "engine/tokenizer/tokenizer_spec.h"

// PCRE2's compiled-pattern type (8-bit code units), kept out of this header.
struct pcre2_real_code_8;

namespace minimind {

class RegexSplitter {
 public:
  // Compiles the pattern. InvalidArgument names the pattern position of a syntax error.
  static absl::StatusOr<RegexSplitter> Create(const SplitPattern& pattern);

  // Appends the non-empty pieces of `text` to `pieces`: every match and every gap between
  // matches, in order; together they cover `text` exactly. Precondition: `text` is valid UTF-8
  // (the caller validates once; PCRE2 is told not to re-check).
  void Split(absl::string_view text, std::vector<absl::string_view>& pieces) const;

 private:
  struct CodeDeleter {
    void operator()(pcre2_real_code_8* code) const;
  };
  explicit RegexSplitter(pcre2_real_code_8* code) : code_(code) {}

  std::unique_ptr<pcre2_real_code_8, CodeDeleter> code_;
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_TOKENIZER_REGEX_SPLITTER_H_
