#include "service/server_options.h"

#include <limits>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace minimind {
namespace {

absl::StatusOr<int64_t> ParseInt(absl::string_view name, absl::string_view text, int64_t min,
                                 int64_t max) {
  int64_t value = 0;
  if (!absl::SimpleAtoi(text, &value)) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": \"", text, "\" is not an integer"));
  }
  if (value < min || value > max) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " must be in [", min, ", ", max, "], got ", value));
  }
  return value;
}

absl::StatusOr<absl::Duration> ParsePositiveDuration(absl::string_view name,
                                                     absl::string_view text) {
  absl::Duration duration;
  if (!absl::ParseDuration(text, &duration)) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": \"", text, "\" is not a duration (e.g. 30s, 10m, 2h)"));
  }
  if (duration <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(name, " must be positive, got ", text));
  }
  return duration;
}

}  // namespace

const std::vector<ServerFlag>& ServerFlags() {
  static const auto* const kFlags = new std::vector<ServerFlag>{
      {"model", "MINIMIND_MODEL",
       "model directory or checkpoint file (default models/minimind-serve-tiny, the shipped "
       "model)"},
      {"config", "MINIMIND_CONFIG", "config.json for a .pth checkpoint"},
      {"tokenizer", "MINIMIND_TOKENIZER",
       "directory holding tokenizer.json (default: the model's)"},
      {"listen", "MINIMIND_LISTEN", "host:port to serve gRPC on (default 0.0.0.0:50051)"},
      {"kv-cache-dtype", "MINIMIND_KV_CACHE_DTYPE", "KV element type: f32, bf16, f16, int8"},
      {"weight-dtype", "MINIMIND_WEIGHT_DTYPE",
       "matmul weights converted at load: auto (as stored, default), f32, f16, bf16, int8, q8_0"},
      {"kv-cache-memory", "MINIMIND_KV_CACHE_MEMORY", "KV pool budget, e.g. 256MiB (default)"},
      {"constraint-cache-memory", "MINIMIND_CONSTRAINT_CACHE_MEMORY",
       "bytes compiled structured-output constraints may hold for reuse, least recently used "
       "dropped first (default 256MiB)"},
      {"block-size", "MINIMIND_BLOCK_SIZE", "tokens per KV block (default 16)"},
      {"max-batch", "MINIMIND_MAX_BATCH", "most sequences decoded per step (default 64)"},
      {"max-waiting", "MINIMIND_MAX_WAITING", "most queued requests (default 1024)"},
      {"max-context", "MINIMIND_MAX_CONTEXT", "positions per sequence; 0 = the model's"},
      {"threads", "MINIMIND_THREADS", "forward-pass threads, 1-256 (default 0: one per CPU)"},
      {"session-ttl", "MINIMIND_SESSION_TTL", "default idle TTL of a session (default 30m)"},
      {"max-session-ttl", "MINIMIND_MAX_SESSION_TTL", "largest TTL a client may ask (default 24h)"},
      {"max-sessions", "MINIMIND_MAX_SESSIONS",
       "sessions kept; LRU eviction above (default 10000)"},
      {"context-free-fraction", "MINIMIND_CONTEXT_FREE_FRACTION",
       "a context truncation drops the oldest turns until this share of the context is free "
       "(default 0.5)"},
      {"session-kv-fraction", "MINIMIND_SESSION_KV_FRACTION",
       "share of the KV pool sessions may pin between turns (default 0.5)"},
      {"max-prompt-tokens", "MINIMIND_MAX_PROMPT_TOKENS", "prompt token limit (default 32768)"},
      {"max-prompt-bytes", "MINIMIND_MAX_PROMPT_BYTES", "prompt byte limit (default 1MiB)"},
      {"max-tokens-cap", "MINIMIND_MAX_TOKENS_CAP", "ceiling and default of max_tokens (4096)"},
      {"max-messages", "MINIMIND_MAX_MESSAGES", "chat messages per request/session (256)"},
      {"shutdown-grace", "MINIMIND_SHUTDOWN_GRACE", "in-flight grace period on SIGTERM (10s)"},
      {"http-listen", "MINIMIND_HTTP_LISTEN",
       "host:port for the OpenAI-compatible HTTP API (/v1/chat/completions, /v1/completions, "
       "/v1/models); empty = off (default)"},
      {"metrics-listen", "MINIMIND_METRICS_LISTEN",
       "host:port for Prometheus text on HTTP GET /metrics; empty = off (default)"},
      {"session-store", "MINIMIND_SESSION_STORE",
       "where session transcripts live: memory (default) or redis://HOST:PORT[/DB]"},
      {"kv-spill-dir", "MINIMIND_KV_SPILL_DIR",
       "directory where sessions' KV goes instead of being dropped (pin cap, drain) and comes "
       "back from on their next turn; empty = off (default)"},
      {"session-state-file", "MINIMIND_SESSION_STATE_FILE",
       "file the memory store's sessions are saved to on drain and taken back from at start, so "
       "a restart loses no conversation; empty = off (default)"},
      {"kv-spill-budget", "MINIMIND_KV_SPILL_BUDGET",
       "bytes the spill directory may hold, least recently used files deleted first (1GiB)"},
      {"session-commit-deadline", "MINIMIND_SESSION_COMMIT_DEADLINE",
       "how long a finished turn's commit to Redis retries while Redis cannot be reached before "
       "the reply says the turn was not saved (default 10s)"},
      {"tls-cert", "MINIMIND_TLS_CERT", "PEM server certificate chain: serve gRPC over TLS"},
      {"tls-key", "MINIMIND_TLS_KEY", "PEM private key of --tls-cert"},
      {"tls-client-ca", "MINIMIND_TLS_CLIENT_CA",
       "PEM CA bundle: require client certificates signed by it (mTLS)"},
      {"api-keys-file", "MINIMIND_API_KEYS_FILE",
       "API keys (SHA-256 hashes) -> tenants and limits; without it one anonymous tenant"},
      {"health-auth", "MINIMIND_HEALTH_AUTH",
       "on: grpc.health.v1 calls need credentials like any call; off (default): open, as "
       "Kubernetes' gRPC probes send none"},
      {"reflection", "MINIMIND_REFLECTION",
       "on (default): serve gRPC server reflection (grpcurl list); off: not served"},
  };
  return *kFlags;
}

absl::StatusOr<int64_t> ParseByteSize(absl::string_view text) {
  struct Suffix {
    const char* text;
    int64_t factor;
  };
  static constexpr Suffix kSuffixes[] = {
      {"KiB", int64_t{1} << 10},
      {"MiB", int64_t{1} << 20},
      {"GiB", int64_t{1} << 30},
      {"KB", 1000},
      {"MB", 1000000},
      {"GB", 1000000000},
      {"B", 1},
  };
  absl::string_view number = absl::StripAsciiWhitespace(text);
  int64_t factor = 1;
  for (const Suffix& suffix : kSuffixes) {
    if (absl::ConsumeSuffix(&number, suffix.text)) {
      factor = suffix.factor;
      break;
    }
  }
  int64_t value = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(number), &value) || value < 0 ||
      value > std::numeric_limits<int64_t>::max() / factor) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text, "\" is not a byte size (e.g. 1048576, 512KiB, 256MiB, 4GiB)"));
  }
  return value * factor;
}

std::string ServerUsage() {
  std::string usage =
      "usage: minimind-server [--flag value]...\n"
      "Every flag may also be set by its environment variable; the flag wins.\n\n";
  for (const ServerFlag& flag : ServerFlags()) {
    absl::StrAppend(&usage, "  --", flag.name, " (", flag.env, ")\n      ", flag.help, "\n");
  }
  return usage;
}

absl::StatusOr<ServerOptions> ParseServerOptions(
    const std::vector<std::string>& args,
    const std::function<std::optional<std::string>(const char*)>& getenv) {
  absl::flat_hash_map<std::string, const ServerFlag*> by_name;
  for (const ServerFlag& flag : ServerFlags()) by_name[flag.name] = &flag;

  // Environment first, then flags over it.
  absl::flat_hash_map<std::string, std::string> values;
  absl::flat_hash_map<std::string, std::string> sources;
  for (const ServerFlag& flag : ServerFlags()) {
    if (std::optional<std::string> value = getenv(flag.env); value.has_value()) {
      values[flag.name] = *value;
      sources[flag.name] = flag.env;
    }
  }
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (!absl::ConsumePrefix(&arg, "--")) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument \"", args[i], "\""));
    }
    std::string name(arg);
    std::optional<std::string> value;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    if (!by_name.contains(name)) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name, " (see --help)"));
    }
    if (!value.has_value()) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
      }
      value = args[++i];
    }
    values[name] = *value;
    sources[name] = absl::StrCat("--", name);
  }

  ServerOptions options;
  for (const auto& [name, value] : values) {
    const std::string& source = sources[name];
    absl::Status status;
    auto set_int = [&](int64_t& field, int64_t min, int64_t max) {
      absl::StatusOr<int64_t> parsed = ParseInt(source, value, min, max);
      if (parsed.ok()) field = *parsed;
      status = parsed.status();
    };
    auto set_on_off = [&](bool& field) {
      if (value == "on" || value == "true" || value == "1") {
        field = true;
      } else if (value == "off" || value == "false" || value == "0") {
        field = false;
      } else {
        status = absl::InvalidArgumentError(
            absl::StrCat(source, " must be on or off, got \"", value, "\""));
      }
    };
    auto set_duration = [&](absl::Duration& field) {
      absl::StatusOr<absl::Duration> parsed = ParsePositiveDuration(source, value);
      if (parsed.ok()) field = *parsed;
      status = parsed.status();
    };
    if (name == "model") {
      options.model_path = value;
    } else if (name == "config") {
      options.config_path = value;
    } else if (name == "tokenizer") {
      options.tokenizer_dir = value;
    } else if (name == "listen") {
      options.listen = value;
    } else if (name == "kv-cache-dtype") {
      options.kv_cache_dtype = value;
    } else if (name == "weight-dtype") {
      options.weight_dtype = value;
    } else if (name == "kv-cache-memory" || name == "max-prompt-bytes" ||
               name == "kv-spill-budget" || name == "constraint-cache-memory") {
      absl::StatusOr<int64_t> bytes = ParseByteSize(value);
      if (!bytes.ok()) {
        status = absl::InvalidArgumentError(absl::StrCat(source, ": ", bytes.status().message()));
      } else if (name == "kv-cache-memory") {
        options.kv_cache_memory_bytes = *bytes;
      } else if (name == "kv-spill-budget") {
        options.kv_spill_budget_bytes = *bytes;
      } else if (name == "constraint-cache-memory") {
        options.constraint_cache_bytes = *bytes;
      } else {
        options.limits.max_prompt_bytes = *bytes;
      }
    } else if (name == "block-size") {
      set_int(options.block_size, 1, 4096);
    } else if (name == "max-batch") {
      set_int(options.max_batch, 1, 4096);
    } else if (name == "max-waiting") {
      set_int(options.max_waiting, 1, int64_t{1} << 24);
    } else if (name == "max-context") {
      set_int(options.max_context, 0, int64_t{1} << 24);
    } else if (name == "threads") {
      set_int(options.threads, 0, 256);
    } else if (name == "session-ttl") {
      set_duration(options.session_ttl);
    } else if (name == "max-session-ttl") {
      set_duration(options.max_session_ttl);
    } else if (name == "kv-spill-dir") {
      options.kv_spill_dir = value;
    } else if (name == "session-state-file") {
      options.session_state_file = value;
    } else if (name == "session-commit-deadline") {
      set_duration(options.session_commit_deadline);
    } else if (name == "max-sessions") {
      set_int(options.max_sessions, 1, int64_t{1} << 30);
    } else if (name == "context-free-fraction") {
      double fraction = 0;
      if (!absl::SimpleAtod(value, &fraction) || !(fraction >= 0.0 && fraction < 1.0)) {
        status = absl::InvalidArgumentError(
            absl::StrCat(source, " must be a number in [0, 1), got \"", value, "\""));
      } else {
        options.limits.context_free_fraction = fraction;
      }
    } else if (name == "session-kv-fraction") {
      double fraction = 0;
      if (!absl::SimpleAtod(value, &fraction) || !(fraction >= 0.0 && fraction <= 1.0)) {
        status = absl::InvalidArgumentError(
            absl::StrCat(source, " must be a number in [0, 1], got \"", value, "\""));
      } else {
        options.session_kv_fraction = fraction;
      }
    } else if (name == "max-prompt-tokens") {
      set_int(options.limits.max_prompt_tokens, 1, int64_t{1} << 24);
    } else if (name == "max-tokens-cap") {
      int64_t cap = 0;
      set_int(cap, 1, 131072);
      options.limits.max_tokens_cap = static_cast<int32_t>(cap);
    } else if (name == "max-messages") {
      set_int(options.limits.max_messages, 1, 1 << 20);
    } else if (name == "shutdown-grace") {
      set_duration(options.shutdown_grace);
    } else if (name == "tls-cert") {
      options.tls_cert = value;
    } else if (name == "tls-key") {
      options.tls_key = value;
    } else if (name == "tls-client-ca") {
      options.tls_client_ca = value;
    } else if (name == "api-keys-file") {
      options.api_keys_file = value;
    } else if (name == "health-auth") {
      set_on_off(options.health_auth);
    } else if (name == "reflection") {
      set_on_off(options.reflection);
    } else if (name == "http-listen") {
      options.http_listen = value;
    } else if (name == "metrics-listen") {
      options.metrics_listen = value;
    } else if (name == "session-store") {
      if (value != "memory" && !absl::StartsWith(value, "redis://")) {
        status = absl::InvalidArgumentError(absl::StrCat(
            source, " must be \"memory\" or redis://HOST:PORT[/DB], got \"", value, "\""));
      }
      options.session_store = value;
    }
    if (!status.ok()) return status;
  }
  if (options.model_path.empty()) {
    return absl::InvalidArgumentError("--model (MINIMIND_MODEL) is empty");
  }
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key must be given together");
  }
  if (!options.tls_client_ca.empty() && options.tls_cert.empty()) {
    return absl::InvalidArgumentError("--tls-client-ca (mTLS) needs --tls-cert and --tls-key");
  }
  if (options.session_ttl > options.max_session_ttl) {
    return absl::InvalidArgumentError("--session-ttl must not exceed --max-session-ttl");
  }
  return options;
}

}  // namespace minimind
