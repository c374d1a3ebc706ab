#include "tools/cli/sampling_flags.h"

#include <cstdint>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace minimind::cli {
namespace {

constexpr const char* kFloatFlags[] = {
    "temperature", "top-p", "min-p", "repetition-penalty", "presence-penalty", "frequency-penalty"};

absl::StatusOr<int32_t> ToInt32(absl::string_view flag, int64_t value) {
  if (value < std::numeric_limits<int32_t>::min() || value > std::numeric_limits<int32_t>::max()) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, " is out of range: ", value));
  }
  return static_cast<int32_t>(value);
}

}  // namespace

void AddSamplingFlags(FlagSet& flags) {
  for (const char* name : kFloatFlags) flags.valued.push_back(name);
  for (const char* name : {"max-tokens", "top-k", "seed", "stop", "stop-token-id"}) {
    flags.valued.push_back(name);
  }
  flags.switches.push_back("ignore-eos");
}

absl::StatusOr<SamplingParams> SamplingParamsFrom(const CommandLine& command_line) {
  SamplingParams params;
  struct FloatField {
    const char* flag;
    float* field;
  };
  for (const FloatField field :
       {FloatField{"temperature", &params.temperature}, FloatField{"top-p", &params.top_p},
        FloatField{"min-p", &params.min_p},
        FloatField{"repetition-penalty", &params.repetition_penalty},
        FloatField{"presence-penalty", &params.presence_penalty},
        FloatField{"frequency-penalty", &params.frequency_penalty}}) {
    absl::StatusOr<double> value = command_line.DoubleOr(field.flag, *field.field);
    if (!value.ok()) return value.status();
    *field.field = static_cast<float>(*value);
  }
  absl::StatusOr<int64_t> top_k = command_line.IntOr("top-k", params.top_k);
  if (!top_k.ok()) return top_k.status();
  absl::StatusOr<int32_t> top_k32 = ToInt32("top-k", *top_k);
  if (!top_k32.ok()) return top_k32.status();
  params.top_k = *top_k32;

  absl::StatusOr<std::optional<int64_t>> max_tokens = command_line.OptionalInt("max-tokens");
  if (!max_tokens.ok()) return max_tokens.status();
  if (max_tokens->has_value()) {
    absl::StatusOr<int32_t> value = ToInt32("max-tokens", **max_tokens);
    if (!value.ok()) return value.status();
    params.max_tokens = *value;
  }
  if (const std::optional<std::string> seed = command_line.Value("seed"); seed.has_value()) {
    uint64_t value = 0;
    if (!absl::SimpleAtoi(*seed, &value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--seed must be an unsigned 64-bit integer, got \"", *seed, "\""));
    }
    params.seed = value;
  }
  params.stop = command_line.Values("stop");
  for (const std::string& text : command_line.Values("stop-token-id")) {
    int32_t id = 0;
    if (!absl::SimpleAtoi(text, &id)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--stop-token-id must be a token id, got \"", text, "\""));
    }
    params.stop_token_ids.push_back(id);
  }
  params.ignore_eos = command_line.Has("ignore-eos");
  if (absl::Status status = ValidateSamplingParams(params); !status.ok()) return status;
  return params;
}

}  // namespace minimind::cli
