#include "tools/cli/generate_command.h"

#include <chrono>
#include <iostream>
#include <iterator>
#include <optional>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/model/contiguous_kv_sequence.h"
#include "engine/model/forward.h"
#include "engine/sampling/sampler.h"
#include "engine/sampling/stop_checker.h"
#include "engine/sampling/token_history.h"
#include "tools/cli/cli_input.h"
#include "tools/cli/command_line.h"
#include "tools/cli/local_model_flags.h"
#include "tools/cli/sampling_flags.h"

namespace minimind::cli {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int32_t kDefaultMaxTokens = 256;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The prompt's token ids: the text as is, or rendered as one user turn with the chat template.
absl::StatusOr<std::vector<TokenId>> EncodePrompt(const ModelBundle& bundle,
                                                  const CommandLine& command_line,
                                                  const std::string& text, std::ostream& err) {
  if (!command_line.Has("chat")) return bundle.tokenizer.Encode(text, /*parse_special=*/true);
  if (!bundle.chat_template.has_value()) {
    return absl::FailedPreconditionError(absl::StrCat("--chat needs a chat template, and ",
                                                      bundle.tokenizer_dir,
                                                      " has no tokenizer_config.json"));
  }
  if (!bundle.chat_template->warning().empty()) {
    err << "warning: " << bundle.chat_template->warning() << "\n";
  }
  std::vector<ChatMessage> messages;
  if (const auto system = command_line.Value("system"); system.has_value()) {
    messages.push_back({.role = "system", .content = *system});
  }
  messages.push_back({.role = "user", .content = text});
  ChatRenderOptions options;
  if (const auto thinking = command_line.Value("thinking"); thinking.has_value()) {
    if (*thinking != "on" && *thinking != "off") {
      return absl::InvalidArgumentError(
          absl::StrCat("--thinking must be on or off, got \"", *thinking, "\""));
    }
    options.enable_thinking = *thinking == "on";
  }
  absl::StatusOr<std::string> rendered = bundle.chat_template->Render(messages, options);
  if (!rendered.ok()) return rendered.status();
  return bundle.tokenizer.Encode(*rendered, /*parse_special=*/true);
}

struct GenerationSummary {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  double prefill_seconds = 0;  // The prompt's forward pass.
  double decode_seconds = 0;   // From the first sampled token to the last.
  FinishReason finish_reason = FinishReason::kLength;
};

// Prefills `prompt`, then samples and decodes one token at a time until the stop checker (or
// the context length) ends the generation, writing each text delta to `out` as it comes.
absl::StatusOr<GenerationSummary> Generate(const ModelBundle& bundle,
                                           const std::vector<TokenId>& prompt,
                                           const SamplingParams& params, std::ostream& out) {
  absl::StatusOr<ModelRunner> runner = ModelRunner::Create(bundle.model);
  if (!runner.ok()) return runner.status();
  absl::StatusOr<Sampler> sampler = Sampler::Create(params);
  if (!sampler.ok()) return sampler.status();
  absl::StatusOr<StopChecker> stop_checker =
      StopChecker::Create(params, bundle.tokenizer, bundle.eos_token_ids);
  if (!stop_checker.ok()) return stop_checker.status();
  const int64_t context_length = bundle.model.config.max_position_embeddings;
  if (static_cast<int64_t>(prompt.size()) >= context_length) {
    return absl::InvalidArgumentError(absl::StrCat("the prompt has ", prompt.size(),
                                                   " tokens; the model's context holds ",
                                                   context_length, " with room for one more"));
  }

  ContiguousKvSequence kv(runner->kv_shape());
  TokenHistory history(prompt);
  SamplingWorkspace workspace;
  GenerationSummary summary{.prompt_tokens = static_cast<int64_t>(prompt.size())};

  const Clock::time_point prefill_start = Clock::now();
  absl::StatusOr<ForwardLogits> logits =
      runner->Forward({ForwardSequence{.tokens = prompt, .start_position = 0, .kv = &kv}});
  if (!logits.ok()) return logits.status();
  summary.prefill_seconds = SecondsSince(prefill_start);

  Clock::time_point first_token_time;
  int64_t position = static_cast<int64_t>(prompt.size());
  while (true) {
    absl::StatusOr<SampledToken> token = sampler->Sample(
        logits->Row(0, 0).subspan(0, bundle.sampling_vocab_size()), history, workspace);
    if (!token.ok()) return token.status();
    if (summary.completion_tokens == 0) first_token_time = Clock::now();
    ++summary.completion_tokens;
    history.AddOutput(token->id);
    absl::StatusOr<StopCheckResult> step = stop_checker->Add(token->id);
    if (!step.ok()) return step.status();
    out << step->text << std::flush;
    if (step->finish_reason.has_value()) {
      summary.finish_reason = *step->finish_reason;
      break;
    }
    if (position + 1 >= context_length) {  // No room to feed the token back: the context is full.
      out << stop_checker->Finish() << std::flush;
      summary.finish_reason = FinishReason::kLength;
      break;
    }
    const TokenId next[] = {token->id};
    logits =
        runner->Forward({ForwardSequence{.tokens = next, .start_position = position, .kv = &kv}});
    if (!logits.ok()) return logits.status();
    ++position;
  }
  summary.decode_seconds = SecondsSince(first_token_time);
  return summary;
}

double PerSecond(int64_t count, double seconds) { return seconds > 0 ? count / seconds : 0.0; }

}  // namespace

int RunGenerate(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                std::ostream& err) {
  FlagSet flags{.valued = {"prompt", "system", "thinking"}, .switches = {"chat"}};
  AddLocalModelFlags(flags);
  AddSamplingFlags(flags);
  absl::StatusOr<CommandLine> command_line = CommandLine::Parse(args, flags);
  if (!command_line.ok()) {
    err << "error: " << command_line.status().message() << "\n" << kGenerateUsage;
    return 2;
  }
  absl::StatusOr<SamplingParams> params = SamplingParamsFrom(*command_line);
  if (!params.ok()) {
    err << "error: " << params.status().message() << "\n";
    return 2;
  }
  if (!params->max_tokens.has_value()) params->max_tokens = kDefaultMaxTokens;
  if (!params->seed.has_value()) {
    params->seed = (static_cast<uint64_t>(std::random_device{}()) << 32) | std::random_device{}();
    err << "seed: " << *params->seed << " (replay with --seed " << *params->seed << ")\n";
  }

  absl::StatusOr<ModelBundle> bundle = LoadLocalModel(*command_line);
  if (!bundle.ok()) {
    err << "error: " << bundle.status().message() << "\n";
    return 1;
  }
  const std::string text = command_line->Value("prompt").value_or(ReadAll(in));
  absl::StatusOr<std::vector<TokenId>> prompt = EncodePrompt(*bundle, *command_line, text, err);
  if (prompt.ok() && prompt->empty()) prompt = absl::InvalidArgumentError("the prompt is empty");
  if (!prompt.ok()) {
    err << "error: " << prompt.status().message() << "\n";
    return 1;
  }
  absl::StatusOr<GenerationSummary> summary = Generate(*bundle, *prompt, *params, out);
  out << "\n" << std::flush;
  if (!summary.ok()) {
    err << "error: " << summary.status().message() << "\n";
    return 1;
  }
  err << absl::StrFormat(
      "finish: %s; prompt %d tokens, prefill %.1f tok/s (%.3f s); completion %d tokens, "
      "decode %.1f tok/s (%.3f s)\n",
      FinishReasonName(summary->finish_reason), summary->prompt_tokens,
      PerSecond(summary->prompt_tokens, summary->prefill_seconds), summary->prefill_seconds,
      summary->completion_tokens,
      PerSecond(summary->completion_tokens - 1, summary->decode_seconds), summary->decode_seconds);
  return 0;
}

}  // namespace minimind::cli
