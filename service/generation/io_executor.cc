#include "service/generation/io_executor.h"

#include <algorithm>
#include <utility>

namespace minimind {

IoExecutor::IoExecutor(int threads) {
  threads_.reserve(std::max(threads, 1));
  for (int i = 0; i < std::max(threads, 1); ++i) threads_.emplace_back([this] { Work(); });
}

IoExecutor::~IoExecutor() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  for (std::thread& thread : threads_) thread.join();
}

void IoExecutor::Post(absl::AnyInvocable<void() &&> job) {
  absl::MutexLock lock(&mutex_);
  jobs_.push_back(std::move(job));
}

bool IoExecutor::Flush(absl::Duration timeout) {
  absl::MutexLock lock(&mutex_);
  auto idle = [this]()
                  ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return jobs_.empty() && running_ == 0; };
  return mutex_.AwaitWithTimeout(absl::Condition(&idle), timeout);
}

int64_t IoExecutor::pending() const {
  absl::MutexLock lock(&mutex_);
  return static_cast<int64_t>(jobs_.size()) + running_;
}

void IoExecutor::Work() {
  while (true) {
    absl::AnyInvocable<void() &&> job;
    {
      absl::MutexLock lock(&mutex_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
        return !jobs_.empty() || stopping_;
      };
      mutex_.Await(absl::Condition(&ready));
      if (jobs_.empty()) return;  // Stopping, and every job has run.
      job = std::move(jobs_.front());
      jobs_.pop_front();
      ++running_;
    }
    std::move(job)();
    absl::MutexLock lock(&mutex_);
    --running_;
  }
}

}  // namespace minimind
