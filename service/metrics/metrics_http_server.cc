#include "service/metrics/metrics_http_server.h"

#include <httplib.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "service/listen_address.h"
#include "service/metrics/prometheus_text.h"

namespace minimind {

MetricsHttpServer::MetricsHttpServer() : http_(std::make_unique<httplib::Server>()) {}

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    absl::string_view listen, std::function<std::string()> render) {
  absl::StatusOr<ListenAddress> address = ParseListenAddress(listen, "metrics");
  if (!address.ok()) return address.status();
  const std::string& host = address->host;
  const int port = address->port;
  std::unique_ptr<MetricsHttpServer> server(new MetricsHttpServer());
  server->http_->Get("/metrics", [render = std::move(render)](const httplib::Request&,
                                                              httplib::Response& response) {
    response.set_content(render(), std::string(PrometheusText::kContentType));
  });
  server->port_ = port == 0 ? server->http_->bind_to_any_port(host)
                            : (server->http_->bind_to_port(host, port) ? port : -1);
  if (server->port_ <= 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen for metrics on ", listen));
  }
  server->thread_ = std::thread([http = server->http_.get()] { http->listen_after_bind(); });
  return server;
}

MetricsHttpServer::~MetricsHttpServer() { Stop(); }

void MetricsHttpServer::Stop() {
  if (!thread_.joinable()) return;
  http_->stop();
  thread_.join();
}

}  // namespace minimind
