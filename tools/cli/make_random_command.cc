#include "tools/cli/make_random_command.h"

#include <filesystem>
#include <iostream>

#include "engine/model/random_checkpoint.h"
#include "engine/tokenizer/byte_tokenizer_files.h"
#include "tools/cli/command_line.h"

namespace minimind::cli {
namespace {

absl::StatusOr<RandomCheckpointOptions> OptionsFrom(const CommandLine& command_line) {
  RandomCheckpointOptions options;
  options.dtype = DType::kBF16;
  const std::string arch = command_line.Value("arch").value_or("qwen3");
  if (arch == "qwen3") {
    options.architecture = Architecture::kQwen3;
  } else if (arch == "llama") {
    options.architecture = Architecture::kLlama;
  } else if (arch == "qwen3_moe") {
    options.architecture = Architecture::kQwen3Moe;
    options.num_experts = 4;
    options.experts_per_token = 1;
  } else if (arch == "minimind") {
    options.architecture = Architecture::kMiniMind;
    options.head_dim = 0;  // Derived from hidden / heads below.
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--arch must be qwen3, llama, qwen3_moe or minimind, got \"", arch, "\""));
  }
  const std::string dtype = command_line.Value("dtype").value_or("bf16");
  if (dtype == "f32") {
    options.dtype = DType::kF32;
  } else if (dtype == "f16") {
    options.dtype = DType::kF16;
  } else if (dtype != "bf16") {
    return absl::InvalidArgumentError(
        absl::StrCat("--dtype must be f32, f16 or bf16, got \"", dtype, "\""));
  }
  struct IntFlag {
    const char* name;
    int64_t* field;
  };
  for (const IntFlag flag :
       {IntFlag{"hidden-size", &options.hidden_size}, IntFlag{"layers", &options.num_layers},
        IntFlag{"heads", &options.num_heads}, IntFlag{"kv-heads", &options.num_kv_heads},
        IntFlag{"head-dim", &options.head_dim},
        IntFlag{"intermediate-size", &options.intermediate_size},
        IntFlag{"experts", &options.num_experts},
        IntFlag{"experts-per-token", &options.experts_per_token}}) {
    auto value = command_line.IntOr(flag.name, *flag.field);
    if (!value.ok()) return value.status();
    *flag.field = *value;
  }
  if (options.architecture == Architecture::kMiniMind && options.num_heads > 0) {
    options.head_dim = options.hidden_size / options.num_heads;
  }
  auto seed = command_line.IntOr("seed", 0);
  if (!seed.ok()) return seed.status();
  options.seed = static_cast<uint64_t>(*seed);
  return options;
}

}  // namespace

int RunMakeRandom(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  auto command_line = CommandLine::Parse(
      args,
      {.valued = {"out", "arch", "dtype", "seed", "hidden-size", "layers", "heads", "kv-heads",
                  "head-dim", "intermediate-size", "experts", "experts-per-token", "vocab-size"}});
  if (!command_line.ok()) {
    err << "error: " << command_line.status().message() << "\n" << kMakeRandomUsage;
    return 2;
  }
  const auto out_dir = command_line->Value("out");
  if (!out_dir.has_value()) {
    err << "error: --out is required\n" << kMakeRandomUsage;
    return 2;
  }
  auto options = OptionsFrom(*command_line);
  if (!options.ok()) {
    err << "error: " << options.status().message() << "\n";
    return 2;
  }
  std::error_code error;
  std::filesystem::create_directories(*out_dir, error);
  if (error) {
    err << "error: cannot create " << *out_dir << ": " << error.message() << "\n";
    return 1;
  }
  auto vocab_size = WriteByteTokenizerFiles(*out_dir);
  if (!vocab_size.ok()) {
    err << "error: " << vocab_size.status().message() << "\n";
    return 1;
  }
  // The model may have more rows than the tokenizer has tokens (as real checkpoints pad theirs),
  // e.g. to measure MiniMind's 6,400-token shape.
  auto model_vocab_size = command_line->IntOr("vocab-size", *vocab_size);
  if (!model_vocab_size.ok() || *model_vocab_size < *vocab_size) {
    err << "error: --vocab-size must be an integer ≥ " << *vocab_size
        << " (the byte-level tokenizer's size)\n";
    return 2;
  }
  options->vocab_size = *model_vocab_size;
  if (absl::Status status = WriteRandomCheckpoint(*options, *out_dir); !status.ok()) {
    err << "error: " << status.message() << "\n";
    return 1;
  }
  out << "wrote a random " << ArchitectureName(options->architecture) << " model to " << *out_dir
      << "\n";
  return 0;
}

}  // namespace minimind::cli
