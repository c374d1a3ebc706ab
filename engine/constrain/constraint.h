// Structured output: what a request may constrain its output to, compiled into a
// ConstraintAutomaton (constraint_automaton.h) whose token masks the engine applies before
// sampling (engine/scheduler: GenerationRequest::constraint).
//
//   kJsonSchema  a JSON document valid under `text`, a JSON Schema (json_schema_compiler.h)
//   kJsonObject  any JSON object
//   kRegex       a full match of the regular expression `text` (regex_compiler.h)
//   kChoice      exactly one of `choices`
//   kGrammar     a match of the EBNF grammar `text` from its rule `root` (ebnf_compiler.h)
//
// ConstraintCompiler compiles once per distinct constraint — the grammar, then the automaton's
// states and masks nearest the start (ConstraintAutomaton::Precompute; the rest are made on first
// use) — and keeps the automata in an LRU cache bounded by entries and by the bytes they hold, so
// a schema used by many requests is compiled once and many distinct schemas cannot hold memory
// without bound. Thread-safe.
#ifndef MINIMIND_ENGINE_CONSTRAIN_CONSTRAINT_H_
#define MINIMIND_ENGINE_CONSTRAIN_CONSTRAINT_H_

#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "engine/constrain/constraint_automaton.h"
#include "engine/constrain/grammar.h"
#include "engine/constrain/token_vocabulary.h"

namespace minimind {

enum class ConstraintKind { kJsonSchema, kJsonObject, kRegex, kChoice, kGrammar };

struct ConstraintSpec {
  ConstraintKind kind = ConstraintKind::kJsonObject;
  std::string text;                  // kJsonSchema, kRegex, kGrammar
  std::vector<std::string> choices;  // kChoice
};

inline constexpr int64_t kMaxConstraintTextBytes = 65536;
inline constexpr int kMaxChoices = 1024;
inline constexpr int64_t kMaxChoiceBytes = 4096;

// "json_schema", "json_object", "regex", "choice", "grammar".
const char* ConstraintKindName(ConstraintKind kind);

// The grammar of `spec`. InvalidArgument for a malformed or unsupported constraint or a limit
// (the message names it); ResourceExhausted past limits.max_grammar_states.
absl::StatusOr<Grammar> CompileConstraintGrammar(const ConstraintSpec& spec,
                                                 const ConstraintLimits& limits);

struct ConstraintCompilerStats {
  int64_t compiled = 0;
  int64_t cache_hits = 0;
  int64_t evicted = 0;       // automata dropped from the cache (entries or bytes over the limit)
  int64_t cached = 0;        // automata in the cache now
  int64_t cached_bytes = 0;  // what they held when the last one was compiled (held_bytes)
  double compile_seconds = 0;
};

inline constexpr int64_t kDefaultConstraintCacheBytes = int64_t{256} << 20;

class ConstraintCompiler {
 public:
  // At most `cache_entries` automata and, measured each time one is compiled, `cache_bytes` of
  // what they hold (masks made on first use add to it between compiles); the least recently used
  // go first, the newest always stays (its own ConstraintLimits bound it). Requests that hold an
  // evicted automaton keep using it.
  ConstraintCompiler(std::shared_ptr<const TokenVocabulary> vocabulary, ConstraintLimits limits,
                     int64_t cache_entries = 64,
                     int64_t cache_bytes = kDefaultConstraintCacheBytes);

  // The automaton of `spec`, compiled or from the cache. Errors as CompileConstraintGrammar, and
  // InvalidArgument when no token of the vocabulary can begin the output.
  absl::StatusOr<std::shared_ptr<ConstraintAutomaton>> Compile(const ConstraintSpec& spec);

  ConstraintCompilerStats stats() const;
  const TokenVocabulary& vocabulary() const { return *vocabulary_; }

 private:
  const std::shared_ptr<const TokenVocabulary> vocabulary_;
  const ConstraintLimits limits_;
  const int64_t cache_entries_;
  const int64_t cache_bytes_;
  mutable absl::Mutex mutex_;
  // Most recently used first.
  std::list<std::pair<std::string, std::shared_ptr<ConstraintAutomaton>>> lru_
      ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_map<std::string, decltype(lru_)::iterator> index_ ABSL_GUARDED_BY(mutex_);
  ConstraintCompilerStats stats_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_CONSTRAIN_CONSTRAINT_H_
