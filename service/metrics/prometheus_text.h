// PrometheusText: builds a scrape body in the Prometheus text exposition format (version 0.0.4):
// one "# HELP" and "# TYPE" per family, then its samples. Label values are escaped (\\, \", \n).
// Not thread-safe: one builder per scrape.
#ifndef MINIMIND_SERVICE_METRICS_PROMETHEUS_TEXT_H_
#define MINIMIND_SERVICE_METRICS_PROMETHEUS_TEXT_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "service/metrics/metric_types.h"

namespace minimind {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class PrometheusText {
 public:
  // The content type a /metrics response carries.
  static constexpr absl::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

  // `type` is "counter", "gauge" or "histogram". Counter names end in _total by convention.
  void Family(absl::string_view name, absl::string_view type, absl::string_view help);
  void Sample(absl::string_view name, const MetricLabels& labels, double value);
  void Sample(absl::string_view name, double value) { Sample(name, {}, value); }

  // Family + one unlabeled sample.
  void Counter(absl::string_view name, absl::string_view help, int64_t value);
  void Gauge(absl::string_view name, absl::string_view help, double value);
  // Family + its _bucket{le=...}, _sum and _count samples.
  void Histogram(absl::string_view name, absl::string_view help,
                 const Histogram::Snapshot& histogram);

  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

}  // namespace minimind

#endif  // MINIMIND_SERVICE_METRICS_PROMETHEUS_TEXT_H_
