// `minimind generate --model DIR`: runs one generation on a local model and streams its text to
// stdout as tokens arrive; the timing summary (prefill and decode tok/s) goes to stderr.
#ifndef MINIMIND_TOOLS_CLI_GENERATE_COMMAND_H_
#define MINIMIND_TOOLS_CLI_GENERATE_COMMAND_H_

#include <iosfwd>
#include <string>
#include <vector>

namespace minimind::cli {

inline constexpr char kGenerateUsage[] =
    "minimind generate --model PATH [--prompt TEXT] [--chat [--system TEXT] [--thinking on|off]]\n"
    "    [--config FILE] [--tokenizer DIR] [--weight-dtype auto|f32|f16|bf16|int8]\n"
    "    [sampling flags]\n"
    "  Generates from TEXT (or all of stdin) and streams the text to stdout. --chat renders the\n"
    "  prompt as one user message with the model's chat template. PATH is a model directory, a\n"
    "  .safetensors file or a MiniMind .pth file (give its config.json with --config).\n"
    "  --weight-dtype converts the matmul weights at load (default auto: as stored).\n"
    "  --max-tokens defaults to 256 here. Without --seed a random seed is used and printed, so\n"
    "  any run can be replayed. Prints prompt/completion tokens and prefill/decode tok/s to "
    "stderr.\n";

// Runs the subcommand; returns the process exit code. Errors and the summary go to `err`.
int RunGenerate(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                std::ostream& err);

}  // namespace minimind::cli

#endif  // MINIMIND_TOOLS_CLI_GENERATE_COMMAND_H_
