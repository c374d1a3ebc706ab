// RedisClient: synchronous Redis commands over a small pool of hiredis connections, for
// RedisSessionStore. Replies are copied into plain RedisReply values, so nothing of hiredis leaks
// out of redis_client.cc.
//
// Connections: a command takes an idle connection from the pool or opens a new one (connect and
// command timeouts bound every call; new connections SELECT the configured db); afterwards the
// connection goes back to the pool, up to `max_idle_connections`, or is closed. A connection that
// fails is closed, never reused, and a failed connect also closes every idle one (they point at the
// same server), so the client reconnects by itself once Redis is back. A command that fails on a
// pooled connection because the server had closed it (a Redis restart) is retried once on a new
// connection; a timeout is never retried (the server may have run the command).
//
// Errors: Unavailable "session store unavailable: redis at HOST:PORT: <reason>" when Redis cannot
// be reached or reports a transient state (LOADING, BUSY, READONLY, OOM, ...); Internal for any
// other error reply (a bug in a command or script).
//
// Thread-safety: every method is safe to call concurrently (the pool has its own mutex; a
// connection is used by one call at a time).
#ifndef MINIMIND_SERVICE_SESSIONS_REDIS_CLIENT_H_
#define MINIMIND_SERVICE_SESSIONS_REDIS_CLIENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/sessions/redis_url.h"

namespace minimind {

// One Redis reply. Error replies never reach callers (they become a Status).
struct RedisReply {
  enum class Type { kNil, kString, kStatus, kInteger, kArray };
  Type type = Type::kNil;
  std::string text;  // kString, kStatus
  int64_t integer = 0;
  std::vector<RedisReply> elements;  // kArray

  bool is_nil() const { return type == Type::kNil; }
};

struct RedisClientOptions {
  RedisAddress address;
  absl::Duration connect_timeout = absl::Seconds(1);
  absl::Duration command_timeout = absl::Seconds(1);
  int max_idle_connections = 4;
};

class RedisClient {
 public:
  explicit RedisClient(RedisClientOptions options);
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;
  ~RedisClient();

  // Runs one command, e.g. {"ZCARD", key}. Arguments are binary-safe.
  absl::StatusOr<RedisReply> Command(const std::vector<std::string>& args);

  // EVAL of a Lua script with no KEYS and `args` as ARGV. (Plain EVAL: the scripts are small,
  // Redis compiles each distinct one once, and nothing is lost when Redis restarts.)
  absl::StatusOr<RedisReply> Eval(absl::string_view script, const std::vector<std::string>& args);

  const RedisAddress& address() const { return options_.address; }

 private:
  class Connection;

  // An idle connection, or a new one; `reused` says which.
  absl::StatusOr<std::unique_ptr<Connection>> Acquire(bool& reused);
  void Recycle(std::unique_ptr<Connection> connection);
  absl::Status Unavailable(absl::string_view reason) const;

  const RedisClientOptions options_;
  absl::Mutex mutex_;
  std::vector<std::unique_ptr<Connection>> idle_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace minimind

#endif  // MINIMIND_SERVICE_SESSIONS_REDIS_CLIENT_H_
