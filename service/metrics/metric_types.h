// Lock-free metric cells for the /metrics endpoint: Counter (monotonic), LabeledCounter (one
// Counter per label value tuple) and Histogram (fixed bucket bounds). Recording is a few relaxed
// atomic adds, safe from any thread (the engine thread records request results); reading for a
// scrape never blocks a recorder except LabeledCounter's creation of a new label tuple.
//
// Values are read without a common snapshot: a scrape may see a histogram's count one ahead of
// its sum, as every Prometheus client library allows.
#ifndef MINIMIND_SERVICE_METRICS_METRIC_TYPES_H_
#define MINIMIND_SERVICE_METRICS_METRIC_TYPES_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace minimind {

class Counter {
 public:
  void Add(int64_t delta) { value_.fetch_add(delta, std::memory_order_relaxed); }
  void Increment() { Add(1); }
  int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

// Counters keyed by a tuple of label values (the label names are the family's, fixed by the
// caller). For small label sets: finish reasons, gRPC method x status code.
class LabeledCounter {
 public:
  // The counter of `labels`, created at zero on first use. The reference stays valid for the
  // LabeledCounter's lifetime.
  Counter& At(const std::vector<std::string>& labels);

  // Every label tuple seen, in lexicographic order, with its value.
  std::vector<std::pair<std::vector<std::string>, int64_t>> Values() const;

 private:
  mutable absl::Mutex mutex_;
  std::map<std::vector<std::string>, std::unique_ptr<Counter>> counters_ ABSL_GUARDED_BY(mutex_);
};

// Cumulative histogram of non-negative observations (seconds here). `bounds` are the buckets'
// inclusive upper bounds in ascending order; the +Inf bucket is implicit.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);

  void Observe(double value);

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<int64_t> cumulative_counts;  // bounds.size() + 1 entries; the last is +Inf
    double sum = 0;
    int64_t count = 0;
  };
  Snapshot Read() const;

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<int64_t>[]> counts_;  // per bucket, not cumulative
  std::atomic<double> sum_{0};
  std::atomic<int64_t> count_{0};
};

}  // namespace minimind

#endif  // MINIMIND_SERVICE_METRICS_METRIC_TYPES_H_
