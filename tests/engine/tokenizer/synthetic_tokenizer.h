// A small byte-level BPE tokenizer.json built in code, so tokenizer tests run without the MiniMind
// fixtures: the 256 byte symbols, merges for "he", "ll", "hell", "hello" and " world" pieces, and
// added tokens <|end|> (special) and <tool> (not special).
#ifndef MINIMIND_TESTS_ENGINE_TOKENIZER_SYNTHETIC_TOKENIZER_H_
#define MINIMIND_TESTS_ENGINE_TOKENIZER_SYNTHETIC_TOKENIZER_H_

#include <string>
#include <utility>
#include <vector>

#include "engine/tokenizer/byte_level.h"
#include "nlohmann/json.hpp"

namespace minimind::testing {

// `merges_as_strings` selects the legacy "a b" form instead of ["a", "b"] pairs.
inline nlohmann::ordered_json SyntheticTokenizerJson(bool merges_as_strings = false) {
  ByteLevelAlphabet alphabet;
  nlohmann::ordered_json vocab = nlohmann::ordered_json::object();
  int next_id = 0;
  vocab["<|end|>"] = next_id++;
  vocab["<tool>"] = next_id++;
  for (int byte = 0; byte < 256; ++byte) {
    vocab[std::string(alphabet.SymbolOf(static_cast<uint8_t>(byte)))] = next_id++;
  }
  const std::string space(alphabet.SymbolOf(' '));
  const std::vector<std::pair<std::string, std::string>> merges = {
      {"h", "e"}, {"l", "l"}, {"he", "ll"}, {"hell", "o"}, {space, "w"},
      {"o", "r"}, {space + "w", "or"}, {"l", "d"}, {space + "wor", "ld"}};
  nlohmann::ordered_json merge_list = nlohmann::ordered_json::array();
  for (const auto& [left, right] : merges) {
    vocab[left + right] = next_id++;
    if (merges_as_strings) {
      merge_list.push_back(left + " " + right);
    } else {
      merge_list.push_back({left, right});
    }
  }
  nlohmann::ordered_json added = nlohmann::ordered_json::array();
  added.push_back({{"id", 0}, {"content", "<|end|>"}, {"special", true}});
  added.push_back({{"id", 1}, {"content", "<tool>"}, {"special", false}});
  return {
      {"version", "1.0"},
      {"added_tokens", added},
      {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
      {"post_processor", nullptr},
      {"decoder", {{"type", "ByteLevel"}}},
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merge_list}}},
  };
}

}  // namespace minimind::testing

#endif  // MINIMIND_TESTS_ENGINE_TOKENIZER_SYNTHETIC_TOKENIZER_H_
