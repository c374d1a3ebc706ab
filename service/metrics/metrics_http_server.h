// MetricsHttpServer: serves GET /metrics (Prometheus text) on its own plaintext listener and
// thread, apart from the gRPC port, so scraping needs no gRPC and cannot be starved by it.
// `render` is called on the HTTP thread for every scrape; it must be thread-safe.
//
// Life cycle: Start binds and spawns the thread; the destructor (or Stop) stops it and joins.
#ifndef MINIMIND_SERVICE_METRICS_METRICS_HTTP_SERVER_H_
#define MINIMIND_SERVICE_METRICS_METRICS_HTTP_SERVER_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace httplib {
class Server;
}

namespace minimind {

class MetricsHttpServer {
 public:
  // `listen` is HOST:PORT (port 0 picks one; port() tells). Unavailable if it cannot bind,
  // InvalidArgument if it is not HOST:PORT.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(
      absl::string_view listen, std::function<std::string()> render);

  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;
  ~MetricsHttpServer();

  void Stop();
  int port() const { return port_; }

 private:
  MetricsHttpServer();

  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace minimind

#endif  // MINIMIND_SERVICE_METRICS_METRICS_HTTP_SERVER_H_
