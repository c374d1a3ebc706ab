#include "engine/constrain/ebnf_compiler.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "engine/constrain/regex_compiler.h"
#include "engine/tokenizer/utf8.h"

namespace minimind {
namespace {

using Fragment = GrammarBuilder::Fragment;

struct Node {
  enum class Kind { kLiteral, kClass, kAny, kRule, kSequence, kAlternatives, kRepeat };
  Kind kind;
  std::string text;   // kLiteral: its bytes; kClass: the class as regex text
  int32_t rule = -1;  // kRule: index into the parser's rules
  int64_t min = 0;    // kRepeat
  int64_t max = -1;   // kRepeat (-1: unbounded)
  std::vector<std::unique_ptr<Node>> children;
};

std::unique_ptr<Node> MakeNode(Node::Kind kind) {
  auto node = std::make_unique<Node>();
  node->kind = kind;
  return node;
}

bool IsNameByte(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}

void AppendCodePoint(uint32_t code_point, std::string& out) {
  if (code_point < 0x80) {
    out += static_cast<char>(code_point);
  } else if (code_point < 0x800) {
    out += static_cast<char>(0xC0 | (code_point >> 6));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else if (code_point < 0x10000) {
    out += static_cast<char>(0xE0 | (code_point >> 12));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code_point >> 18));
    out += static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  }
}

struct Rule {
  std::string name;
  std::unique_ptr<Node> body;  // null until defined
  size_t first_use = 0;        // byte offset of its first reference (for errors)
};

class Parser {
 public:
  Parser(absl::string_view text, const EbnfLimits& limits) : text_(text), limits_(limits) {}

  // Every rule, defined.
  absl::StatusOr<std::vector<Rule>> Parse() && {
    SkipSpace();
    if (pos_ == text_.size()) return absl::InvalidArgumentError("grammar is empty");
    while (pos_ < text_.size()) {
      const size_t at = pos_;
      std::string name = TakeName();
      if (name.empty()) return Error("a rule name");
      SkipSpace();
      if (text_.substr(pos_, 3) != "::=") return Error("\"::=\" after the rule name");
      pos_ += 3;
      const int32_t rule = RuleIndex(name, at);
      if (rule < 0) return TooManyRules();
      if (rules_[rule].body != nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("grammar: rule \"", name, "\" is defined twice (again at byte ", at, ")"));
      }
      absl::StatusOr<std::unique_ptr<Node>> body = ParseAlternatives(0);
      if (!body.ok()) return body.status();
      rules_[rule].body = *std::move(body);
    }
    for (const Rule& rule : rules_) {
      if (rule.body == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat("grammar: rule \"", rule.name,
                                                       "\" is used (byte ", rule.first_use,
                                                       ") but never defined"));
      }
    }
    return std::move(rules_);
  }

 private:
  absl::Status Error(absl::string_view expected) const {
    return absl::InvalidArgumentError(
        absl::StrCat("grammar: expected ", expected, " at byte ", pos_,
                     pos_ < text_.size() ? absl::StrCat(" ('", text_.substr(pos_, 1), "')") : ""));
  }
  absl::Status TooManyRules() const {
    return absl::InvalidArgumentError(
        absl::StrCat("grammar has more than ", limits_.max_rules, " rules"));
  }

  // Spaces, newlines and comments (`#` to the end of the line).
  void SkipSpace() {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        ++pos_;
      } else if (c == '#') {
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
      } else {
        break;
      }
    }
  }

  std::string TakeName() {
    const size_t start = pos_;
    while (pos_ < text_.size() && IsNameByte(text_[pos_])) ++pos_;
    return std::string(text_.substr(start, pos_ - start));
  }

  // At `name ::=`: the next rule begins.
  bool AtRuleStart() {
    const size_t saved = pos_;
    const bool named = !TakeName().empty();
    SkipSpace();
    const bool starts = named && text_.substr(pos_, 3) == "::=";
    pos_ = saved;
    return starts;
  }

  // The rule's index, made on first mention; -1 past max_rules.
  int32_t RuleIndex(const std::string& name, size_t at) {
    auto [it, inserted] = index_.try_emplace(name, static_cast<int32_t>(rules_.size()));
    if (inserted) {
      if (static_cast<int>(rules_.size()) >= limits_.max_rules) return -1;
      rules_.push_back(Rule{name, nullptr, at});
    }
    return it->second;
  }

  absl::StatusOr<std::unique_ptr<Node>> ParseAlternatives(int depth) {
    auto alternatives = MakeNode(Node::Kind::kAlternatives);
    while (true) {
      absl::StatusOr<std::unique_ptr<Node>> sequence = ParseSequence(depth);
      if (!sequence.ok()) return sequence.status();
      alternatives->children.push_back(*std::move(sequence));
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != '|') break;
      ++pos_;
    }
    if (alternatives->children.size() == 1) return std::move(alternatives->children[0]);
    return alternatives;
  }

  absl::StatusOr<std::unique_ptr<Node>> ParseSequence(int depth) {
    auto sequence = MakeNode(Node::Kind::kSequence);
    while (true) {
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] == '|' || text_[pos_] == ')') break;
      if (depth == 0 && AtRuleStart()) break;
      absl::StatusOr<std::unique_ptr<Node>> item = ParseItem(depth);
      if (!item.ok()) return item.status();
      absl::StatusOr<std::unique_ptr<Node>> quantified = ParseQuantifier(*std::move(item));
      if (!quantified.ok()) return quantified.status();
      sequence->children.push_back(*std::move(quantified));
    }
    if (sequence->children.size() == 1) return std::move(sequence->children[0]);
    return sequence;
  }

  absl::StatusOr<std::unique_ptr<Node>> ParseItem(int depth) {
    const char c = text_[pos_];
    if (c == '"') return ParseLiteral();
    if (c == '[') return ParseClass();
    if (c == '.') {
      ++pos_;
      return MakeNode(Node::Kind::kAny);
    }
    if (c == '(') {
      if (depth + 1 > limits_.max_nesting) {
        return absl::InvalidArgumentError(absl::StrCat("grammar nests groups deeper than ",
                                                       limits_.max_nesting, " at byte ", pos_));
      }
      ++pos_;
      absl::StatusOr<std::unique_ptr<Node>> group = ParseAlternatives(depth + 1);
      if (!group.ok()) return group.status();
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != ')') return Error("')'");
      ++pos_;
      return group;
    }
    if (IsNameByte(c)) {
      const size_t at = pos_;
      const std::string name = TakeName();
      auto node = MakeNode(Node::Kind::kRule);
      node->rule = RuleIndex(name, at);
      if (node->rule < 0) return TooManyRules();
      return node;
    }
    return Error("a literal, a class, '.', '(' or a rule name");
  }

  absl::StatusOr<std::unique_ptr<Node>> ParseLiteral() {
    const size_t start = pos_++;
    auto node = MakeNode(Node::Kind::kLiteral);
    while (true) {
      if (pos_ >= text_.size()) {
        pos_ = start;
        return Error("a closing '\"' for this literal");
      }
      const char c = text_[pos_++];
      if (c == '"') break;
      if (c != '\\') {
        node->text += c;
        continue;
      }
      if (pos_ >= text_.size()) return Error("an escaped character");
      const char escaped = text_[pos_++];
      int hex_digits = 0;
      switch (escaped) {
        case 'n':
          node->text += '\n';
          break;
        case 'r':
          node->text += '\r';
          break;
        case 't':
          node->text += '\t';
          break;
        case '\\':
        case '"':
        case '\'':
        case '[':
        case ']':
          node->text += escaped;
          break;
        case 'x':
          hex_digits = 2;
          break;
        case 'u':
          hex_digits = 4;
          break;
        case 'U':
          hex_digits = 8;
          break;
        default:
          --pos_;
          return Error("an escape of n r t \\ \" ' [ ] x u U");
      }
      if (hex_digits == 0) continue;
      uint32_t code_point = 0;
      for (int i = 0; i < hex_digits; ++i) {
        if (pos_ >= text_.size() ||
            !absl::ascii_isxdigit(static_cast<unsigned char>(text_[pos_]))) {
          return Error(absl::StrCat(hex_digits, " hexadecimal digits"));
        }
        const char digit = absl::ascii_tolower(static_cast<unsigned char>(text_[pos_++]));
        code_point = code_point * 16 + (digit <= '9' ? digit - '0' : digit - 'a' + 10);
      }
      if (code_point > 0x10FFFF || (code_point >= 0xD800 && code_point <= 0xDFFF)) {
        return absl::InvalidArgumentError(
            absl::StrCat("grammar: escape before byte ", pos_, " is not a Unicode scalar value"));
      }
      AppendCodePoint(code_point, node->text);
    }
    if (!IsValidUtf8(node->text)) {
      return absl::InvalidArgumentError(
          absl::StrCat("grammar: the literal at byte ", start, " is not valid UTF-8"));
    }
    return node;
  }

  absl::StatusOr<std::unique_ptr<Node>> ParseClass() {
    const size_t start = pos_;
    size_t end = pos_ + 1;
    if (end < text_.size() && text_[end] == '^') ++end;
    while (end < text_.size() && text_[end] != ']') end += text_[end] == '\\' ? 2 : 1;
    if (end >= text_.size()) return Error("a closing ']' for this class");
    auto node = MakeNode(Node::Kind::kClass);
    node->text = std::string(text_.substr(start, end + 1 - start));
    // Checked here, so that building (which may make it many times) cannot fail.
    GrammarBuilder scratch(limits_.max_grammar_states);
    if (absl::StatusOr<Fragment> checked = CompileRegex(node->text, scratch); !checked.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("grammar: the class at byte ", start, " (",
                                                     node->text,
                                                     "): ", checked.status().message()));
    }
    pos_ = end + 1;
    return node;
  }

  absl::StatusOr<std::optional<int64_t>> ParseCount() {
    const size_t start = pos_;
    int64_t value = 0;
    while (pos_ < text_.size() && absl::ascii_isdigit(static_cast<unsigned char>(text_[pos_]))) {
      value = value * 10 + (text_[pos_++] - '0');
      if (value > limits_.max_repeat) {
        return absl::InvalidArgumentError(absl::StrCat("grammar: a repeat count at byte ", start,
                                                       " exceeds ", limits_.max_repeat));
      }
    }
    if (pos_ == start) return std::optional<int64_t>();
    return std::optional<int64_t>(value);
  }

  absl::StatusOr<std::unique_ptr<Node>> ParseQuantifier(std::unique_ptr<Node> item) {
    if (pos_ >= text_.size()) return item;
    int64_t min = 0;
    int64_t max = -1;
    const char c = text_[pos_];
    if (c == '*') {
      ++pos_;
    } else if (c == '+') {
      min = 1;
      ++pos_;
    } else if (c == '?') {
      max = 1;
      ++pos_;
    } else if (c == '{') {
      ++pos_;
      SkipSpace();
      absl::StatusOr<std::optional<int64_t>> low = ParseCount();
      if (!low.ok()) return low.status();
      if (!low->has_value()) return Error("a repeat count");
      min = max = **low;
      SkipSpace();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        SkipSpace();
        absl::StatusOr<std::optional<int64_t>> high = ParseCount();
        if (!high.ok()) return high.status();
        max = high->value_or(-1);
        SkipSpace();
      }
      if (pos_ >= text_.size() || text_[pos_] != '}') return Error("'}'");
      ++pos_;
      if (max >= 0 && max < min) {
        return absl::InvalidArgumentError(absl::StrCat("grammar: the repeat before byte ", pos_,
                                                       " has its maximum below its minimum"));
      }
    } else {
      return item;
    }
    if (pos_ < text_.size() &&
        (text_[pos_] == '*' || text_[pos_] == '+' || text_[pos_] == '?' || text_[pos_] == '{')) {
      return Error("one quantifier per item (group the item to quantify it again)");
    }
    auto repeat = MakeNode(Node::Kind::kRepeat);
    repeat->min = min;
    repeat->max = max;
    repeat->children.push_back(std::move(item));
    return repeat;
  }

  absl::string_view text_;
  const EbnfLimits& limits_;
  size_t pos_ = 0;
  std::vector<Rule> rules_;
  absl::flat_hash_map<std::string, int32_t> index_;
};

// Left recursion: a rule that can call itself before any byte is written would nest without end.
class LeftRecursion {
 public:
  explicit LeftRecursion(const std::vector<Rule>& rules) : rules_(rules), nullable_(rules.size()) {
    // Which rules can match the empty string: to a fixed point.
    for (bool changed = true; changed;) {
      changed = false;
      for (size_t rule = 0; rule < rules_.size(); ++rule) {
        if (!nullable_[rule] && Nullable(*rules_[rule].body)) changed = nullable_[rule] = true;
      }
    }
  }

  // The first rule found in a cycle of calls made before any byte, if any.
  std::optional<std::string> Find() const {
    std::vector<std::vector<int32_t>> first_calls(rules_.size());
    for (size_t rule = 0; rule < rules_.size(); ++rule) {
      FirstCalls(*rules_[rule].body, first_calls[rule]);
    }
    // Depth-first search for a back edge: 0 unvisited, 1 on the path, 2 done.
    std::vector<int> mark(rules_.size(), 0);
    std::function<std::optional<int32_t>(int32_t)> visit =
        [&](int32_t rule) -> std::optional<int32_t> {
      mark[rule] = 1;
      for (const int32_t next : first_calls[rule]) {
        if (mark[next] == 1) return next;
        if (mark[next] == 0) {
          if (std::optional<int32_t> found = visit(next)) return found;
        }
      }
      mark[rule] = 2;
      return std::nullopt;
    };
    for (size_t rule = 0; rule < rules_.size(); ++rule) {
      if (mark[rule] != 0) continue;
      if (std::optional<int32_t> found = visit(static_cast<int32_t>(rule))) {
        return rules_[*found].name;
      }
    }
    return std::nullopt;
  }

 private:
  bool Nullable(const Node& node) const {
    switch (node.kind) {
      case Node::Kind::kLiteral:
        return node.text.empty();
      case Node::Kind::kClass:
      case Node::Kind::kAny:
        return false;
      case Node::Kind::kRule:
        return nullable_[node.rule];
      case Node::Kind::kSequence:
        for (const auto& child : node.children) {
          if (!Nullable(*child)) return false;
        }
        return true;
      case Node::Kind::kAlternatives:
        for (const auto& child : node.children) {
          if (Nullable(*child)) return true;
        }
        return false;
      case Node::Kind::kRepeat:
        return node.min == 0 || Nullable(*node.children[0]);
    }
    return false;
  }

  // The rules `node` may call before writing a byte.
  void FirstCalls(const Node& node, std::vector<int32_t>& out) const {
    switch (node.kind) {
      case Node::Kind::kRule:
        out.push_back(node.rule);
        return;
      case Node::Kind::kSequence:
        for (const auto& child : node.children) {
          FirstCalls(*child, out);
          if (!Nullable(*child)) return;
        }
        return;
      case Node::Kind::kAlternatives:
        for (const auto& child : node.children) FirstCalls(*child, out);
        return;
      case Node::Kind::kRepeat:
        if (node.max != 0) FirstCalls(*node.children[0], out);
        return;
      default:
        return;
    }
  }

  const std::vector<Rule>& rules_;
  std::vector<bool> nullable_;
};

class Emitter {
 public:
  Emitter(GrammarBuilder& builder, std::vector<int32_t> rule_ids)
      : builder_(builder), rule_ids_(std::move(rule_ids)) {}

  Fragment Emit(const Node& node) {
    switch (node.kind) {
      case Node::Kind::kLiteral:
        return node.text.empty() ? builder_.Empty() : builder_.Literal(node.text);
      case Node::Kind::kClass:
        return *CompileRegex(node.text, builder_);  // checked when parsed
      case Node::Kind::kAny:
        return builder_.CodePointsExcept({});
      case Node::Kind::kRule:
        return builder_.Call(rule_ids_[node.rule]);
      case Node::Kind::kSequence: {
        std::vector<Fragment> parts;
        for (const auto& child : node.children) parts.push_back(Emit(*child));
        return parts.empty() ? builder_.Empty() : builder_.Concat(parts);
      }
      case Node::Kind::kAlternatives: {
        std::vector<Fragment> options;
        for (const auto& child : node.children) options.push_back(Emit(*child));
        return builder_.Alternatives(options);
      }
      case Node::Kind::kRepeat: {
        const Node& item = *node.children[0];
        if (node.min == 0 && node.max == 1) return builder_.Optional(Emit(item));
        if (node.min == 0 && node.max < 0) return builder_.Star(Emit(item));
        if (node.min == 1 && node.max < 0) return builder_.Plus(Emit(item));
        return builder_.Repeat([&] { return Emit(item); }, node.min, node.max);
      }
    }
    return builder_.Empty();
  }

 private:
  GrammarBuilder& builder_;
  const std::vector<int32_t> rule_ids_;
};

}  // namespace

absl::StatusOr<Grammar> CompileEbnf(absl::string_view text, const EbnfLimits& limits) {
  absl::StatusOr<std::vector<Rule>> rules = Parser(text, limits).Parse();
  if (!rules.ok()) return rules.status();
  int32_t root = -1;
  for (size_t rule = 0; rule < rules->size(); ++rule) {
    if ((*rules)[rule].name == "root") root = static_cast<int32_t>(rule);
  }
  if (root < 0) {
    return absl::InvalidArgumentError("grammar has no rule \"root\" (where the output starts)");
  }
  if (std::optional<std::string> rule = LeftRecursion(*rules).Find()) {
    return absl::InvalidArgumentError(
        absl::StrCat("grammar: rule \"", *rule,
                     "\" can reach itself before writing anything (left recursion); write it "
                     "with repetition, e.g. sum ::= term (\"+\" term)*"));
  }
  GrammarBuilder builder(limits.max_grammar_states);
  std::vector<int32_t> rule_ids;
  for (size_t rule = 0; rule < rules->size(); ++rule) rule_ids.push_back(builder.NewRule());
  Emitter emitter(builder, rule_ids);
  for (size_t rule = 0; rule < rules->size(); ++rule) {
    builder.DefineRule(rule_ids[rule], emitter.Emit(*(*rules)[rule].body));
  }
  return std::move(builder).Build(rule_ids[root]);
}

}  // namespace minimind
