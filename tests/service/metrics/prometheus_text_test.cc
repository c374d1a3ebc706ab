#include "service/metrics/prometheus_text.h"

#include "gtest/gtest.h"
#include "service/metrics/metric_types.h"

namespace minimind {
namespace {

TEST(PrometheusTextTest, FamiliesAndSamplesInTheTextFormat) {
  PrometheusText out;
  out.Counter("minimind_x_total", "Things.", 3);
  out.Gauge("minimind_ratio", "A ratio.", 0.25);
  EXPECT_EQ(out.text(),
            "# HELP minimind_x_total Things.\n# TYPE minimind_x_total counter\nminimind_x_total 3\n"
            "# HELP minimind_ratio A ratio.\n# TYPE minimind_ratio gauge\nminimind_ratio 0.25\n");
}

TEST(PrometheusTextTest, LabelValuesAreEscaped) {
  PrometheusText out;
  out.Sample("m", {{"a", "q\"b\\s\nn"}, {"b", "plain"}}, 1);
  EXPECT_EQ(out.text(), "m{a=\"q\\\"b\\\\s\\nn\",b=\"plain\"} 1\n");
}

TEST(PrometheusTextTest, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  Histogram histogram({0.001, 0.01, 0.1});
  histogram.Observe(0.0005);
  histogram.Observe(0.01);  // Upper bounds are inclusive.
  histogram.Observe(0.05);
  histogram.Observe(7);
  PrometheusText out;
  out.Histogram("h_seconds", "H.", histogram.Read());
  EXPECT_EQ(out.text(),
            "# HELP h_seconds H.\n# TYPE h_seconds histogram\n"
            "h_seconds_bucket{le=\"0.001\"} 1\n"
            "h_seconds_bucket{le=\"0.01\"} 2\n"
            "h_seconds_bucket{le=\"0.1\"} 3\n"
            "h_seconds_bucket{le=\"+Inf\"} 4\n"
            "h_seconds_sum 7.0605\n"
            "h_seconds_count 4\n");
}

TEST(LabeledCounterTest, OneCounterPerLabelTupleInOrder) {
  LabeledCounter counter;
  counter.At({"b", "OK"}).Add(2);
  counter.At({"a", "NOT_FOUND"}).Increment();
  counter.At({"b", "OK"}).Increment();
  const auto values = counter.Values();
  ASSERT_EQ(values.size(), 2u);
  EXPECT_EQ(values[0].first, (std::vector<std::string>{"a", "NOT_FOUND"}));
  EXPECT_EQ(values[0].second, 1);
  EXPECT_EQ(values[1].second, 3);
}

}  // namespace
}  // namespace minimind
