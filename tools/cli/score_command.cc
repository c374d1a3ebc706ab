#include "tools/cli/score_command.h"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "engine/model/contiguous_kv_sequence.h"
#include "engine/model/forward.h"
#include "engine/sampling/prompt_logprobs.h"
#include "engine/sampling/sampling_params.h"
#include "nlohmann/json.hpp"
#include "tools/cli/cli_input.h"
#include "tools/cli/command_line.h"
#include "tools/cli/local_model_flags.h"

namespace minimind::cli {
namespace {

constexpr int64_t kDefaultChunk = 512;

// logprobs[i] scores tokens[i + 1]. Prefills `chunk` tokens per forward pass, each pass
// computing logits for all its positions; the final position predicts nothing and is skipped.
absl::StatusOr<std::vector<PromptTokenLogprobs>> ScoreTokens(const ModelBundle& bundle,
                                                             const std::vector<TokenId>& tokens,
                                                             int64_t chunk, int32_t top_count) {
  absl::StatusOr<ModelRunner> runner = ModelRunner::Create(bundle.model);
  if (!runner.ok()) return runner.status();
  const int64_t context_length = bundle.model.config.max_position_embeddings;
  if (static_cast<int64_t>(tokens.size()) > context_length) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the text has ", tokens.size(), " tokens; the model's context holds ", context_length));
  }
  const int32_t vocab_size = static_cast<int32_t>(bundle.model.config.vocab_size);
  ContiguousKvSequence kv(runner->kv_shape());
  std::vector<PromptTokenLogprobs> result;
  const int64_t num_tokens = static_cast<int64_t>(tokens.size());
  for (int64_t begin = 0; begin + 1 < num_tokens; begin += chunk) {
    const int64_t end = std::min(begin + chunk, num_tokens);
    const absl::Span<const TokenId> input = absl::MakeConstSpan(tokens).subspan(begin, end - begin);
    absl::StatusOr<ForwardLogits> logits = runner->Forward({ForwardSequence{
        .tokens = input, .start_position = begin, .kv = &kv, .logits = LogitsMode::kAllPositions}});
    if (!logits.ok()) return logits.status();
    // Rows predicting tokens[begin + 1, min(end + 1, num_tokens)).
    const int64_t rows = std::min(end + 1, num_tokens) - begin - 1;
    const absl::Span<const float> all_rows(logits->Row(0, 0).data(), rows * vocab_size);
    absl::StatusOr<std::vector<PromptTokenLogprobs>> scored = ComputePromptLogprobs(
        all_rows, vocab_size, absl::MakeConstSpan(tokens).subspan(begin, rows + 1), top_count);
    if (!scored.ok()) return scored.status();
    result.insert(result.end(), scored->begin(), scored->end());
  }
  return result;
}

nlohmann::ordered_json ToJson(const Tokenizer& tokenizer, const std::vector<TokenId>& tokens,
                              const std::vector<PromptTokenLogprobs>& logprobs) {
  auto piece = [&](TokenId id) -> nlohmann::ordered_json {
    absl::StatusOr<std::string> text = tokenizer.Decode({id});
    return text.ok() ? nlohmann::ordered_json(*text) : nlohmann::ordered_json(nullptr);
  };
  nlohmann::ordered_json entries = nlohmann::ordered_json::array();
  double sum = 0;
  for (size_t i = 0; i < tokens.size(); ++i) {
    nlohmann::ordered_json entry = {{"id", tokens[i]}, {"text", piece(tokens[i])}};
    if (i == 0) {
      entry["logprob"] = nullptr;
    } else {
      const PromptTokenLogprobs& scored = logprobs[i - 1];
      entry["logprob"] = scored.logprob;
      sum += scored.logprob;
      if (!scored.top.empty()) {
        nlohmann::ordered_json top = nlohmann::ordered_json::array();
        for (const TokenLogprob& alternative : scored.top) {
          top.push_back({{"id", alternative.id},
                         {"text", piece(alternative.id)},
                         {"logprob", alternative.logprob}});
        }
        entry["top"] = std::move(top);
      }
    }
    entries.push_back(std::move(entry));
  }
  const int64_t scored_tokens = static_cast<int64_t>(logprobs.size());
  nlohmann::ordered_json result = {{"tokens", std::move(entries)},
                                   {"scored_tokens", scored_tokens}};
  if (scored_tokens > 0) {
    const double mean = sum / static_cast<double>(scored_tokens);
    result["sum_logprob"] = sum;
    result["mean_logprob"] = mean;
    result["perplexity"] = std::exp(-mean);
  } else {
    result["sum_logprob"] = 0.0;
    result["mean_logprob"] = nullptr;
    result["perplexity"] = nullptr;
  }
  return result;
}

}  // namespace

int RunScore(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
             std::ostream& err) {
  FlagSet flags{.valued = {"text", "ids", "top", "chunk"}, .switches = {"no-special"}};
  AddLocalModelFlags(flags);
  absl::StatusOr<CommandLine> command_line = CommandLine::Parse(args, flags);
  if (!command_line.ok()) {
    err << "error: " << command_line.status().message() << "\n" << kScoreUsage;
    return 2;
  }
  absl::StatusOr<int64_t> top = command_line->IntOr("top", 0);
  absl::StatusOr<int64_t> chunk = command_line->IntOr("chunk", kDefaultChunk);
  absl::Status flag_status = top.ok() ? chunk.status() : top.status();
  if (flag_status.ok() && (*top < 0 || *top > kMaxTopLogprobs)) {
    flag_status = absl::InvalidArgumentError(
        absl::StrCat("--top must be in [0, ", kMaxTopLogprobs, "], got ", *top));
  }
  if (flag_status.ok() && *chunk < 1) {
    flag_status = absl::InvalidArgumentError(absl::StrCat("--chunk must be ≥ 1, got ", *chunk));
  }
  if (flag_status.ok() && command_line->Has("text") && command_line->Has("ids")) {
    flag_status = absl::InvalidArgumentError("give --text or --ids, not both");
  }
  if (!flag_status.ok()) {
    err << "error: " << flag_status.message() << "\n";
    return 2;
  }
  absl::StatusOr<ModelBundle> bundle = LoadLocalModel(*command_line);
  if (!bundle.ok()) {
    err << "error: " << bundle.status().message() << "\n";
    return 1;
  }
  absl::StatusOr<std::vector<TokenId>> tokens =
      command_line->Has("ids")
          ? ParseTokenIdsJson(*command_line->Value("ids"), "--ids")
          : bundle->tokenizer.Encode(command_line->Value("text").value_or(ReadAll(in)),
                                     /*parse_special=*/!command_line->Has("no-special"));
  if (tokens.ok() && tokens->empty()) tokens = absl::InvalidArgumentError("nothing to score");
  if (!tokens.ok()) {
    err << "error: " << tokens.status().message() << "\n";
    return 1;
  }
  absl::StatusOr<std::vector<PromptTokenLogprobs>> logprobs =
      ScoreTokens(*bundle, *tokens, *chunk, static_cast<int32_t>(*top));
  if (!logprobs.ok()) {
    err << "error: " << logprobs.status().message() << "\n";
    return 1;
  }
  out << ToJson(bundle->tokenizer, *tokens, *logprobs).dump(-1, ' ', /*ensure_ascii=*/false)
      << "\n";
  return 0;
}

}  // namespace minimind::cli
