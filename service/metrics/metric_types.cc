#include "service/metrics/metric_types.h"

#include <algorithm>
#include <utility>

namespace minimind {

Counter& LabeledCounter::At(const std::vector<std::string>& labels) {
  absl::MutexLock lock(&mutex_);
  std::unique_ptr<Counter>& counter = counters_[labels];
  if (counter == nullptr) counter = std::make_unique<Counter>();
  return *counter;
}

std::vector<std::pair<std::vector<std::string>, int64_t>> LabeledCounter::Values() const {
  absl::MutexLock lock(&mutex_);
  std::vector<std::pair<std::vector<std::string>, int64_t>> values;
  values.reserve(counters_.size());
  for (const auto& [labels, counter] : counters_) values.emplace_back(labels, counter->value());
  return values;
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      counts_(std::make_unique<std::atomic<int64_t>[]>(bounds_.size() + 1)) {
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double value) {
  const size_t bucket = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  double sum = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(sum, sum + value, std::memory_order_relaxed)) {
  }
  count_.fetch_add(1, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot snapshot;
  snapshot.bounds = bounds_;
  snapshot.cumulative_counts.resize(bounds_.size() + 1);
  int64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    snapshot.cumulative_counts[i] = running;
  }
  snapshot.sum = sum_.load(std::memory_order_relaxed);
  // The +Inf bucket is the count, so the two agree in the exposition.
  snapshot.count = running;
  return snapshot;
}

}  // namespace minimind
