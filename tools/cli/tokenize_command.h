// `minimind tokenize`: encode text to ids or decode ids to text with a model's tokenizer, so
// users can see exactly what the model receives.
#ifndef MINIMIND_TOOLS_CLI_TOKENIZE_COMMAND_H_
#define MINIMIND_TOOLS_CLI_TOKENIZE_COMMAND_H_

#include <iosfwd>
#include <string>
#include <vector>

namespace minimind::cli {

inline constexpr char kTokenizeUsage[] =
    "minimind tokenize --model DIR [--text TEXT] [--no-special] [--tokens]\n"
    "minimind tokenize --model DIR --decode [--ids JSON] [--skip-special]\n"
    "  Encodes TEXT (or all of stdin, byte for byte) and prints the ids as a JSON array;\n"
    "  --no-special treats special-token text as plain text; --tokens prints each id with its\n"
    "  decoded piece. --decode reads a JSON array of ids (from --ids or stdin) and prints the\n"
    "  text; --skip-special drops special tokens.\n";

// Runs the subcommand; returns the process exit code. Errors go to `err`.
int RunTokenize(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                std::ostream& err);

}  // namespace minimind::cli

#endif  // MINIMIND_TOOLS_CLI_TOKENIZE_COMMAND_H_
