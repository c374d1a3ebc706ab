// JSON in grammar fragments: the building blocks of the json_object and json_schema constraints.
//
// The JSON written is compact, with one optional space after ':' and ',' and none elsewhere, so a
// model's habit of `{"a": 1, "b": 2}` is allowed and endless whitespace is not. Numbers are
// bounded so every output can finish and parses as a finite double: an integer part of at most 16
// digits, a fraction of at most 16, an exponent of at most 2. Strings are valid UTF-8 with JSON's
// escapes (`\uXXXX` never a surrogate).
#ifndef MINIMIND_ENGINE_CONSTRAIN_JSON_GRAMMAR_H_
#define MINIMIND_ENGINE_CONSTRAIN_JSON_GRAMMAR_H_

#include <cstdint>

#include "engine/constrain/grammar.h"

namespace minimind {

class JsonGrammar {
 public:
  using Fragment = GrammarBuilder::Fragment;

  explicit JsonGrammar(GrammarBuilder& builder) : builder_(builder) {}

  // One character of a JSON string's contents (a plain character or an escape).
  Fragment StringCharacter();
  // A whole string: '"' characters{min,max} '"' (max < 0: unbounded).
  Fragment String(int64_t min_length = 0, int64_t max_length = -1);
  Fragment Integer();
  Fragment Number();
  // ":" or "," with the optional space after it.
  Fragment Colon();
  Fragment Comma();
  // A call of the rule "any JSON value" (made on first use).
  Fragment AnyValue();
  // A call of the rule "any JSON object" (made on first use).
  Fragment AnyObject();

  GrammarBuilder& builder() { return builder_; }

 private:
  void MakeAnyRules();

  GrammarBuilder& builder_;
  int32_t any_value_rule_ = -1;
  int32_t any_object_rule_ = -1;
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_CONSTRAIN_JSON_GRAMMAR_H_
