// A GenerateRequest off the wire: the lenient parser (proto/lenient_parse.h) on arbitrary bytes,
// then request conversion — sampling params, chat messages and the prompt tokens the service
// would build with the shipped model's tokenizer and template. Errors are fine; crashes are not.
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "engine/tokenizer/chat_template.h"
#include "engine/tokenizer/tokenizer.h"
#include "fuzz/fuzz_support.h"
#include "minimind/v1/inference.pb.h"
#include "proto/lenient_parse.h"
#include "service/request_conversion.h"

namespace {

struct Shipped {
  minimind::Tokenizer tokenizer;
  minimind::ChatTemplate chat_template;
};

const Shipped& Load() {
  static const Shipped* shipped = [] {
    const std::string dir = minimind::fuzz::ModelDir();
    absl::StatusOr<minimind::Tokenizer> tokenizer =
        minimind::Tokenizer::FromFile(dir + "/tokenizer.json");
    absl::StatusOr<minimind::ChatTemplate> chat_template =
        minimind::ChatTemplate::FromModelDir(dir);
    if (!tokenizer.ok() || !chat_template.ok()) minimind::fuzz::Violated("load", dir);
    return new Shipped{*std::move(tokenizer), *std::move(chat_template)};
  }();
  return *shipped;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Shipped& shipped = Load();
  static const minimind::PromptBuilder* prompts =
      new minimind::PromptBuilder(shipped.tokenizer, &shipped.chat_template, {});
  minimind::v1::GenerateRequest request;
  if (!minimind::ParseLenientFromString(
           absl::string_view(reinterpret_cast<const char*>(data), size), request)
           .ok()) {
    return 0;
  }
  if (minimind::RequestParseError(request).has_value()) return 0;
  (void)minimind::SamplingParamsFromProto(request, prompts->limits());
  (void)prompts->Build(request);
  // Truncation on a small context: every drop-point search ends in a prompt or a clear error.
  const minimind::ContextBudget budget{64, 8, /*truncate=*/true};
  (void)prompts->BuildTurn("system", {}, 0, {}, request, budget);
  (void)prompts->BuildTruncated(request, budget);
  return 0;
}
