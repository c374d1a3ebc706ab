// ServerOptions: the configuration of one minimind-server, and its parsing from command-line
// flags with environment-variable fallbacks (flag > environment > default). Every flag has a
// MINIMIND_* variable (the table in docs/service.md, and `minimind-server --help`).
#ifndef MINIMIND_SERVICE_SERVER_OPTIONS_H_
#define MINIMIND_SERVICE_SERVER_OPTIONS_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/service_limits.h"

namespace minimind {

struct ServerOptions {
  // Model directory (Hugging Face layout), *.safetensors or *.pth (with config_path).
  std::string model_path = "models/minimind-serve-tiny";
  std::string config_path;
  std::string tokenizer_dir;
  // host:port; port 0 picks a free port (Server::port() tells which).
  std::string listen = "0.0.0.0:50051";
  std::string kv_cache_dtype = "f32";
  // Storage type of the matmul weights, converted at load: auto (as stored), f32, f16, bf16, int8,
  // q8_0.
  std::string weight_dtype = "auto";
  int64_t kv_cache_memory_bytes = int64_t{256} << 20;
  // Bytes compiled structured-output constraints may hold between requests (EngineOptions).
  int64_t constraint_cache_bytes = int64_t{256} << 20;
  int64_t block_size = 16;
  int64_t max_batch = 64;
  int64_t max_waiting = 1024;
  int64_t max_context = 0;  // 0 = the model's
  // Threads of the forward pass (the engine thread included; see engine/runtime/thread_pool.h).
  // 0 = one per CPU the process may use (std::thread::hardware_concurrency()).
  int64_t threads = 0;
  absl::Duration session_ttl = absl::Minutes(30);
  absl::Duration max_session_ttl = absl::Hours(24);
  // The KV spill tier (service/sessions/kv_spill_store.h): off when the directory is empty.
  std::string kv_spill_dir;
  int64_t kv_spill_budget_bytes = int64_t{1} << 30;
  // The memory store's state file (service/sessions/session_state_file.h): written on drain, read
  // and removed at start. Empty: sessions of the memory store end with the process.
  std::string session_state_file;
  // Redis store: how long a turn's commit retries (RedisSessionStoreOptions::commit_deadline).
  absl::Duration session_commit_deadline = absl::Seconds(10);
  int64_t max_sessions = 10000;
  // Fraction of the KV pool sessions may keep pinned between turns (soft pin).
  double session_kv_fraction = 0.5;
  absl::Duration reaper_interval = absl::Seconds(1);
  // Grace period for in-flight streams on SIGTERM.
  absl::Duration shutdown_grace = absl::Seconds(10);
  // HOST:PORT of the OpenAI-compatible HTTP API (service/http/); empty = none.
  std::string http_listen;
  // HOST:PORT of the Prometheus /metrics listener (plaintext HTTP); empty = no metrics listener.
  std::string metrics_listen;
  // "memory" (this process) or "redis://HOST:PORT[/DB]" (transcripts shared by replicas).
  std::string session_store = "memory";
  // PEM files. tls_cert + tls_key: gRPC over TLS (re-read when they change on disk);
  // tls_client_ca: also require and verify client certificates (mTLS). All empty: plaintext.
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;
  // API keys -> tenants and their limits (service/auth/); empty: one anonymous tenant.
  std::string api_keys_file;
  // Health (grpc.health.v1) needs credentials too (service/health_service.h). Off: open to all.
  bool health_auth = false;
  // Serve gRPC server reflection (no credentials: it describes the API, never data).
  bool reflection = true;
  ServiceLimits limits;
};

// One flag: its name (without --), environment variable and help text.
struct ServerFlag {
  const char* name;
  const char* env;
  const char* help;
};
const std::vector<ServerFlag>& ServerFlags();

// `args` without the program name. `getenv` returns a variable's value or nullopt. InvalidArgument
// names the flag (or variable) and the problem: unknown flag, missing value, bad number, size or
// duration, value out of range.
absl::StatusOr<ServerOptions> ParseServerOptions(
    const std::vector<std::string>& args,
    const std::function<std::optional<std::string>(const char*)>& getenv);

// Sizes: "1048576", "512KiB", "256MiB", "4GiB" (also KB/MB/GB as powers of 1000).
absl::StatusOr<int64_t> ParseByteSize(absl::string_view text);

// The --help text.
std::string ServerUsage();

}  // namespace minimind

#endif  // MINIMIND_SERVICE_SERVER_OPTIONS_H_
