// Test support for the constraint engine: a byte vocabulary and random walks through an
// automaton (strings the constraint allows, chosen byte by byte).
#ifndef MINIMIND_TESTS_ENGINE_CONSTRAIN_CONSTRAIN_TEST_SUPPORT_H_
#define MINIMIND_TESTS_ENGINE_CONSTRAIN_CONSTRAIN_TEST_SUPPORT_H_

#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

#include "engine/constrain/constraint.h"
#include "engine/constrain/constraint_automaton.h"
#include "engine/constrain/grammar.h"
#include "engine/constrain/token_vocabulary.h"

namespace minimind::testing {

// Every single byte as a token (ids 0..255), then `extra` multi-byte tokens.
inline std::shared_ptr<const TokenVocabulary> ByteVocabulary(std::vector<std::string> extra = {}) {
  std::vector<std::string> bytes;
  for (int b = 0; b < 256; ++b) bytes.push_back(std::string(1, static_cast<char>(b)));
  for (std::string& token : extra) bytes.push_back(std::move(token));
  const int64_t size = static_cast<int64_t>(bytes.size());
  return std::make_shared<const TokenVocabulary>(std::move(bytes), size);
}

// The automaton of `spec` over ByteVocabulary() (null, with a test failure, when it does not
// compile).
inline std::unique_ptr<ConstraintAutomaton> ByteAutomaton(const ConstraintSpec& spec) {
  absl::StatusOr<Grammar> grammar = CompileConstraintGrammar(spec, ConstraintLimits{});
  EXPECT_TRUE(grammar.ok()) << spec.text << ": " << grammar.status();
  if (!grammar.ok()) return nullptr;
  return std::make_unique<ConstraintAutomaton>(*std::move(grammar), ByteVocabulary(),
                                               ConstraintLimits{});
}

// A random string the automaton accepts, chosen byte by byte: at each step stop (if accepting)
// with probability `stop`, else take a random allowed byte. Gives up (returns nullopt-like false)
// after max_bytes.
inline bool RandomAccepted(ConstraintAutomaton& automaton, std::mt19937_64& rng, double stop,
                           int max_bytes, std::string& out) {
  out.clear();
  absl::StatusOr<int32_t> state = automaton.Start();
  if (!state.ok()) return false;
  for (int i = 0; i < max_bytes; ++i) {
    const bool accepting = automaton.Accepting(*state);
    if (automaton.Complete(*state)) return true;
    if (accepting && std::uniform_real_distribution<double>(0, 1)(rng) < stop) return true;
    std::vector<std::pair<uint8_t, int32_t>> allowed;
    for (int b = 0; b < 256; ++b) {
      absl::StatusOr<int32_t> next = automaton.Next(*state, static_cast<uint8_t>(b));
      if (!next.ok()) return false;
      if (*next != ConstraintAutomaton::kDead) allowed.emplace_back(b, *next);
    }
    if (allowed.empty()) return accepting;
    const auto& [byte, next] = allowed[rng() % allowed.size()];
    out.push_back(static_cast<char>(byte));
    *state = next;
  }
  return false;
}

// Whether the automaton accepts exactly `text`.
inline bool Accepts(ConstraintAutomaton& automaton, const std::string& text) {
  absl::StatusOr<int32_t> state = automaton.Start();
  if (!state.ok()) return false;
  for (const char c : text) {
    state = automaton.Next(*state, static_cast<uint8_t>(c));
    if (!state.ok() || *state == ConstraintAutomaton::kDead) return false;
  }
  return automaton.Accepting(*state);
}

}  // namespace minimind::testing

#endif  // MINIMIND_TESTS_ENGINE_CONSTRAIN_CONSTRAIN_TEST_SUPPORT_H_
