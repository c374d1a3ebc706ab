// Test support: a private redis-server on a free loopback port (no persistence), started and
// killed by the test. Kill() then Restart() brings a new, empty server back on the same port.
#ifndef MINIMIND_TESTS_SERVICE_SESSIONS_REDIS_SERVER_H_
#define MINIMIND_TESTS_SERVICE_SESSIONS_REDIS_SERVER_H_

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "service/sessions/redis_client.h"

namespace minimind {

inline constexpr char kRedisServerPath[] = "/usr/bin/redis-server";

inline bool RedisServerInstalled() { return access(kRedisServerPath, X_OK) == 0; }

class RedisServer {
 public:
  // A server on a free port; Internal if none comes up within a few seconds.
  static absl::StatusOr<std::unique_ptr<RedisServer>> Start() {
    for (int attempt = 0; attempt < 5; ++attempt) {
      const int port = FreePort();
      if (port <= 0) return absl::InternalError("cannot find a free loopback port");
      auto server = std::unique_ptr<RedisServer>(new RedisServer(port));
      if (server->Restart().ok()) return server;
    }
    return absl::InternalError("redis-server did not start");
  }

  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;
  ~RedisServer() { Kill(); }

  int port() const { return port_; }

  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGCONT);  // A paused server must run to die.
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  // SIGSTOP / SIGCONT: a hung Redis (or a partition) as clients see it — connections are
  // accepted by the kernel, commands sit unanswered in the socket until Resume.
  void Pause() {
    if (pid_ > 0) kill(pid_, SIGSTOP);
  }
  void Resume() {
    if (pid_ > 0) kill(pid_, SIGCONT);
  }

  // Starts the server on port() (after Kill) and waits until it answers PING.
  absl::Status Restart() {
    Kill();
    const std::string port = std::to_string(port_);
    std::vector<std::string> args = {kRedisServerPath,
                                     "--port",
                                     port,
                                     "--bind",
                                     "127.0.0.1",
                                     "--save",
                                     "",
                                     "--appendonly",
                                     "no",
                                     "--daemonize",
                                     "no",
                                     "--loglevel",
                                     "warning",
                                     "--dir",
                                     "/tmp"};
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    // Only async-signal-safe calls in the child: the test may run other threads.
    pid_ = fork();
    if (pid_ < 0) return absl::InternalError("fork failed");
    if (pid_ == 0) {
      const int null = open("/dev/null", O_WRONLY);
      if (null >= 0) dup2(null, STDOUT_FILENO);
      execv(kRedisServerPath, argv.data());
      _exit(127);
    }
    RedisClientOptions options;
    options.address.host = "127.0.0.1";
    options.address.port = port_;
    options.connect_timeout = absl::Milliseconds(200);
    options.command_timeout = absl::Milliseconds(200);
    options.max_idle_connections = 0;
    RedisClient client(options);
    const absl::Time deadline = absl::Now() + absl::Seconds(3);
    while (absl::Now() < deadline) {
      if (client.Command({"PING"}).ok()) return absl::OkStatus();
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {  // exited: the port was taken meanwhile
        pid_ = -1;
        return absl::InternalError("redis-server exited");
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
    Kill();
    return absl::InternalError("redis-server did not answer PING");
  }

 private:
  explicit RedisServer(int port) : port_(port) {}

  static int FreePort() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    sockaddr_in address = {};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof(address);
    int port = -1;
    if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
      port = ntohs(address.sin_port);
    }
    close(fd);
    return port;
  }

  const int port_;
  pid_t pid_ = -1;
};

}  // namespace minimind

#endif  // MINIMIND_TESTS_SERVICE_SESSIONS_REDIS_SERVER_H_
