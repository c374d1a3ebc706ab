#include "tools/cli/tokenize_command.h"

#include <iostream>
#include <iterator>

#include "engine/tokenizer/tokenizer.h"
#include "nlohmann/json.hpp"
#include "tools/cli/cli_input.h"
#include "tools/cli/command_line.h"

namespace minimind::cli {
namespace {

int Encode(const Tokenizer& tokenizer, const CommandLine& command_line, std::istream& in,
           std::ostream& out, std::ostream& err) {
  const std::string text = command_line.Value("text").value_or(ReadAll(in));
  auto ids = tokenizer.Encode(text, /*parse_special=*/!command_line.Has("no-special"));
  if (!ids.ok()) {
    err << "error: " << ids.status().message() << "\n";
    return 1;
  }
  nlohmann::json result = nlohmann::json::array();
  for (const TokenId id : *ids) {
    if (command_line.Has("tokens")) {
      // Each piece alone may be a fragment of a character; show it decoded lossily.
      result.push_back({{"id", id}, {"piece", *tokenizer.Decode({id})}});
    } else {
      result.push_back(id);
    }
  }
  out << result.dump(-1, ' ', /*ensure_ascii=*/false) << "\n";
  return 0;
}

int Decode(const Tokenizer& tokenizer, const CommandLine& command_line, std::istream& in,
           std::ostream& out, std::ostream& err) {
  const std::string input = command_line.Value("ids").value_or(ReadAll(in));
  absl::StatusOr<std::vector<TokenId>> ids = ParseTokenIdsJson(input, "--decode");
  if (!ids.ok()) {
    err << "error: " << ids.status().message() << "\n";
    return 1;
  }
  auto text = tokenizer.Decode(*ids, command_line.Has("skip-special"));
  if (!text.ok()) {
    err << "error: " << text.status().message() << "\n";
    return 1;
  }
  out << *text;
  return 0;
}

}  // namespace

int RunTokenize(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                std::ostream& err) {
  auto command_line =
      CommandLine::Parse(args, {.valued = {"model", "text", "ids"},
                                .switches = {"decode", "no-special", "skip-special", "tokens"}});
  if (!command_line.ok()) {
    err << "error: " << command_line.status().message() << "\n" << kTokenizeUsage;
    return 2;
  }
  const auto model = command_line->Value("model");
  if (!model.has_value()) {
    err << "error: --model is required\n" << kTokenizeUsage;
    return 2;
  }
  auto tokenizer = Tokenizer::FromFile(*model);
  if (!tokenizer.ok()) {
    err << "error: " << tokenizer.status().message() << "\n";
    return 1;
  }
  return command_line->Has("decode") ? Decode(*tokenizer, *command_line, in, out, err)
                                     : Encode(*tokenizer, *command_line, in, out, err);
}

}  // namespace minimind::cli
