// `minimind`: the command-line tool. Each subcommand lives in its own *_command.cc.
#include <iostream>
#include <string>
#include <vector>

#include "tools/cli/chat_command.h"
#include "tools/cli/generate_command.h"
#include "tools/cli/load_bench_command.h"
#include "tools/cli/make_random_command.h"
#include "tools/cli/remote_channel.h"
#include "tools/cli/remote_generate_command.h"
#include "tools/cli/score_command.h"
#include "tools/cli/tokenize_command.h"

namespace {

constexpr char kUsage[] =
    "usage: minimind <command> [flags]\n"
    "commands:\n"
    "  generate     generate text with a local model (--model) or a server (--target)\n"
    "  chat         interactive chat with a server (--target), in a server session\n"
    "  bench        load-test a server (--target): throughput, TTFT/TPOT p50/p99\n"
    "  score        per-token logprobs and perplexity of a text, as JSON\n"
    "  tokenize     encode text to token ids, or decode ids to text\n"
    "  make-random  write a small deterministic random model (the default demo model)\n"
    "  help         show this message\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string command = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  if (command == "tokenize")
    return minimind::cli::RunTokenize(args, std::cin, std::cout, std::cerr);
  if (command == "generate" && minimind::cli::HasTargetFlag(args))
    return minimind::cli::RunRemoteGenerate(args, std::cin, std::cout, std::cerr);
  if (command == "generate")
    return minimind::cli::RunGenerate(args, std::cin, std::cout, std::cerr);
  if (command == "chat") return minimind::cli::RunChat(args, std::cin, std::cout, std::cerr);
  if (command == "bench") return minimind::cli::RunLoadBench(args, std::cout, std::cerr);
  if (command == "score") return minimind::cli::RunScore(args, std::cin, std::cout, std::cerr);
  if (command == "make-random") return minimind::cli::RunMakeRandom(args, std::cout, std::cerr);
  if (command == "help" || command == "--help" || command == "-h") {
    std::cout << kUsage << "\n"
              << minimind::cli::kGenerateUsage << minimind::cli::kRemoteGenerateUsage
              << minimind::cli::kChatUsage << minimind::cli::kLoadBenchUsage
              << minimind::cli::kTlsFlagsUsage << minimind::cli::kScoreUsage
              << minimind::cli::kTokenizeUsage << minimind::cli::kMakeRandomUsage;
    return 0;
  }
  std::cerr << "unknown command \"" << command << "\"\n" << kUsage;
  return 2;
}
