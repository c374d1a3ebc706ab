// Tokenizer throughput on mixed Chinese/English text (tests/data/tokenizer/bench_mixed.txt, the
// same file tools/oracle/hf_encode_throughput.mjs feeds to Hugging Face tokenizers), one thread.
//   build/release/bench/tokenizer_bench --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true   (one command line)
// Reads MiniMind's tokenizers from $MINIMIND_FIXTURES (default ../shared/fixtures).
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "benchmark/benchmark.h"
#include "engine/tokenizer/streaming_detokenizer.h"
#include "engine/tokenizer/tokenizer.h"

namespace minimind {
namespace {

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream stream(path, std::ios::binary);
  std::ostringstream contents;
  contents << stream.rdbuf();
  return contents.str();
}

std::filesystem::path FixturesDir() {
  const char* overridden = std::getenv("MINIMIND_FIXTURES");
  return overridden && *overridden ? overridden : MINIMIND_DEFAULT_FIXTURES_DIR;
}

void BM_Encode(benchmark::State& state, const char* vocabulary) {
  auto tokenizer = Tokenizer::FromFile((FixturesDir() / vocabulary).string());
  if (!tokenizer.ok()) {
    state.SkipWithError(std::string(tokenizer.status().message()).c_str());
    return;
  }
  const std::string text =
      ReadFile(std::filesystem::path(MINIMIND_TEST_DATA_DIR) / "tokenizer" / "bench_mixed.txt");
  size_t tokens = 0;
  for (auto _ : state) {
    auto ids = tokenizer->Encode(text);
    tokens = ids->size();
    benchmark::DoNotOptimize(ids);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["tokens"] = static_cast<double>(tokens);
}
BENCHMARK_CAPTURE(BM_Encode, minimind3, "minimind-3")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Encode, minimind2, "minimind2")->Unit(benchmark::kMillisecond);

void BM_StreamingDecode(benchmark::State& state) {
  auto tokenizer = Tokenizer::FromFile((FixturesDir() / "minimind-3").string());
  if (!tokenizer.ok()) {
    state.SkipWithError(std::string(tokenizer.status().message()).c_str());
    return;
  }
  const std::string text =
      ReadFile(std::filesystem::path(MINIMIND_TEST_DATA_DIR) / "tokenizer" / "bench_mixed.txt");
  const std::vector<TokenId> ids = *tokenizer->Encode(text);
  for (auto _ : state) {
    StreamingDetokenizer stream(*tokenizer, /*skip_special=*/false);
    size_t bytes = 0;
    for (const TokenId id : ids) bytes += stream.Add(id)->size();
    benchmark::DoNotOptimize(bytes);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * ids.size()));
}
BENCHMARK(BM_StreamingDecode)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace minimind
