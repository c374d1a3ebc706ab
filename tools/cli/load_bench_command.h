// `minimind bench --target HOST:PORT`: a load generator for a running minimind-server.
// `--concurrency N` client threads each send streaming Generate requests back to back (a prompt
// of `--prompt-tokens P` random token ids, `--max-tokens T` with ignore_eos so every request
// produces T tokens, prefix cache off so prompts are really prefilled) until `--requests R` have
// been sent in all. Reports request and token throughput and the client-side time to first
// token (TTFT) and time per output token (TPOT, (last token - first token) / (tokens - 1))
// at p50 and p99.
#ifndef MINIMIND_TOOLS_CLI_LOAD_BENCH_COMMAND_H_
#define MINIMIND_TOOLS_CLI_LOAD_BENCH_COMMAND_H_

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace minimind::cli {

inline constexpr char kLoadBenchUsage[] =
    "minimind bench --target HOST:PORT [--concurrency N] [--prompt-tokens P] [--max-tokens T]\n"
    "    [--requests R] [--seed S] [--vocab V] [--temperature T] [--json] [--tls-* flags]\n"
    "  Load-tests a running minimind-server: N concurrent streams (default 4), prompts of P\n"
    "  random token ids (default 128, ids below V, default: the model's vocabulary from\n"
    "  GetModelInfo), T generated tokens each (default 128), R requests in all (default 4*N).\n"
    "  --temperature 0 makes every request greedy (default: the server's sampling default).\n"
    "  Prints throughput and TTFT/TPOT p50/p99 (--json: one JSON object).\n";

// Runs the subcommand; returns the process exit code (1 if any request failed).
int RunLoadBench(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// The q-quantile (0..1) of `values` by linear interpolation; 0 when empty. Exposed for tests.
double Percentile(std::vector<double> values, double q);

}  // namespace minimind::cli

#endif  // MINIMIND_TOOLS_CLI_LOAD_BENCH_COMMAND_H_
