#include "engine/constrain/constraint.h"

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "engine/constrain/ebnf_compiler.h"
#include "engine/constrain/json_schema_compiler.h"
#include "engine/constrain/regex_compiler.h"
#include "engine/tokenizer/utf8.h"

namespace minimind {

const char* ConstraintKindName(ConstraintKind kind) {
  switch (kind) {
    case ConstraintKind::kJsonSchema:
      return "json_schema";
    case ConstraintKind::kJsonObject:
      return "json_object";
    case ConstraintKind::kRegex:
      return "regex";
    case ConstraintKind::kChoice:
      return "choice";
    case ConstraintKind::kGrammar:
      return "grammar";
  }
  return "unknown";
}

absl::StatusOr<Grammar> CompileConstraintGrammar(const ConstraintSpec& spec,
                                                 const ConstraintLimits& limits) {
  if (static_cast<int64_t>(spec.text.size()) > kMaxConstraintTextBytes) {
    return absl::InvalidArgumentError(absl::StrCat(ConstraintKindName(spec.kind), " is ",
                                                   spec.text.size(), " bytes; the limit is ",
                                                   kMaxConstraintTextBytes));
  }
  switch (spec.kind) {
    case ConstraintKind::kJsonSchema: {
      JsonSchemaLimits schema_limits;
      schema_limits.max_schema_bytes = kMaxConstraintTextBytes;
      schema_limits.max_grammar_states = limits.max_grammar_states;
      return CompileJsonSchema(spec.text, schema_limits);
    }
    case ConstraintKind::kJsonObject:
      return CompileJsonObject(limits.max_grammar_states);
    case ConstraintKind::kRegex: {
      if (spec.text.empty()) return absl::InvalidArgumentError("regex is empty");
      GrammarBuilder builder(limits.max_grammar_states);
      RegexOptions options;
      options.max_pattern_bytes = static_cast<int>(kMaxConstraintTextBytes);
      absl::StatusOr<GrammarBuilder::Fragment> body = CompileRegex(spec.text, builder, options);
      if (!body.ok()) return body.status();
      const int32_t root = builder.NewRule();
      builder.DefineRule(root, *body);
      return std::move(builder).Build(root);
    }
    case ConstraintKind::kChoice: {
      if (spec.choices.empty()) return absl::InvalidArgumentError("choice lists no choices");
      if (static_cast<int>(spec.choices.size()) > kMaxChoices) {
        return absl::InvalidArgumentError(absl::StrCat("choice lists ", spec.choices.size(),
                                                       " choices; the limit is ", kMaxChoices));
      }
      GrammarBuilder builder(limits.max_grammar_states);
      std::vector<GrammarBuilder::Fragment> options;
      for (size_t i = 0; i < spec.choices.size(); ++i) {
        const std::string& choice = spec.choices[i];
        if (choice.empty() || static_cast<int64_t>(choice.size()) > kMaxChoiceBytes ||
            !IsValidUtf8(choice)) {
          return absl::InvalidArgumentError(absl::StrCat("choice[", i, "] must be 1 to ",
                                                         kMaxChoiceBytes, " bytes of valid UTF-8"));
        }
        options.push_back(builder.Literal(choice));
      }
      const int32_t root = builder.NewRule();
      builder.DefineRule(root, builder.Alternatives(options));
      return std::move(builder).Build(root);
    }
    case ConstraintKind::kGrammar: {
      EbnfLimits ebnf_limits;
      ebnf_limits.max_grammar_states = limits.max_grammar_states;
      return CompileEbnf(spec.text, ebnf_limits);
    }
  }
  return absl::InvalidArgumentError("unknown constraint kind");
}

namespace {

std::string CacheKey(const ConstraintSpec& spec) {
  std::string key =
      absl::StrCat(static_cast<int>(spec.kind), ":", spec.text.size(), ":", spec.text);
  for (const std::string& choice : spec.choices)
    absl::StrAppend(&key, "\n", choice.size(), ":", choice);
  return key;
}

}  // namespace

ConstraintCompiler::ConstraintCompiler(std::shared_ptr<const TokenVocabulary> vocabulary,
                                       ConstraintLimits limits, int64_t cache_entries,
                                       int64_t cache_bytes)
    : vocabulary_(std::move(vocabulary)),
      limits_(limits),
      cache_entries_(cache_entries),
      cache_bytes_(cache_bytes) {}

absl::StatusOr<std::shared_ptr<ConstraintAutomaton>> ConstraintCompiler::Compile(
    const ConstraintSpec& spec) {
  const std::string key = CacheKey(spec);
  {
    absl::MutexLock lock(&mutex_);
    if (auto it = index_.find(key); it != index_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      ++stats_.cache_hits;
      return it->second->second;
    }
  }
  const absl::Time start = absl::Now();
  absl::StatusOr<Grammar> grammar = CompileConstraintGrammar(spec, limits_);
  if (!grammar.ok()) return grammar.status();
  auto automaton = std::make_shared<ConstraintAutomaton>(*std::move(grammar), vocabulary_, limits_);
  absl::StatusOr<int32_t> begin = automaton->Start();
  if (!begin.ok()) return begin.status();
  absl::StatusOr<std::shared_ptr<const TokenMaskWords>> first = automaton->Mask(*begin);
  if (!first.ok()) return first.status();
  bool any = false;
  for (const uint64_t word : **first) any = any || word != 0;
  if (!any) {
    return absl::InvalidArgumentError(
        absl::StrCat("no token of this model's vocabulary can begin output matching the ",
                     ConstraintKindName(spec.kind)));
  }
  automaton->Precompute();
  absl::MutexLock lock(&mutex_);
  ++stats_.compiled;
  stats_.compile_seconds += absl::ToDoubleSeconds(absl::Now() - start);
  if (auto it = index_.find(key); it != index_.end()) return it->second->second;  // a race
  lru_.emplace_front(key, automaton);
  index_[key] = lru_.begin();
  std::vector<int64_t> held;  // per cached automaton, most recently used first
  held.reserve(lru_.size());
  int64_t total = 0;
  for (const auto& [cached_key, cached] : lru_) {
    held.push_back(cached->held_bytes());
    total += held.back();
  }
  while (lru_.size() > 1 &&
         (static_cast<int64_t>(lru_.size()) > cache_entries_ || total > cache_bytes_)) {
    total -= held.back();
    held.pop_back();
    index_.erase(lru_.back().first);
    lru_.pop_back();
    ++stats_.evicted;
  }
  stats_.cached_bytes = total;
  return automaton;
}

ConstraintCompilerStats ConstraintCompiler::stats() const {
  absl::MutexLock lock(&mutex_);
  ConstraintCompilerStats stats = stats_;
  stats.cached = static_cast<int64_t>(lru_.size());
  return stats;
}

}  // namespace minimind
