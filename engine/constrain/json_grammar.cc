#include "engine/constrain/json_grammar.h"

#include <vector>

namespace minimind {

using Fragment = JsonGrammar::Fragment;

Fragment JsonGrammar::StringCharacter() {
  GrammarBuilder& b = builder_;
  const CodePointRange unescaped[] = {{0x20, 0x21}, {0x23, 0x5B}, {0x5D, 0x10FFFF}};
  // \uXXXX without surrogates: the first hex digit is not d/D, or it is and the second is 0-7.
  const Fragment hex_not_d = b.Alternatives(
      std::vector<Fragment>{b.ByteRange('0', '9'), b.ByteRange('a', 'c'), b.ByteRange('e', 'f'),
                            b.ByteRange('A', 'C'), b.ByteRange('E', 'F')});
  auto hex = [&b]() {
    return b.Alternatives(
        std::vector<Fragment>{b.ByteRange('0', '9'), b.ByteRange('a', 'f'), b.ByteRange('A', 'F')});
  };
  const Fragment first_d = b.Concat(
      b.Alternatives(std::vector<Fragment>{b.Literal("d"), b.Literal("D")}), b.ByteRange('0', '7'));
  const Fragment first_other = b.Concat(hex_not_d, hex());
  const Fragment unicode = b.Concat(std::vector<Fragment>{
      b.Literal("u"), b.Alternatives(std::vector<Fragment>{first_d, first_other}), hex(), hex()});
  std::vector<Fragment> escapes;
  for (const char c : {'"', '\\', '/', 'b', 'f', 'n', 'r', 't'}) {
    escapes.push_back(b.Literal(std::string(1, c)));
  }
  escapes.push_back(unicode);
  const Fragment escape = b.Concat(b.Literal("\\"), b.Alternatives(escapes));
  return b.Alternatives(std::vector<Fragment>{b.CodePoints(unescaped), escape});
}

Fragment JsonGrammar::String(int64_t min_length, int64_t max_length) {
  GrammarBuilder& b = builder_;
  return b.Concat(std::vector<Fragment>{
      b.Literal("\""), b.Repeat([this] { return StringCharacter(); }, min_length, max_length),
      b.Literal("\"")});
}

namespace {

// Between min and max decimal digits.
Fragment Digits(GrammarBuilder& b, int min, int max) {
  return b.Repeat([&b] { return b.ByteRange('0', '9'); }, min, max);
}

}  // namespace

Fragment JsonGrammar::Integer() {
  GrammarBuilder& b = builder_;
  const Fragment magnitude = b.Alternatives(
      std::vector<Fragment>{b.Literal("0"), b.Concat(b.ByteRange('1', '9'), Digits(b, 0, 15))});
  return b.Concat(b.Optional(b.Literal("-")), magnitude);
}

Fragment JsonGrammar::Number() {
  GrammarBuilder& b = builder_;
  const Fragment fraction = b.Optional(b.Concat(b.Literal("."), Digits(b, 1, 16)));
  const Fragment exponent = b.Optional(b.Concat(std::vector<Fragment>{
      b.Alternatives(std::vector<Fragment>{b.Literal("e"), b.Literal("E")}),
      b.Optional(b.Alternatives(std::vector<Fragment>{b.Literal("+"), b.Literal("-")})),
      Digits(b, 1, 2)}));
  return b.Concat(std::vector<Fragment>{Integer(), fraction, exponent});
}

Fragment JsonGrammar::Colon() {
  return builder_.Concat(builder_.Literal(":"), builder_.Optional(builder_.Literal(" ")));
}

Fragment JsonGrammar::Comma() {
  return builder_.Concat(builder_.Literal(","), builder_.Optional(builder_.Literal(" ")));
}

void JsonGrammar::MakeAnyRules() {
  if (any_value_rule_ >= 0) return;
  GrammarBuilder& b = builder_;
  any_value_rule_ = b.NewRule();
  any_object_rule_ = b.NewRule();
  const int32_t array_rule = b.NewRule();
  // object: '{' (string ':' value (',' string ':' value)*)? '}'
  auto member = [&]() {
    return b.Concat(std::vector<Fragment>{String(), Colon(), b.Call(any_value_rule_)});
  };
  const Fragment members = b.Concat(member(), b.Star(b.Concat(Comma(), member())));
  b.DefineRule(any_object_rule_, b.Concat(std::vector<Fragment>{b.Literal("{"), b.Optional(members),
                                                                b.Literal("}")}));
  const Fragment elements =
      b.Concat(b.Call(any_value_rule_), b.Star(b.Concat(Comma(), b.Call(any_value_rule_))));
  b.DefineRule(array_rule, b.Concat(std::vector<Fragment>{b.Literal("["), b.Optional(elements),
                                                          b.Literal("]")}));
  b.DefineRule(any_value_rule_,
               b.Alternatives(std::vector<Fragment>{b.Call(any_object_rule_), b.Call(array_rule),
                                                    String(), Number(), b.Literal("true"),
                                                    b.Literal("false"), b.Literal("null")}));
}

Fragment JsonGrammar::AnyValue() {
  MakeAnyRules();
  return builder_.Call(any_value_rule_);
}

Fragment JsonGrammar::AnyObject() {
  MakeAnyRules();
  return builder_.Call(any_object_rule_);
}

}  // namespace minimind
