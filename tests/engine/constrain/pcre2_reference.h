// PCRE2 (UTF mode), anchored at both ends: the independent reference for what a regex constraint
// means, in the constraint tests.
#ifndef MINIMIND_TESTS_ENGINE_CONSTRAIN_PCRE2_REFERENCE_H_
#define MINIMIND_TESTS_ENGINE_CONSTRAIN_PCRE2_REFERENCE_H_

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <string>

#include "absl/strings/str_cat.h"

namespace minimind::testing {

class Pcre2FullMatcher {
 public:
  explicit Pcre2FullMatcher(const std::string& pattern) {
    int error = 0;
    PCRE2_SIZE offset = 0;
    const std::string anchored = absl::StrCat("^(?:", pattern, ")$");
    code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(anchored.data()), anchored.size(),
                          PCRE2_UTF | PCRE2_DOLLAR_ENDONLY, &error, &offset, nullptr);
    data_ = code_ == nullptr ? nullptr : pcre2_match_data_create_from_pattern(code_, nullptr);
  }
  ~Pcre2FullMatcher() {
    pcre2_match_data_free(data_);
    pcre2_code_free(code_);
  }
  Pcre2FullMatcher(const Pcre2FullMatcher&) = delete;
  Pcre2FullMatcher& operator=(const Pcre2FullMatcher&) = delete;

  bool ok() const { return code_ != nullptr; }
  // `text` must be valid UTF-8.
  bool FullMatch(const std::string& text) const {
    return code_ != nullptr && pcre2_match(code_, reinterpret_cast<PCRE2_SPTR>(text.data()),
                                           text.size(), 0, PCRE2_NO_UTF_CHECK, data_, nullptr) >= 0;
  }

 private:
  pcre2_code* code_ = nullptr;
  pcre2_match_data* data_ = nullptr;
};

}  // namespace minimind::testing

#endif  // MINIMIND_TESTS_ENGINE_CONSTRAIN_PCRE2_REFERENCE_H_
