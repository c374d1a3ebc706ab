// `minimind make-random`: writes a small deterministic random model in Hugging Face layout
// (config.json, model.safetensors, tokenizer.json, tokenizer_config.json) built only from files
// this project generates — the default model until the project ships a trained one.
#ifndef MINIMIND_TOOLS_CLI_MAKE_RANDOM_COMMAND_H_
#define MINIMIND_TOOLS_CLI_MAKE_RANDOM_COMMAND_H_

#include <iosfwd>
#include <string>
#include <vector>

namespace minimind::cli {

inline constexpr char kMakeRandomUsage[] =
    "minimind make-random --out DIR [--arch qwen3|llama|qwen3_moe|minimind] [--dtype "
    "f32|f16|bf16]\n"
    "    [--seed N] [--hidden-size N] [--layers N] [--heads N] [--kv-heads N] [--head-dim N]\n"
    "    [--intermediate-size N] [--experts N] [--experts-per-token N] [--vocab-size N]\n"
    "  Writes a random model (weights from a fixed-seed generator: same flags, same bytes) with a\n"
    "  byte-level tokenizer and a ChatML chat template. Defaults: qwen3, bf16, seed 0, hidden "
    "256,\n"
    "  4 layers, 8/2 heads, head_dim 32, intermediate 704, vocab 259 (the tokenizer's size;\n"
    "  --vocab-size pads the model's embedding beyond it).\n";

int RunMakeRandom(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace minimind::cli

#endif  // MINIMIND_TOOLS_CLI_MAKE_RANDOM_COMMAND_H_
