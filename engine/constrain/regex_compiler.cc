#include "engine/constrain/regex_compiler.h"

#include <algorithm>
#include <cctype>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/tokenizer/utf8.h"

namespace minimind {
namespace {

using Fragment = GrammarBuilder::Fragment;

// The parsed pattern.
struct Node {
  enum class Kind { kEmpty, kSet, kConcat, kAlternatives, kRepeat };
  Kind kind = Kind::kEmpty;
  std::vector<CodePointRange> set;  // kSet: one character in these ranges
  std::vector<std::unique_ptr<Node>> children;
  int min = 0;
  int max = -1;  // kRepeat: -1 = unbounded
};

std::unique_ptr<Node> MakeSet(std::vector<CodePointRange> ranges) {
  auto node = std::make_unique<Node>();
  node->kind = Node::Kind::kSet;
  node->set = std::move(ranges);
  return node;
}

std::vector<CodePointRange> Complement(std::vector<CodePointRange> ranges) {
  std::sort(ranges.begin(), ranges.end(),
            [](const CodePointRange& a, const CodePointRange& b) { return a.lo < b.lo; });
  std::vector<CodePointRange> out;
  uint32_t next = 0;
  for (const CodePointRange& range : ranges) {
    if (range.lo > next) out.push_back({next, range.lo - 1});
    next = std::max(next, range.hi + 1);
  }
  if (next <= 0x10FFFF) out.push_back({next, 0x10FFFF});
  return out;
}

const std::vector<CodePointRange>& Digits() {
  static const auto* const kRanges = new std::vector<CodePointRange>{{'0', '9'}};
  return *kRanges;
}
const std::vector<CodePointRange>& WordCharacters() {
  static const auto* const kRanges =
      new std::vector<CodePointRange>{{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}};
  return *kRanges;
}
const std::vector<CodePointRange>& Spaces() {
  static const auto* const kRanges = new std::vector<CodePointRange>{{'\t', '\r'}, {' ', ' '}};
  return *kRanges;
}

class Parser {
 public:
  Parser(absl::string_view pattern, const RegexOptions& options)
      : pattern_(pattern), options_(options) {}

  absl::StatusOr<std::unique_ptr<Node>> Parse() {
    if (static_cast<int>(pattern_.size()) > options_.max_pattern_bytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the regex is ", pattern_.size(), " bytes; the limit is ", options_.max_pattern_bytes));
    }
    if (!IsValidUtf8(pattern_)) {
      return absl::InvalidArgumentError(
          absl::StrCat("the regex is not valid UTF-8 at byte ", FirstInvalidUtf8Offset(pattern_)));
    }
    if (!pattern_.empty() && pattern_[0] == '^') ++at_;
    absl::StatusOr<std::unique_ptr<Node>> node = ParseAlternatives(0);
    if (!node.ok()) return node.status();
    if (at_ < pattern_.size()) {
      if (pattern_[at_] == ')') return Error("an unmatched ')'");
      return Error("unexpected character");
    }
    return node;
  }

 private:
  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat("regex: ", what, " at byte ", at_, " of \"", pattern_, "\""));
  }
  absl::Status Unsupported(absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat("regex: ", what, " (at byte ", at_, ") is not supported in a constraint"));
  }

  bool AtEnd() const { return at_ >= pattern_.size(); }
  char Peek() const { return pattern_[at_]; }

  // One UTF-8 character of the pattern (valid: checked up front).
  uint32_t TakeCodePoint() {
    const auto lead = static_cast<uint8_t>(pattern_[at_]);
    const int length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
    uint32_t value = length == 1 ? lead : lead & (0x3F >> (length - 1));
    for (int i = 1; i < length; ++i) {
      value = (value << 6) | (static_cast<uint8_t>(pattern_[at_ + i]) & 0x3F);
    }
    at_ += length;
    return value;
  }

  absl::StatusOr<std::unique_ptr<Node>> ParseAlternatives(int depth) {
    if (depth > options_.max_nesting) return Error("groups nested too deeply");
    std::vector<std::unique_ptr<Node>> options;
    while (true) {
      absl::StatusOr<std::unique_ptr<Node>> concat = ParseConcat(depth);
      if (!concat.ok()) return concat.status();
      options.push_back(*std::move(concat));
      if (AtEnd() || Peek() != '|') break;
      ++at_;
    }
    if (options.size() == 1) return std::move(options[0]);
    auto node = std::make_unique<Node>();
    node->kind = Node::Kind::kAlternatives;
    node->children = std::move(options);
    return node;
  }

  absl::StatusOr<std::unique_ptr<Node>> ParseConcat(int depth) {
    auto node = std::make_unique<Node>();
    node->kind = Node::Kind::kConcat;
    while (!AtEnd() && Peek() != '|' && Peek() != ')') {
      if (Peek() == '$') {
        if (at_ + 1 == pattern_.size()) {  // the end anchor: a full match anyway
          ++at_;
          break;
        }
        return Unsupported("'$' before the end");
      }
      absl::StatusOr<std::unique_ptr<Node>> atom = ParseAtom(depth);
      if (!atom.ok()) return atom.status();
      absl::StatusOr<std::unique_ptr<Node>> repeated = ParseQuantifier(*std::move(atom));
      if (!repeated.ok()) return repeated.status();
      node->children.push_back(*std::move(repeated));
    }
    return node;
  }

  // A decimal number of at most max_repeat; nullopt when there is none.
  absl::StatusOr<std::optional<int>> ParseCount() {
    if (AtEnd() || Peek() < '0' || Peek() > '9') return std::optional<int>();
    int64_t value = 0;
    while (!AtEnd() && Peek() >= '0' && Peek() <= '9') {
      value = value * 10 + (Peek() - '0');
      if (value > options_.max_repeat) {
        return Error(absl::StrCat("a repeat count above the limit of ", options_.max_repeat));
      }
      ++at_;
    }
    return std::optional<int>(static_cast<int>(value));
  }

  absl::StatusOr<std::unique_ptr<Node>> ParseQuantifier(std::unique_ptr<Node> atom) {
    if (!AtEnd()) {
      int min = 0, max = -1;
      const char c = Peek();
      if (c == '*') {
        ++at_;
      } else if (c == '+') {
        min = 1;
        ++at_;
      } else if (c == '?') {
        max = 1;
        ++at_;
      } else if (c == '{') {
        const size_t open = at_;
        ++at_;
        absl::StatusOr<std::optional<int>> first = ParseCount();
        if (!first.ok()) return first.status();
        if (!first->has_value()) {
          at_ = open;
          return Error("a '{' that is not a repeat count (write \\{ for the character)");
        }
        min = max = **first;
        if (!AtEnd() && Peek() == ',') {
          ++at_;
          absl::StatusOr<std::optional<int>> second = ParseCount();
          if (!second.ok()) return second.status();
          max = second->has_value() ? **second : -1;
        }
        if (AtEnd() || Peek() != '}') return Error("an unterminated repeat count");
        ++at_;
        if (max >= 0 && max < min) return Error("a repeat count {n,m} with m < n");
      } else {
        return atom;
      }
      if (!AtEnd() && (Peek() == '?' || Peek() == '+')) ++at_;  // lazy / possessive
      auto node = std::make_unique<Node>();
      node->kind = Node::Kind::kRepeat;
      node->min = min;
      node->max = max;
      node->children.push_back(std::move(atom));
      if (!AtEnd() && (Peek() == '*' || Peek() == '+' || Peek() == '?' || Peek() == '{')) {
        return Error("a quantifier after a quantifier (group it: (?:a{2}){2})");
      }
      return node;
    }
    return atom;
  }

  // After a backslash: a class escape (\d ...) or one character.
  absl::StatusOr<std::vector<CodePointRange>> ParseEscape(bool in_class) {
    if (AtEnd()) return Error("a trailing backslash");
    const char c = Peek();
    switch (c) {
      case 'd':
        ++at_;
        return Digits();
      case 'D':
        ++at_;
        return Complement(Digits());
      case 'w':
        ++at_;
        return WordCharacters();
      case 'W':
        ++at_;
        return Complement(WordCharacters());
      case 's':
        ++at_;
        return Spaces();
      case 'S':
        ++at_;
        return Complement(Spaces());
      case 'n':
        ++at_;
        return std::vector<CodePointRange>{{'\n', '\n'}};
      case 'r':
        ++at_;
        return std::vector<CodePointRange>{{'\r', '\r'}};
      case 't':
        ++at_;
        return std::vector<CodePointRange>{{'\t', '\t'}};
      case 'f':
        ++at_;
        return std::vector<CodePointRange>{{'\f', '\f'}};
      case 'v':
        ++at_;
        return std::vector<CodePointRange>{{'\v', '\v'}};
      case '0':
        ++at_;
        return std::vector<CodePointRange>{{0, 0}};
      case 'x':
      case 'u': {
        ++at_;
        const bool braced = !AtEnd() && Peek() == '{';
        if (braced) ++at_;
        const int digits = braced ? 6 : (c == 'x' ? 2 : 4);
        uint32_t value = 0;
        int read = 0;
        while (!AtEnd() && read < digits && std::isxdigit(static_cast<unsigned char>(Peek()))) {
          const char h = Peek();
          value = value * 16 + (h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
          ++at_;
          ++read;
        }
        if (braced) {
          if (AtEnd() || Peek() != '}') return Error("an unterminated \\x{...}");
          ++at_;
        }
        if (read == 0 || (!braced && read != digits)) return Error("a malformed hex escape");
        if (value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) {
          return Error("a hex escape that is not a Unicode scalar value");
        }
        return std::vector<CodePointRange>{{value, value}};
      }
      case 'b':
        if (in_class) {
          ++at_;
          return std::vector<CodePointRange>{{'\b', '\b'}};
        }
        return Unsupported("the word boundary \\b");
      default:
        break;
    }
    if (c >= '1' && c <= '9') return Unsupported("a backreference");
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
      return Unsupported(absl::StrCat("the escape \\", std::string(1, c)));
    }
    const uint32_t literal = TakeCodePoint();  // escaped punctuation (or any other character)
    return std::vector<CodePointRange>{{literal, literal}};
  }

  absl::StatusOr<std::unique_ptr<Node>> ParseClass() {
    ++at_;  // '['
    bool negated = false;
    if (!AtEnd() && Peek() == '^') {
      negated = true;
      ++at_;
    }
    std::vector<CodePointRange> ranges;
    bool first = true;
    while (true) {
      if (AtEnd()) return Error("an unterminated character class");
      if (Peek() == ']' && !first) {
        ++at_;
        break;
      }
      first = false;
      if (Peek() == '[' && at_ + 1 < pattern_.size() &&
          (pattern_[at_ + 1] == ':' || pattern_[at_ + 1] == '=' || pattern_[at_ + 1] == '.')) {
        return Unsupported("a POSIX class [[:...:]]");
      }
      std::vector<CodePointRange> item;
      if (Peek() == '\\') {
        ++at_;
        absl::StatusOr<std::vector<CodePointRange>> escaped = ParseEscape(/*in_class=*/true);
        if (!escaped.ok()) return escaped.status();
        item = *std::move(escaped);
      } else {
        const uint32_t cp = TakeCodePoint();
        item = {{cp, cp}};
      }
      // A range a-z (a single character on both sides; '-' last or first is literal).
      if (item.size() == 1 && item[0].lo == item[0].hi && !AtEnd() && Peek() == '-' &&
          at_ + 1 < pattern_.size() && pattern_[at_ + 1] != ']') {
        ++at_;
        uint32_t hi;
        if (Peek() == '\\') {
          ++at_;
          absl::StatusOr<std::vector<CodePointRange>> escaped = ParseEscape(true);
          if (!escaped.ok()) return escaped.status();
          if (escaped->size() != 1 || (*escaped)[0].lo != (*escaped)[0].hi) {
            return Error("a class escape as a range end");
          }
          hi = (*escaped)[0].lo;
        } else {
          hi = TakeCodePoint();
        }
        if (hi < item[0].lo) return Error("a range out of order");
        item[0].hi = hi;
      }
      ranges.insert(ranges.end(), item.begin(), item.end());
    }
    return MakeSet(negated ? Complement(std::move(ranges)) : std::move(ranges));
  }

  absl::StatusOr<std::unique_ptr<Node>> ParseAtom(int depth) {
    const char c = Peek();
    switch (c) {
      case '(': {
        ++at_;
        if (!AtEnd() && Peek() == '?') {
          ++at_;
          if (!AtEnd() && Peek() == ':') {
            ++at_;
          } else if (!AtEnd() && (Peek() == '<' || Peek() == 'P') &&
                     pattern_.substr(at_).size() > 2 && pattern_[at_ + 1] != '=' &&
                     pattern_[at_ + 1] != '!') {
            if (Peek() == 'P') ++at_;
            if (AtEnd() || Peek() != '<') return Unsupported("this group syntax");
            const size_t close = pattern_.find('>', at_);
            if (close == absl::string_view::npos) return Error("an unterminated group name");
            at_ = close + 1;
          } else if (!AtEnd() && (Peek() == '=' || Peek() == '!' || Peek() == '<')) {
            return Unsupported("lookaround");
          } else {
            return Unsupported("inline flags or this group syntax");
          }
        }
        absl::StatusOr<std::unique_ptr<Node>> inner = ParseAlternatives(depth + 1);
        if (!inner.ok()) return inner.status();
        if (AtEnd() || Peek() != ')') return Error("an unterminated group");
        ++at_;
        return inner;
      }
      case '[':
        return ParseClass();
      case '.':
        ++at_;
        return MakeSet(Complement({{'\n', '\n'}}));
      case '\\': {
        ++at_;
        absl::StatusOr<std::vector<CodePointRange>> escaped = ParseEscape(/*in_class=*/false);
        if (!escaped.ok()) return escaped.status();
        return MakeSet(*std::move(escaped));
      }
      case '*':
      case '+':
      case '?':
        return Error("a quantifier with nothing to repeat");
      case '{':
        return Error("a '{' with nothing to repeat (write \\{ for the character)");
      case '^':
        return Unsupported("'^' after the start");
      default: {
        const uint32_t cp = TakeCodePoint();
        return MakeSet({{cp, cp}});
      }
    }
  }

  absl::string_view pattern_;
  const RegexOptions& options_;
  size_t at_ = 0;
};

// Ranges split around the characters a JSON string must escape: `direct` may be written as is,
// and whether '"' / '\' are included (written escaped). Control characters are dropped.
struct JsonSplit {
  std::vector<CodePointRange> direct;
  bool quote = false;
  bool backslash = false;
};

JsonSplit SplitForJson(const std::vector<CodePointRange>& ranges) {
  JsonSplit split;
  for (const CodePointRange& range : ranges) {
    auto contains = [&](uint32_t cp) { return range.lo <= cp && cp <= range.hi; };
    split.quote = split.quote || contains('"');
    split.backslash = split.backslash || contains('\\');
    // Remove [0, 0x1F], '"' and '\'.
    std::vector<CodePointRange> pieces = {range};
    for (const CodePointRange cut :
         {CodePointRange{0, 0x1F}, CodePointRange{'"', '"'}, CodePointRange{'\\', '\\'}}) {
      std::vector<CodePointRange> next;
      for (const CodePointRange& piece : pieces) {
        if (piece.hi < cut.lo || piece.lo > cut.hi) {
          next.push_back(piece);
          continue;
        }
        if (piece.lo < cut.lo) next.push_back({piece.lo, cut.lo - 1});
        if (piece.hi > cut.hi) next.push_back({cut.hi + 1, piece.hi});
      }
      pieces = std::move(next);
    }
    split.direct.insert(split.direct.end(), pieces.begin(), pieces.end());
  }
  return split;
}

class Emitter {
 public:
  Emitter(GrammarBuilder& builder, const RegexOptions& options)
      : builder_(builder), options_(options) {}

  Fragment Emit(const Node& node) {
    switch (node.kind) {
      case Node::Kind::kEmpty:
        return builder_.Empty();
      case Node::Kind::kSet:
        return EmitSet(node.set);
      case Node::Kind::kConcat: {
        std::vector<Fragment> parts;
        for (const auto& child : node.children) parts.push_back(Emit(*child));
        return builder_.Concat(parts);
      }
      case Node::Kind::kAlternatives: {
        std::vector<Fragment> options;
        for (const auto& child : node.children) options.push_back(Emit(*child));
        return builder_.Alternatives(options);
      }
      case Node::Kind::kRepeat: {
        const Node& child = *node.children[0];
        return builder_.Repeat([&] { return Emit(child); }, node.min, node.max);
      }
    }
    return builder_.Empty();
  }

 private:
  Fragment EmitSet(const std::vector<CodePointRange>& set) {
    if (!options_.json_string) return builder_.CodePoints(set);
    const JsonSplit split = SplitForJson(set);
    std::vector<Fragment> options = {builder_.CodePoints(split.direct)};
    if (split.quote) options.push_back(builder_.Literal("\\\""));
    if (split.backslash) options.push_back(builder_.Literal("\\\\"));
    return options.size() == 1 ? options[0] : builder_.Alternatives(options);
  }

  GrammarBuilder& builder_;
  const RegexOptions& options_;
};

}  // namespace

absl::StatusOr<GrammarBuilder::Fragment> CompileRegex(absl::string_view pattern,
                                                      GrammarBuilder& builder,
                                                      const RegexOptions& options) {
  Parser parser(pattern, options);
  absl::StatusOr<std::unique_ptr<Node>> node = parser.Parse();
  if (!node.ok()) return node.status();
  Emitter emitter(builder, options);
  return emitter.Emit(**node);
}

}  // namespace minimind
