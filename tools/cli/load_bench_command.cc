#include "tools/cli/load_bench_command.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <iostream>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "absl/strings/str_format.h"
#include "grpcpp/client_context.h"
#include "minimind/v1/inference.grpc.pb.h"
#include "minimind/v1/models.grpc.pb.h"
#include "tools/cli/command_line.h"
#include "tools/cli/remote_channel.h"
#include "tools/cli/remote_generate_command.h"

namespace minimind::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct RequestSample {
  double ttft_seconds = 0;
  std::optional<double> tpot_seconds;  // needs at least two output tokens
  int64_t prompt_tokens = 0;
  int64_t output_tokens = 0;
};

struct BenchConfig {
  int64_t concurrency = 4;
  int64_t prompt_tokens = 128;
  int64_t max_tokens = 128;
  int64_t requests = 0;
  int64_t vocab = 0;
  uint64_t seed = 1;
  std::optional<double> temperature;  // unset: the server's default
};

// One streaming request; nullopt (and `error` set) if it failed.
std::optional<RequestSample> RunOne(minimind::v1::Inference::Stub& stub, const BenchConfig& config,
                                    std::mt19937_64& rng, std::string& error) {
  minimind::v1::GenerateRequest request;
  std::uniform_int_distribution<int32_t> token(0, static_cast<int32_t>(config.vocab - 1));
  for (int64_t i = 0; i < config.prompt_tokens; ++i) {
    request.mutable_token_ids()->add_ids(token(rng));
  }
  request.set_max_tokens(static_cast<int32_t>(config.max_tokens));
  request.set_ignore_eos(true);
  request.set_use_cache(false);
  if (config.temperature.has_value())
    request.set_temperature(static_cast<float>(*config.temperature));
  grpc::ClientContext context;
  const Clock::time_point start = Clock::now();
  auto reader = stub.Generate(&context, request);
  minimind::v1::GenerateResponse response;
  std::optional<Clock::time_point> first, last;
  RequestSample sample;
  while (reader->Read(&response)) {
    if (response.token_ids_size() > 0) {
      const Clock::time_point now = Clock::now();
      if (!first.has_value()) first = now;
      last = now;
      sample.output_tokens += response.token_ids_size();
    }
    if (response.has_usage()) sample.prompt_tokens = response.usage().prompt_tokens();
  }
  const grpc::Status status = reader->Finish();
  if (!status.ok()) {
    error = RpcErrorText(status);
    return std::nullopt;
  }
  if (!first.has_value()) {
    error = "the server sent no tokens";
    return std::nullopt;
  }
  sample.ttft_seconds = std::chrono::duration<double>(*first - start).count();
  if (sample.output_tokens > 1) {
    sample.tpot_seconds = std::chrono::duration<double>(*last - *first).count() /
                          static_cast<double>(sample.output_tokens - 1);
  }
  return sample;
}

absl::StatusOr<BenchConfig> ParseConfig(const CommandLine& command_line) {
  BenchConfig config;
  struct IntFlag {
    const char* name;
    int64_t* field;
    int64_t min;
  };
  for (const IntFlag flag :
       {IntFlag{"concurrency", &config.concurrency, 1},
        IntFlag{"prompt-tokens", &config.prompt_tokens, 1},
        IntFlag{"max-tokens", &config.max_tokens, 1}, IntFlag{"requests", &config.requests, 1},
        IntFlag{"vocab", &config.vocab, 1}}) {
    if (!command_line.Has(flag.name)) continue;
    absl::StatusOr<int64_t> value = command_line.IntOr(flag.name, 0);
    if (!value.ok()) return value.status();
    if (*value < flag.min) {
      return absl::InvalidArgumentError(
          absl::StrFormat("--%s must be at least %d, got %d", flag.name, flag.min, *value));
    }
    *flag.field = *value;
  }
  if (config.concurrency > 1024) {
    return absl::InvalidArgumentError("--concurrency is at most 1024");
  }
  if (config.requests == 0) config.requests = 4 * config.concurrency;
  absl::StatusOr<int64_t> seed = command_line.IntOr("seed", 1);
  if (!seed.ok()) return seed.status();
  config.seed = static_cast<uint64_t>(*seed);
  absl::StatusOr<std::optional<double>> temperature = command_line.OptionalDouble("temperature");
  if (!temperature.ok()) return temperature.status();
  config.temperature = *temperature;
  return config;
}

}  // namespace

double Percentile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double position = q * static_cast<double>(values.size() - 1);
  const size_t below = static_cast<size_t>(std::floor(position));
  const size_t above = std::min(below + 1, values.size() - 1);
  const double fraction = position - static_cast<double>(below);
  return values[below] + (values[above] - values[below]) * fraction;
}

int RunLoadBench(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  FlagSet flags{{"target", "concurrency", "prompt-tokens", "max-tokens", "requests", "seed",
                 "vocab", "temperature"},
                {"json"}};
  AddTlsFlags(flags);
  absl::StatusOr<CommandLine> command_line = CommandLine::Parse(args, flags);
  if (!command_line.ok()) {
    err << command_line.status().message() << "\n" << kLoadBenchUsage;
    return 2;
  }
  const std::optional<std::string> target = command_line->Value("target");
  if (!target.has_value() || target->empty()) {
    err << "--target HOST:PORT is required\n" << kLoadBenchUsage;
    return 2;
  }
  absl::StatusOr<BenchConfig> config = ParseConfig(*command_line);
  if (!config.ok()) {
    err << config.status().message() << "\n";
    return 2;
  }
  absl::StatusOr<std::shared_ptr<grpc::Channel>> connected =
      ConnectToTarget(*target, *command_line);
  if (!connected.ok()) {
    err << connected.status().message() << "\n";
    return 2;
  }
  std::shared_ptr<grpc::Channel> channel = *std::move(connected);
  if (config->vocab == 0) {
    auto models = minimind::v1::Models::NewStub(channel);
    grpc::ClientContext context;
    minimind::v1::ModelInfo info;
    const grpc::Status status =
        models->GetModelInfo(&context, minimind::v1::GetModelInfoRequest(), &info);
    if (!status.ok()) {
      err << "error: GetModelInfo: " << RpcErrorText(status) << "\n";
      return 1;
    }
    config->vocab =
        info.tokenizer_vocab_size() > 0 ? info.tokenizer_vocab_size() : info.vocab_size();
    if (config->vocab <= 0) {
      err << "error: the server reports no vocabulary size; pass --vocab\n";
      return 1;
    }
  }

  std::atomic<int64_t> next_request{0};
  std::mutex mutex;
  std::vector<RequestSample> samples;
  std::vector<std::string> errors;
  const Clock::time_point start = Clock::now();
  std::vector<std::thread> threads;
  for (int64_t t = 0; t < config->concurrency; ++t) {
    threads.emplace_back([&, t] {
      // One stub per thread on the shared channel (HTTP/2 streams multiplex).
      auto stub = minimind::v1::Inference::NewStub(channel);
      std::mt19937_64 rng(config->seed * 1000003 + static_cast<uint64_t>(t));
      while (next_request.fetch_add(1) < config->requests) {
        std::string error;
        std::optional<RequestSample> sample = RunOne(*stub, *config, rng, error);
        std::lock_guard<std::mutex> lock(mutex);
        if (sample.has_value()) {
          samples.push_back(*sample);
        } else {
          errors.push_back(std::move(error));
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();

  std::vector<double> ttft, tpot;
  int64_t prompt_tokens = 0, output_tokens = 0;
  for (const RequestSample& sample : samples) {
    ttft.push_back(sample.ttft_seconds * 1e3);
    if (sample.tpot_seconds.has_value()) tpot.push_back(*sample.tpot_seconds * 1e3);
    prompt_tokens += sample.prompt_tokens;
    output_tokens += sample.output_tokens;
  }
  const double ok_requests = static_cast<double>(samples.size());
  if (command_line->Has("json")) {
    out << absl::StrFormat(
        "{\"concurrency\": %d, \"prompt_tokens\": %d, \"max_tokens\": %d, \"requests\": %d, "
        "\"errors\": %d, \"wall_seconds\": %.3f, \"requests_per_second\": %.3f, "
        "\"output_tokens_per_second\": %.1f, \"total_tokens_per_second\": %.1f, "
        "\"ttft_ms_p50\": %.2f, \"ttft_ms_p99\": %.2f, \"tpot_ms_p50\": %.2f, "
        "\"tpot_ms_p99\": %.2f}\n",
        config->concurrency, config->prompt_tokens, config->max_tokens, samples.size(),
        errors.size(), wall, ok_requests / wall, output_tokens / wall,
        (prompt_tokens + output_tokens) / wall, Percentile(ttft, 0.5), Percentile(ttft, 0.99),
        Percentile(tpot, 0.5), Percentile(tpot, 0.99));
  } else {
    out << absl::StrFormat(
        "concurrency %d, prompt %d tokens, max %d tokens: %d requests ok, %d failed in %.2f s\n"
        "throughput: %.2f req/s, %.1f output tok/s, %.1f total tok/s\n"
        "TTFT ms: p50 %.1f  p99 %.1f\n"
        "TPOT ms: p50 %.2f  p99 %.2f\n",
        config->concurrency, config->prompt_tokens, config->max_tokens, samples.size(),
        errors.size(), wall, ok_requests / wall, output_tokens / wall,
        (prompt_tokens + output_tokens) / wall, Percentile(ttft, 0.5), Percentile(ttft, 0.99),
        Percentile(tpot, 0.5), Percentile(tpot, 0.99));
  }
  for (size_t i = 0; i < errors.size() && i < 5; ++i) err << "error: " << errors[i] << "\n";
  return errors.empty() ? 0 : 1;
}

}  // namespace minimind::cli
