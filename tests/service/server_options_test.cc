#include "service/server_options.h"

#include <map>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace minimind {
namespace {

using ::testing::HasSubstr;

std::function<std::optional<std::string>(const char*)> Env(
    std::map<std::string, std::string> variables) {
  return [variables](const char* name) -> std::optional<std::string> {
    auto it = variables.find(name);
    if (it == variables.end()) return std::nullopt;
    return it->second;
  };
}

TEST(ServerOptionsTest, DefaultsWithoutFlagsOrEnvironment) {
  absl::StatusOr<ServerOptions> options = ParseServerOptions({}, Env({}));
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->model_path, "models/minimind-serve-tiny");
  EXPECT_EQ(options->listen, "0.0.0.0:50051");
  EXPECT_EQ(options->kv_cache_memory_bytes, int64_t{256} << 20);
  EXPECT_EQ(options->constraint_cache_bytes, int64_t{256} << 20);
  EXPECT_EQ(options->threads, 0);  // One forward thread per usable CPU.
}

TEST(ServerOptionsTest, ConstraintCacheMemoryFromFlagOrEnvironment) {
  EXPECT_EQ(
      ParseServerOptions({"--constraint-cache-memory", "64MiB"}, Env({}))->constraint_cache_bytes,
      int64_t{64} << 20);
  EXPECT_EQ(ParseServerOptions({}, Env({{"MINIMIND_CONSTRAINT_CACHE_MEMORY", "0"}}))
                ->constraint_cache_bytes,
            0);
  EXPECT_THAT(ParseServerOptions({"--constraint-cache-memory", "much"}, Env({})).status().message(),
              HasSubstr("not a byte size"));
}

TEST(ServerOptionsTest, ThreadsAreValidated) {
  EXPECT_EQ(ParseServerOptions({"--threads", "3"}, Env({}))->threads, 3);
  EXPECT_EQ(ParseServerOptions({}, Env({{"MINIMIND_THREADS", "2"}}))->threads, 2);
  EXPECT_THAT(ParseServerOptions({"--threads", "257"}, Env({})).status().message(),
              HasSubstr("--threads must be in [0, 256], got 257"));
}

TEST(ServerOptionsTest, EnvironmentFillsAndFlagsWin) {
  absl::StatusOr<ServerOptions> options =
      ParseServerOptions({"--model", "/flag/model", "--block-size=32", "--session-ttl", "5m"},
                         Env({{"MINIMIND_MODEL", "/env/model"},
                              {"MINIMIND_KV_CACHE_MEMORY", "64MiB"},
                              {"MINIMIND_KV_CACHE_DTYPE", "int8"},
                              {"MINIMIND_MAX_SESSIONS", "7"}}));
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->model_path, "/flag/model");
  EXPECT_EQ(options->kv_cache_memory_bytes, int64_t{64} << 20);
  EXPECT_EQ(options->kv_cache_dtype, "int8");
  EXPECT_EQ(options->block_size, 32);
  EXPECT_EQ(options->max_sessions, 7);
  EXPECT_EQ(options->session_ttl, absl::Minutes(5));
}

TEST(ServerOptionsTest, WeightDtypeFromFlagOrEnvironment) {
  absl::StatusOr<ServerOptions> defaults = ParseServerOptions({}, Env({}));
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->weight_dtype, "auto");
  absl::StatusOr<ServerOptions> from_env =
      ParseServerOptions({}, Env({{"MINIMIND_WEIGHT_DTYPE", "bf16"}}));
  ASSERT_TRUE(from_env.ok()) << from_env.status();
  EXPECT_EQ(from_env->weight_dtype, "bf16");
  absl::StatusOr<ServerOptions> from_flag =
      ParseServerOptions({"--weight-dtype", "int8"}, Env({{"MINIMIND_WEIGHT_DTYPE", "bf16"}}));
  ASSERT_TRUE(from_flag.ok()) << from_flag.status();
  EXPECT_EQ(from_flag->weight_dtype, "int8");
}

TEST(ServerOptionsTest, MetricsListenerAndSessionStore) {
  absl::StatusOr<ServerOptions> defaults = ParseServerOptions({}, Env({}));
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->metrics_listen, "");  // Off.
  EXPECT_EQ(defaults->session_store, "memory");
  absl::StatusOr<ServerOptions> options =
      ParseServerOptions({"--session-store", "redis://redis:6379/2"},
                         Env({{"MINIMIND_METRICS_LISTEN", "0.0.0.0:9090"}}));
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->metrics_listen, "0.0.0.0:9090");
  EXPECT_EQ(options->session_store, "redis://redis:6379/2");
  EXPECT_THAT(
      ParseServerOptions({}, Env({{"MINIMIND_SESSION_STORE", "etcd://x"}})).status().message(),
      HasSubstr("MINIMIND_SESSION_STORE must be \"memory\" or redis://HOST:PORT[/DB]"));
}

TEST(ServerOptionsTest, TlsFilesComeInPairsAndMtlsNeedsTls) {
  absl::StatusOr<ServerOptions> options = ParseServerOptions(
      {"--tls-cert", "c.pem", "--tls-key", "k.pem"}, Env({{"MINIMIND_TLS_CLIENT_CA", "ca.pem"}}));
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->tls_cert, "c.pem");
  EXPECT_EQ(options->tls_key, "k.pem");
  EXPECT_EQ(options->tls_client_ca, "ca.pem");
  EXPECT_THAT(ParseServerOptions({"--tls-cert", "c.pem"}, Env({})).status().message(),
              HasSubstr("--tls-cert and --tls-key must be given together"));
  EXPECT_THAT(ParseServerOptions({"--tls-client-ca", "ca.pem"}, Env({})).status().message(),
              HasSubstr("needs --tls-cert and --tls-key"));
}

TEST(ServerOptionsTest, HealthAuthAndReflectionAreOnOffSwitches) {
  absl::StatusOr<ServerOptions> defaults = ParseServerOptions({}, Env({}));
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_FALSE(defaults->health_auth);
  EXPECT_TRUE(defaults->reflection);
  absl::StatusOr<ServerOptions> options =
      ParseServerOptions({"--health-auth", "on"}, Env({{"MINIMIND_REFLECTION", "off"}}));
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_TRUE(options->health_auth);
  EXPECT_FALSE(options->reflection);
  EXPECT_EQ(ParseServerOptions({"--health-auth=false", "--reflection=1"}, Env({}))->health_auth,
            false);
  EXPECT_EQ(ParseServerOptions({"--health-auth", "yes"}, Env({})).status().message(),
            "--health-auth must be on or off, got \"yes\"");
  EXPECT_EQ(ParseServerOptions({}, Env({{"MINIMIND_REFLECTION", "maybe"}})).status().message(),
            "MINIMIND_REFLECTION must be on or off, got \"maybe\"");
}

TEST(ServerOptionsTest, ErrorsNameTheFlagOrVariable) {
  EXPECT_THAT(ParseServerOptions({"--bogus", "1"}, Env({})).status().message(),
              HasSubstr("unknown flag --bogus"));
  EXPECT_THAT(ParseServerOptions({"--block-size"}, Env({})).status().message(),
              HasSubstr("--block-size needs a value"));
  EXPECT_THAT(ParseServerOptions({"--max-batch", "0"}, Env({})).status().message(),
              HasSubstr("--max-batch must be in [1, 4096], got 0"));
  EXPECT_THAT(ParseServerOptions({}, Env({{"MINIMIND_SESSION_TTL", "soon"}})).status().message(),
              HasSubstr("MINIMIND_SESSION_TTL"));
  EXPECT_THAT(ParseServerOptions({"--kv-cache-memory", "lots"}, Env({})).status().message(),
              HasSubstr("not a byte size"));
}

TEST(ServerOptionsTest, ByteSizes) {
  EXPECT_EQ(*ParseByteSize("1024"), 1024);
  EXPECT_EQ(*ParseByteSize("2KiB"), 2048);
  EXPECT_EQ(*ParseByteSize("3GiB"), int64_t{3} << 30);
  EXPECT_EQ(*ParseByteSize("5MB"), 5000000);
  EXPECT_FALSE(ParseByteSize("-1").ok());
  EXPECT_FALSE(ParseByteSize("99999999999GiB").ok());
}

TEST(ServerOptionsTest, EveryFlagHasAnEnvironmentVariableAndHelp) {
  for (const ServerFlag& flag : ServerFlags()) {
    EXPECT_THAT(std::string(flag.env), ::testing::StartsWith("MINIMIND_")) << flag.name;
    EXPECT_THAT(ServerUsage(), HasSubstr(absl::StrCat("--", flag.name)));
  }
}

}  // namespace
}  // namespace minimind
