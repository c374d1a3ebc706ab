#include "service/metrics/prometheus_text.h"

#include <cmath>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace minimind {
namespace {

void AppendEscaped(absl::string_view value, std::string& out) {
  for (const char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
}

// Integers print without a fraction; everything else with enough digits to round-trip.
std::string FormatValue(double value) {
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (std::isnan(value)) return "NaN";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return absl::StrCat(static_cast<int64_t>(value));
  }
  // The shortest of %.15g / %.17g that reads back as `value` (0.0005, not 0.00050000000000000001).
  std::string text = absl::StrFormat("%.15g", value);
  if (std::strtod(text.c_str(), nullptr) != value) text = absl::StrFormat("%.17g", value);
  return text;
}

}  // namespace

void PrometheusText::Family(absl::string_view name, absl::string_view type,
                            absl::string_view help) {
  absl::StrAppend(&text_, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
}

void PrometheusText::Sample(absl::string_view name, const MetricLabels& labels, double value) {
  text_.append(name.data(), name.size());
  if (!labels.empty()) {
    text_ += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) text_ += ',';
      absl::StrAppend(&text_, labels[i].first, "=\"");
      AppendEscaped(labels[i].second, text_);
      text_ += '"';
    }
    text_ += '}';
  }
  absl::StrAppend(&text_, " ", FormatValue(value), "\n");
}

void PrometheusText::Counter(absl::string_view name, absl::string_view help, int64_t value) {
  Family(name, "counter", help);
  Sample(name, static_cast<double>(value));
}

void PrometheusText::Gauge(absl::string_view name, absl::string_view help, double value) {
  Family(name, "gauge", help);
  Sample(name, value);
}

void PrometheusText::Histogram(absl::string_view name, absl::string_view help,
                               const Histogram::Snapshot& histogram) {
  Family(name, "histogram", help);
  const std::string bucket = absl::StrCat(name, "_bucket");
  for (size_t i = 0; i < histogram.bounds.size(); ++i) {
    Sample(bucket, {{"le", FormatValue(histogram.bounds[i])}},
           static_cast<double>(histogram.cumulative_counts[i]));
  }
  Sample(bucket, {{"le", "+Inf"}}, static_cast<double>(histogram.cumulative_counts.back()));
  Sample(absl::StrCat(name, "_sum"), histogram.sum);
  Sample(absl::StrCat(name, "_count"), static_cast<double>(histogram.count));
}

}  // namespace minimind
