// Structured output costs (issue 27): the per-token cost of a constraint on the engine thread, the
// cost of masking the logits, compile time per schema, and decode throughput with and without a
// constraint.
//
//   cmake --build build/release --target constraint_bench && cd build/release
//   bench/constraint_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// Vocabularies: 0 = MiniMind's real tokenizer (models/minimind-serve-tiny, 6,400 tokens); 1 = a
// random Qwen3-size vocabulary (151,936 tokens: the 256 single bytes, then random strings of 2-12
// bytes drawn like BPE merges, mostly ASCII letters and spaces, some punctuation and UTF-8).
//
// BM_TokenStep: 20 generations of up to 64 tokens through one compiled constraint (as a service
// sees one schema used again and again), each token chosen at random among the allowed ones; a
// step is Mask(state) (the allowed-token bitset; built on first use of a state, then cached) plus
// NextToken. Counters: the median and p99 step in microseconds over all steps, the p99 of the
// first generation alone, and the trie nodes the steps walked (masks the compile had not made).
// ahead=1: compiled as the server compiles (masks precomputed within
// ConstraintLimits::precompute_trie_nodes); ahead=0: every mask made on first use.
// BM_ApplyMask: Sampler::Sample with and without a mask on one row of logits (the masking adds
// the difference).
// BM_Compile: a constraint (the schema, or json_object) compiled to its automaton from nothing:
// with its first mask only (ahead=0), or with the masks computed ahead as the server compiles
// (ahead=1). Counters: DFA states made, trie nodes walked, the memory the automaton holds.
// BM_Decode: the MiniMind2-Small shape (random weights, MiniMind's tokenizer), 128 new tokens per
// request at batch 1 and 32, with no constraint or a JSON Schema one; items/s = output tokens/s.
#include <algorithm>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/engine_bench_support.h"
#include "benchmark/benchmark.h"
#include "engine/constrain/constraint.h"
#include "engine/model/model_bundle.h"
#include "engine/model/random_checkpoint.h"
#include "engine/runtime/usable_cpus.h"
#include "engine/sampling/sampler.h"
#include "engine/scheduler/engine.h"
#include "engine/tokenizer/tokenizer.h"

namespace minimind {
namespace {

std::filesystem::path ShippedModel() {
  return std::filesystem::path(MINIMIND_TEST_DATA_DIR).parent_path().parent_path() / "models" /
         "minimind-serve-tiny";
}

const Tokenizer& MiniMindTokenizer() {
  static const Tokenizer* tokenizer = [] {
    absl::StatusOr<Tokenizer> loaded =
        Tokenizer::FromFile((ShippedModel() / "tokenizer.json").string());
    if (!loaded.ok()) std::abort();
    return new Tokenizer(*std::move(loaded));
  }();
  return *tokenizer;
}

std::shared_ptr<const TokenVocabulary> Vocabulary(int64_t which) {
  static std::shared_ptr<const TokenVocabulary> vocabularies[2];
  if (vocabularies[which] != nullptr) return vocabularies[which];
  if (which == 0) {
    vocabularies[0] = std::make_shared<const TokenVocabulary>(
        TokenVocabulary::FromTokenizer(MiniMindTokenizer(), MiniMindTokenizer().vocab_size()));
  } else {
    constexpr int64_t kSize = 151936;
    std::mt19937_64 rng(151936);
    const std::string letters = "etaoinshrdlucmfwypvbgkqjxz ETAOINSHRDLU";
    const std::string punctuation = "{}[]\":,.-_0123456789\n\t";
    const std::string utf8[] = {"\xc3\xa9", "\xe4\xbd\xa0", "\xe7\x9a\x84", "\xc3\xbc"};
    std::vector<std::string> bytes;
    for (int b = 0; b < 256; ++b) bytes.push_back(std::string(1, static_cast<char>(b)));
    while (static_cast<int64_t>(bytes.size()) < kSize) {
      const int length = 2 + static_cast<int>(rng() % 11);
      std::string token;
      while (static_cast<int>(token.size()) < length) {
        const uint64_t pick = rng() % 100;
        if (pick < 80) {
          token += letters[rng() % letters.size()];
        } else if (pick < 95) {
          token += punctuation[rng() % punctuation.size()];
        } else {
          token += utf8[rng() % 4];
        }
      }
      bytes.push_back(std::move(token));
    }
    vocabularies[1] = std::make_shared<const TokenVocabulary>(std::move(bytes), kSize);
  }
  return vocabularies[which];
}

const char* kSchema = R"({"type":"object","properties":{
  "answer":{"type":"string","maxLength":200},"confidence":{"type":"number"},
  "tags":{"type":"array","items":{"enum":["cat","dog","fish"]},"maxItems":4},
  "source":{"type":"object","properties":{"url":{"type":"string"},"year":{"type":"integer"}},
            "required":["url"]}},
  "required":["answer","confidence","tags","source"]})";

ConstraintSpec Spec(int64_t kind) {
  if (kind == 0) return {ConstraintKind::kJsonSchema, kSchema, {}};
  return {ConstraintKind::kJsonObject, "", {}};
}

// ahead = 0: no masks computed ahead at compile time.
ConstraintLimits Limits(int64_t ahead) {
  ConstraintLimits limits;
  if (ahead == 0) limits.precompute_trie_nodes = 0;
  return limits;
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, static_cast<size_t>(p * values.size()))];
}

void BM_TokenStep(benchmark::State& state) {
  const std::shared_ptr<const TokenVocabulary> vocabulary = Vocabulary(state.range(0));
  std::vector<double> steps, first;
  int64_t walked = 0;
  for (auto _ : state) {
    steps.clear();
    first.clear();
    ConstraintCompiler compiler(vocabulary, Limits(state.range(2)));
    std::shared_ptr<ConstraintAutomaton> automaton = *compiler.Compile(Spec(state.range(1)));
    const int64_t walked_at_compile = automaton->walked_trie_nodes();
    std::mt19937_64 rng(5);
    for (int generation = 0; generation < 20; ++generation) {
      int32_t at = *automaton->Start();
      for (int token = 0; token < 64 && !automaton->Complete(at); ++token) {
        const absl::Time start = absl::Now();
        std::shared_ptr<const TokenMaskWords> mask = *automaton->Mask(at);
        // A random allowed token (chosen outside the timed part).
        const absl::Duration masked = absl::Now() - start;
        std::vector<TokenId> allowed;
        for (size_t word = 0; word < mask->size(); ++word) {
          for (uint64_t bits = (*mask)[word]; bits != 0; bits &= bits - 1) {
            allowed.push_back(static_cast<TokenId>(word * 64 + __builtin_ctzll(bits)));
          }
        }
        if (allowed.empty()) break;
        const TokenId id = allowed[rng() % allowed.size()];
        const absl::Time advance = absl::Now();
        at = *automaton->NextToken(at, id);
        const double micros = absl::ToDoubleMicroseconds(masked + (absl::Now() - advance));
        steps.push_back(micros);
        if (generation == 0) first.push_back(micros);
      }
    }
    walked = automaton->walked_trie_nodes() - walked_at_compile;
  }
  state.counters["p50_us"] = Percentile(steps, 0.50);
  state.counters["p99_us"] = Percentile(steps, 0.99);
  state.counters["first_gen_p99_us"] = Percentile(first, 0.99);
  state.counters["steps"] = static_cast<double>(steps.size());
  state.counters["walked_nodes"] = static_cast<double>(walked);
}
BENCHMARK(BM_TokenStep)
    ->ArgNames({"vocab", "json_object", "ahead"})
    ->ArgsProduct({{0, 1}, {0, 1}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

void BM_ApplyMask(benchmark::State& state) {
  const std::shared_ptr<const TokenVocabulary> vocabulary = Vocabulary(state.range(0));
  ConstraintCompiler compiler(vocabulary, ConstraintLimits{});
  std::shared_ptr<ConstraintAutomaton> automaton = *compiler.Compile(Spec(0));
  // After `{"answer":"`: inside a string, most tokens allowed (the costlier case to mask).
  int32_t at = *automaton->Start();
  for (const char c : std::string(R"({"answer":")")) at = *automaton->Next(at, c);
  std::shared_ptr<const TokenMaskWords> words = *automaton->Mask(at);
  const TokenMask mask{absl::MakeConstSpan(*words), {}};
  std::vector<float> logits(vocabulary->vocab_size());
  std::mt19937_64 rng(1);
  for (float& logit : logits) logit = static_cast<float>(rng() % 1000) / 100.0f;
  SamplingParams params;
  params.temperature = 0.0f;
  params.seed = 1;
  Sampler sampler = *Sampler::Create(params);
  SamplingWorkspace workspace;
  const bool masked = state.range(1) == 1;
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        sampler.Sample(logits, TokenHistory(), workspace, masked ? &mask : nullptr));
  }
}
BENCHMARK(BM_ApplyMask)
    ->ArgNames({"vocab", "masked"})
    ->ArgsProduct({{0, 1}, {0, 1}})
    ->Unit(benchmark::kMicrosecond);

void BM_Compile(benchmark::State& state) {
  const std::shared_ptr<const TokenVocabulary> vocabulary = Vocabulary(state.range(0));
  int64_t states = 0, walked = 0, held = 0;
  for (auto _ : state) {
    ConstraintCompiler compiler(vocabulary, Limits(state.range(2)));
    std::shared_ptr<ConstraintAutomaton> automaton = *compiler.Compile(Spec(state.range(1)));
    states = automaton->num_states();
    walked = automaton->walked_trie_nodes();
    held = automaton->held_bytes();
  }
  state.counters["states"] = static_cast<double>(states);
  state.counters["walked_nodes"] = static_cast<double>(walked);
  state.counters["held_MB"] = static_cast<double>(held) / 1e6;
}
BENCHMARK(BM_Compile)
    ->ArgNames({"vocab", "json_object", "ahead"})
    ->ArgsProduct({{0, 1}, {0, 1}, {0, 1}})
    ->Unit(benchmark::kMillisecond);

const ModelBundle& DecodeBundle() {
  static const ModelBundle* bundle = [] {
    const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                      absl::StrCat("minimind_constraint_bench_", getpid());
    std::filesystem::create_directories(dir);
    for (const char* file : {"tokenizer.json", "tokenizer_config.json"}) {
      std::filesystem::copy_file(ShippedModel() / file, dir / file,
                                 std::filesystem::copy_options::overwrite_existing);
    }
    RandomCheckpointOptions options = MiniMind2SmallShape();
    options.vocab_size = 6400;
    options.seed = 1;
    if (!WriteRandomCheckpoint(options, dir.string()).ok()) std::abort();
    absl::StatusOr<ModelBundle> loaded = LoadModelBundle({.model_path = dir.string()});
    if (!loaded.ok()) std::abort();
    std::filesystem::remove_all(dir);
    return new ModelBundle(*std::move(loaded));
  }();
  return *bundle;
}

void BM_Decode(benchmark::State& state) {
  const int64_t batch = state.range(0);
  const bool constrained = state.range(1) == 1;
  EngineOptions options;
  options.kv.memory_bytes = int64_t{512} << 20;
  options.forward_threads = UsableCpuCount();
  options.eos_token_ids = DecodeBundle().eos_token_ids;
  std::unique_ptr<Engine> engine =
      *Engine::Create(DecodeBundle().model, DecodeBundle().tokenizer, options);
  std::shared_ptr<ConstraintAutomaton> constraint;
  if (constrained) constraint = *engine->CompileConstraint(Spec(0));
  int64_t tokens = 0, iteration = 0;
  for (auto _ : state) {
    std::vector<std::shared_ptr<bench::ResultSink>> sinks;
    for (int64_t i = 0; i < batch; ++i) {
      GenerationRequest request;
      request.request_id = absl::StrCat("d", iteration, "-", i);
      request.prompt_tokens = bench::Prompt(i + 1, 16);
      request.params.temperature = 1.0f;
      request.params.seed = static_cast<uint64_t>(i + 1);
      request.params.max_tokens = 128;
      request.params.ignore_eos = true;
      request.use_prefix_cache = false;
      request.constraint = constraint;
      sinks.push_back(std::make_shared<bench::ResultSink>());
      if (!engine->Submit(std::move(request), sinks.back()).ok()) std::abort();
    }
    for (const auto& sink : sinks) tokens += sink->Wait().completion_tokens;
    ++iteration;
  }
  state.SetItemsProcessed(tokens);
  state.counters["tokens_per_request"] =
      static_cast<double>(tokens) / static_cast<double>(iteration * batch);
}
BENCHMARK(BM_Decode)
    ->ArgNames({"batch", "constrained"})
    ->ArgsProduct({{1, 32}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace minimind
