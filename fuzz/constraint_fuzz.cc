// The structured-output compilers: a JSON Schema, a regex or an EBNF grammar (first byte % 3 = 0,
// 1, 2) compiled to a grammar or an error, never a crash; when it compiles, bounded random walks
// through its automaton over a byte vocabulary must only produce valid UTF-8, and for a schema
// every complete output must parse as JSON. Half the inputs (even sizes) get their masks computed
// ahead first.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "engine/constrain/constraint.h"
#include "engine/tokenizer/utf8.h"
#include "fuzz/fuzz_support.h"
#include "nlohmann/json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace minimind;
  if (size < 1) return 0;
  const bool schema = data[0] % 3 == 0;
  ConstraintSpec spec;
  spec.kind = schema             ? ConstraintKind::kJsonSchema
              : data[0] % 3 == 1 ? ConstraintKind::kRegex
                                 : ConstraintKind::kGrammar;
  spec.text.assign(reinterpret_cast<const char*>(data) + 1, size - 1);
  ConstraintLimits limits;
  limits.max_grammar_states = 20000;
  limits.max_dfa_states = 2000;
  absl::StatusOr<Grammar> grammar = CompileConstraintGrammar(spec, limits);
  if (!grammar.ok()) return 0;
  static const std::shared_ptr<const TokenVocabulary> kBytes = [] {
    std::vector<std::string> bytes;
    for (int b = 0; b < 256; ++b) bytes.push_back(std::string(1, static_cast<char>(b)));
    return std::make_shared<const TokenVocabulary>(std::move(bytes), 256);
  }();
  limits.precompute_trie_nodes = 4096;
  ConstraintAutomaton automaton(*std::move(grammar), kBytes, limits);
  if (size % 2 == 0) automaton.Precompute();  // masks made ahead must behave as first-use ones
  uint64_t rng = 0x9E3779B97F4A7C15ull ^ size;
  for (int walk = 0; walk < 4; ++walk) {
    absl::StatusOr<int32_t> state = automaton.Start();
    if (!state.ok()) return 0;
    std::string out;
    for (int step = 0; step < 64; ++step) {
      if (automaton.Complete(*state)) break;
      absl::StatusOr<std::shared_ptr<const TokenMaskWords>> mask = automaton.Mask(*state);
      if (!mask.ok()) return 0;
      std::vector<int> allowed;
      for (int b = 0; b < 256; ++b) {
        if (((**mask)[b >> 6] >> (b & 63)) & 1) allowed.push_back(b);
      }
      if (allowed.empty()) break;
      rng = rng * 6364136223846793005ull + 1442695040888963407ull;
      const int byte = allowed[(rng >> 33) % allowed.size()];
      absl::StatusOr<int32_t> next = automaton.Next(*state, static_cast<uint8_t>(byte));
      if (!next.ok()) return 0;
      if (*next == ConstraintAutomaton::kDead) fuzz::Violated("mask allowed a dead byte", out);
      out.push_back(static_cast<char>(byte));
      state = next;
    }
    if (!automaton.Accepting(*state)) continue;
    if (!IsValidUtf8(out)) fuzz::Violated("accepted output is not valid UTF-8", out);
    if (schema && nlohmann::json::parse(out, nullptr, false).is_discarded()) {
      fuzz::Violated("accepted schema output is not JSON", out);
    }
  }
  return 0;
}
