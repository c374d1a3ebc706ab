// `minimind score --model DIR`: how likely the model finds a text — per-token logprobs and the
// perplexity, as JSON. The evaluation tool, and our parity probe against reference
// implementations.
#ifndef MINIMIND_TOOLS_CLI_SCORE_COMMAND_H_
#define MINIMIND_TOOLS_CLI_SCORE_COMMAND_H_

#include <iosfwd>
#include <string>
#include <vector>

namespace minimind::cli {

inline constexpr char kScoreUsage[] =
    "minimind score --model PATH [--text TEXT | --ids JSON] [--no-special] [--top N]\n"
    "    [--chunk N] [--config FILE] [--tokenizer DIR] [--weight-dtype auto|f32|f16|bf16|int8]\n"
    "  Scores TEXT (or all of stdin), or the token ids of a JSON array, and prints JSON:\n"
    "  {\"tokens\": [{\"id\", \"text\", \"logprob\", \"top\"}...], \"scored_tokens\", "
    "\"sum_logprob\",\n"
    "  \"mean_logprob\", \"perplexity\"}. The first token has no logprob (null): nothing predicts "
    "it;\n"
    "  perplexity = exp(-mean logprob) over the others. --top N adds the N most likely\n"
    "  alternatives per position; --chunk N prefills N tokens per forward pass (default 512).\n";

int RunScore(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
             std::ostream& err);

}  // namespace minimind::cli

#endif  // MINIMIND_TOOLS_CLI_SCORE_COMMAND_H_
