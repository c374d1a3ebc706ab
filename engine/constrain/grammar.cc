#include "engine/constrain/grammar.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace minimind {
namespace {

constexpr uint32_t kMaxCodePoint = 0x10FFFF;
constexpr uint32_t kSurrogateFirst = 0xD800;
constexpr uint32_t kSurrogateLast = 0xDFFF;

int EncodedLength(uint32_t code_point) {
  if (code_point <= 0x7F) return 1;
  if (code_point <= 0x7FF) return 2;
  if (code_point <= 0xFFFF) return 3;
  return 4;
}

void Encode(uint32_t code_point, uint8_t* out) {
  switch (EncodedLength(code_point)) {
    case 1:
      out[0] = static_cast<uint8_t>(code_point);
      break;
    case 2:
      out[0] = static_cast<uint8_t>(0xC0 | (code_point >> 6));
      out[1] = static_cast<uint8_t>(0x80 | (code_point & 0x3F));
      break;
    case 3:
      out[0] = static_cast<uint8_t>(0xE0 | (code_point >> 12));
      out[1] = static_cast<uint8_t>(0x80 | ((code_point >> 6) & 0x3F));
      out[2] = static_cast<uint8_t>(0x80 | (code_point & 0x3F));
      break;
    default:
      out[0] = static_cast<uint8_t>(0xF0 | (code_point >> 18));
      out[1] = static_cast<uint8_t>(0x80 | ((code_point >> 12) & 0x3F));
      out[2] = static_cast<uint8_t>(0x80 | ((code_point >> 6) & 0x3F));
      out[3] = static_cast<uint8_t>(0x80 | (code_point & 0x3F));
      break;
  }
}

// Sorted, merged, clipped to scalar values (no surrogates).
std::vector<CodePointRange> Normalize(absl::Span<const CodePointRange> ranges) {
  std::vector<CodePointRange> sorted;
  for (CodePointRange range : ranges) {
    if (range.lo > range.hi || range.lo > kMaxCodePoint) continue;
    range.hi = std::min(range.hi, kMaxCodePoint);
    if (range.lo < kSurrogateFirst && range.hi > kSurrogateLast) {
      sorted.push_back({range.lo, kSurrogateFirst - 1});
      sorted.push_back({kSurrogateLast + 1, range.hi});
    } else if (range.lo >= kSurrogateFirst && range.hi <= kSurrogateLast) {
      continue;
    } else if (range.lo >= kSurrogateFirst && range.lo <= kSurrogateLast) {
      sorted.push_back({kSurrogateLast + 1, range.hi});
    } else if (range.hi >= kSurrogateFirst && range.hi <= kSurrogateLast) {
      sorted.push_back({range.lo, kSurrogateFirst - 1});
    } else {
      sorted.push_back(range);
    }
  }
  std::sort(sorted.begin(), sorted.end(),
            [](const CodePointRange& a, const CodePointRange& b) { return a.lo < b.lo; });
  std::vector<CodePointRange> merged;
  for (const CodePointRange& range : sorted) {
    if (!merged.empty() && range.lo <= merged.back().hi + 1) {
      merged.back().hi = std::max(merged.back().hi, range.hi);
    } else {
      merged.push_back(range);
    }
  }
  return merged;
}

}  // namespace

int32_t GrammarBuilder::NewState() {
  if (over_limit_ || num_states() >= max_states_) {
    over_limit_ = true;
    if (scratch_ < 0) {
      scratch_ = static_cast<int32_t>(grammar_.states_.size());
      grammar_.states_.emplace_back();
    }
    return scratch_;
  }
  grammar_.states_.emplace_back();
  return static_cast<int32_t>(grammar_.states_.size() - 1);
}

void GrammarBuilder::AddEpsilon(int32_t from, int32_t to) {
  if (over_limit_) return;
  grammar_.states_[from].epsilon.push_back(to);
}

void GrammarBuilder::AddEdge(int32_t from, uint8_t lo, uint8_t hi, int32_t to) {
  if (over_limit_) return;
  grammar_.states_[from].edges.push_back({lo, hi, to});
}

GrammarBuilder::Fragment GrammarBuilder::Empty() {
  const int32_t start = NewState();
  const int32_t end = NewState();
  AddEpsilon(start, end);
  return {start, end};
}

GrammarBuilder::Fragment GrammarBuilder::ByteRange(uint8_t lo, uint8_t hi) {
  const int32_t start = NewState();
  const int32_t end = NewState();
  AddEdge(start, lo, hi, end);
  return {start, end};
}

GrammarBuilder::Fragment GrammarBuilder::Literal(absl::string_view bytes) {
  const int32_t start = NewState();
  int32_t at = start;
  for (const char c : bytes) {
    const int32_t next = NewState();
    AddEdge(at, static_cast<uint8_t>(c), static_cast<uint8_t>(c), next);
    at = next;
  }
  if (at == start) {
    const int32_t end = NewState();
    AddEpsilon(start, end);
    at = end;
  }
  return {start, at};
}

void GrammarBuilder::AddCodePointRange(int32_t from, uint32_t lo, uint32_t hi, int32_t to) {
  // Split until lo and hi have the same length and every continuation position spans whole
  // 6-bit ranges; then the byte sequences are a product of byte ranges.
  for (const uint32_t boundary : {0x7Fu, 0x7FFu, 0xFFFFu}) {
    if (lo <= boundary && boundary < hi) {
      AddCodePointRange(from, lo, boundary, to);
      AddCodePointRange(from, boundary + 1, hi, to);
      return;
    }
  }
  const int length = EncodedLength(lo);
  for (int i = 1; i < length; ++i) {
    const uint32_t mask = (1u << (6 * i)) - 1;
    if ((lo & ~mask) != (hi & ~mask)) {
      if ((lo & mask) != 0) {
        AddCodePointRange(from, lo, lo | mask, to);
        AddCodePointRange(from, (lo | mask) + 1, hi, to);
        return;
      }
      if ((hi & mask) != mask) {
        AddCodePointRange(from, lo, (hi & ~mask) - 1, to);
        AddCodePointRange(from, hi & ~mask, hi, to);
        return;
      }
    }
  }
  uint8_t first[4], last[4];
  Encode(lo, first);
  Encode(hi, last);
  int32_t at = from;
  for (int i = 0; i < length; ++i) {
    const int32_t next = i + 1 == length ? to : NewState();
    AddEdge(at, first[i], last[i], next);
    at = next;
  }
}

GrammarBuilder::Fragment GrammarBuilder::CodePoints(absl::Span<const CodePointRange> ranges) {
  const int32_t start = NewState();
  const int32_t end = NewState();
  for (const CodePointRange& range : Normalize(ranges)) {
    AddCodePointRange(start, range.lo, range.hi, end);
  }
  return {start, end};
}

GrammarBuilder::Fragment GrammarBuilder::CodePointsExcept(
    absl::Span<const CodePointRange> excluded) {
  std::vector<CodePointRange> kept;
  uint32_t next = 0;
  for (const CodePointRange& range : Normalize(excluded)) {
    if (range.lo > next) kept.push_back({next, range.lo - 1});
    next = range.hi + 1;
  }
  if (next <= kMaxCodePoint) kept.push_back({next, kMaxCodePoint});
  return CodePoints(kept);
}

GrammarBuilder::Fragment GrammarBuilder::Concat(Fragment a, Fragment b) {
  AddEpsilon(a.end, b.start);
  return {a.start, b.end};
}

GrammarBuilder::Fragment GrammarBuilder::Concat(absl::Span<const Fragment> parts) {
  if (parts.empty()) return Empty();
  Fragment out = parts[0];
  for (size_t i = 1; i < parts.size(); ++i) out = Concat(out, parts[i]);
  return out;
}

GrammarBuilder::Fragment GrammarBuilder::Alternatives(absl::Span<const Fragment> options) {
  const int32_t start = NewState();
  const int32_t end = NewState();
  for (const Fragment& option : options) {
    AddEpsilon(start, option.start);
    AddEpsilon(option.end, end);
  }
  return {start, end};
}

GrammarBuilder::Fragment GrammarBuilder::Optional(Fragment f) {
  const int32_t start = NewState();
  const int32_t end = NewState();
  AddEpsilon(start, f.start);
  AddEpsilon(start, end);
  AddEpsilon(f.end, end);
  return {start, end};
}

GrammarBuilder::Fragment GrammarBuilder::Star(Fragment f) {
  const int32_t start = NewState();
  const int32_t end = NewState();
  AddEpsilon(start, f.start);
  AddEpsilon(start, end);
  AddEpsilon(f.end, f.start);
  AddEpsilon(f.end, end);
  return {start, end};
}

GrammarBuilder::Fragment GrammarBuilder::Plus(Fragment f) {
  const int32_t end = NewState();
  AddEpsilon(f.end, f.start);
  AddEpsilon(f.end, end);
  return {f.start, end};
}

GrammarBuilder::Fragment GrammarBuilder::Repeat(const std::function<Fragment()>& make, int64_t min,
                                                int64_t max) {
  const int32_t group = static_cast<int32_t>(grammar_.repeat_bounds_.size());
  grammar_.repeat_bounds_.push_back({min, max});
  // A copy at `position`, its new states marked (those of a repeat inside it keep their own).
  auto copy = [&](int64_t position) {
    const int64_t first = num_states();
    const Fragment fragment = make();
    if (!over_limit_) {
      for (int64_t id = first; id < num_states(); ++id) {
        Grammar::State& state = grammar_.states_[id];
        if (state.repeat_group >= 0) continue;
        state.repeat_group = group;
        state.repeat_position = static_cast<int32_t>(position);
        state.repeat_offset = static_cast<int32_t>(id - first);
      }
    }
    return fragment;
  };
  std::vector<Fragment> parts;
  for (int64_t i = 0; i < min && !over_limit_; ++i) parts.push_back(copy(i));
  if (max < 0) {
    parts.push_back(Star(copy(min)));
  } else if (max > min) {
    // (x(x(x)?)?)?, built from the last position backwards.
    Fragment tail = Optional(copy(max - 1));
    for (int64_t position = max - 2; position >= min && !over_limit_; --position) {
      tail = Optional(Concat(copy(position), tail));
    }
    parts.push_back(tail);
  }
  return parts.empty() ? Empty() : Concat(parts);
}

int32_t GrammarBuilder::NewRule() {
  grammar_.rule_starts_.push_back(-1);
  return static_cast<int32_t>(grammar_.rule_starts_.size() - 1);
}

void GrammarBuilder::DefineRule(int32_t rule, Fragment body) {
  if (over_limit_) return;
  grammar_.rule_starts_[rule] = body.start;
  grammar_.states_[body.end].rule_end = true;
}

GrammarBuilder::Fragment GrammarBuilder::Call(int32_t rule) {
  const int32_t start = NewState();
  const int32_t end = NewState();
  if (!over_limit_) {
    grammar_.states_[start].call = rule;
    grammar_.states_[start].call_return = end;
  }
  return {start, end};
}

absl::StatusOr<Grammar> GrammarBuilder::Build(int32_t root) && {
  if (over_limit_) {
    return absl::ResourceExhaustedError(absl::StrCat("the constraint needs more than ", max_states_,
                                                     " automaton states; simplify it"));
  }
  for (size_t rule = 0; rule < grammar_.rule_starts_.size(); ++rule) {
    if (grammar_.rule_starts_[rule] < 0) {
      return absl::InternalError(absl::StrCat("grammar rule ", rule, " was never defined"));
    }
  }
  grammar_.root_rule_ = root;
  return std::move(grammar_);
}

}  // namespace minimind
