#include "service/sessions/redis_client.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <cerrno>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace minimind {

namespace {

RedisReply CopyReply(const redisReply& reply) {
  RedisReply copy;
  switch (reply.type) {
    case REDIS_REPLY_STRING:
      copy.type = RedisReply::Type::kString;
      copy.text.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_STATUS:
      copy.type = RedisReply::Type::kStatus;
      copy.text.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_INTEGER:
      copy.type = RedisReply::Type::kInteger;
      copy.integer = reply.integer;
      break;
    case REDIS_REPLY_ARRAY:
      copy.type = RedisReply::Type::kArray;
      copy.elements.reserve(reply.elements);
      for (size_t i = 0; i < reply.elements; ++i)
        copy.elements.push_back(CopyReply(*reply.element[i]));
      break;
    default:
      copy.type = RedisReply::Type::kNil;
      break;
  }
  return copy;
}

// Error replies of a server that is up but cannot serve now.
bool IsTransientError(absl::string_view message) {
  for (absl::string_view prefix :
       {"LOADING", "BUSY", "READONLY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN", "OOM"}) {
    if (absl::StartsWith(message, prefix)) return true;
  }
  return false;
}

struct ReplyDeleter {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using ReplyPointer = std::unique_ptr<redisReply, ReplyDeleter>;

}  // namespace

// One hiredis context; closed by the destructor. `broken` once an I/O error made it unusable.
class RedisClient::Connection {
 public:
  explicit Connection(redisContext* context) : context_(context) {}
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() { redisFree(context_); }

  // The raw reply, or null with error() describing the failure (the connection is then broken).
  ReplyPointer Run(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lengths;
    argv.reserve(args.size());
    lengths.reserve(args.size());
    for (const std::string& arg : args) {
      argv.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    return ReplyPointer(static_cast<redisReply*>(
        redisCommandArgv(context_, static_cast<int>(argv.size()), argv.data(), lengths.data())));
  }
  std::string error() const {
    return context_->errstr[0] != '\0' ? std::string(context_->errstr) : "unknown I/O error";
  }
  // The server closed the connection (a restart, or its idle timeout), as opposed to a timeout.
  bool closed_by_server() const {
    return context_->err == REDIS_ERR_EOF ||
           (context_->err == REDIS_ERR_IO && (errno == ECONNRESET || errno == EPIPE));
  }

 private:
  redisContext* context_;
};

RedisClient::RedisClient(RedisClientOptions options) : options_(std::move(options)) {}

RedisClient::~RedisClient() = default;

absl::Status RedisClient::Unavailable(absl::string_view reason) const {
  return absl::UnavailableError(absl::StrCat("session store unavailable: redis at ",
                                             options_.address.HostPort(), ": ", reason));
}

absl::StatusOr<std::unique_ptr<RedisClient::Connection>> RedisClient::Acquire(bool& reused) {
  {
    absl::MutexLock lock(&mutex_);
    if (!idle_.empty()) {
      std::unique_ptr<Connection> connection = std::move(idle_.back());
      idle_.pop_back();
      reused = true;
      return connection;
    }
  }
  reused = false;
  redisContext* context =
      redisConnectWithTimeout(options_.address.host.c_str(), options_.address.port,
                              absl::ToTimeval(options_.connect_timeout));
  if (context == nullptr) return Unavailable("cannot allocate a connection");
  if (context->err != 0) {
    const std::string reason = absl::StrCat("cannot connect: ", context->errstr);
    redisFree(context);
    std::vector<std::unique_ptr<Connection>> stale;
    {
      absl::MutexLock lock(&mutex_);
      stale.swap(idle_);
    }
    return Unavailable(reason);
  }
  auto connection = std::make_unique<Connection>(context);
  if (redisSetTimeout(context, absl::ToTimeval(options_.command_timeout)) != REDIS_OK) {
    return Unavailable(absl::StrCat("cannot set the command timeout: ", connection->error()));
  }
  redisEnableKeepAlive(context);
  if (options_.address.db != 0) {
    ReplyPointer reply = connection->Run({"SELECT", std::to_string(options_.address.db)});
    if (reply == nullptr) return Unavailable(connection->error());
    if (reply->type == REDIS_REPLY_ERROR) {
      return Unavailable(absl::StrCat("SELECT ", options_.address.db,
                                      " failed: ", absl::string_view(reply->str, reply->len)));
    }
  }
  return connection;
}

void RedisClient::Recycle(std::unique_ptr<Connection> connection) {
  absl::MutexLock lock(&mutex_);
  if (static_cast<int>(idle_.size()) < options_.max_idle_connections) {
    idle_.push_back(std::move(connection));
  }
}

absl::StatusOr<RedisReply> RedisClient::Command(const std::vector<std::string>& args) {
  for (int attempt = 0;; ++attempt) {
    bool reused = false;
    absl::StatusOr<std::unique_ptr<Connection>> connection = Acquire(reused);
    if (!connection.ok()) return connection.status();
    ReplyPointer reply = (*connection)->Run(args);
    if (reply == nullptr) {
      // A pooled connection the server closed while it sat idle: the command never ran.
      if (reused && attempt == 0 && (*connection)->closed_by_server()) continue;
      return Unavailable((*connection)->error());
    }
    if (reply->type == REDIS_REPLY_ERROR) {
      const absl::string_view message(reply->str, reply->len);
      absl::Status status = IsTransientError(message)
                                ? Unavailable(message)
                                : absl::InternalError(absl::StrCat("redis error: ", message));
      Recycle(*std::move(connection));
      return status;
    }
    RedisReply copy = CopyReply(*reply);
    Recycle(*std::move(connection));
    return copy;
  }
}

absl::StatusOr<RedisReply> RedisClient::Eval(absl::string_view script,
                                             const std::vector<std::string>& args) {
  std::vector<std::string> command;
  command.reserve(args.size() + 3);
  command.emplace_back("EVAL");
  command.emplace_back(script);
  command.emplace_back("0");
  command.insert(command.end(), args.begin(), args.end());
  return Command(command);
}

}  // namespace minimind
