// Test support for the session tests: a stand-in for the engine's KvHandle, a manual clock and
// chat messages.
//
// The store treats KvHandle as opaque: it only holds std::shared_ptr<const KvHandle> and asks the
// injected SessionStoreOptions::kv_blocks how many blocks one pins. FakeKv values are handed to it
// through shared_ptr's aliasing constructor and FakeKvBlocks casts back before reading, so no
// KvHandle is ever accessed as a different type.
#ifndef MINIMIND_TESTS_SERVICE_SESSIONS_FAKE_KV_H_
#define MINIMIND_TESTS_SERVICE_SESSIONS_FAKE_KV_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/time/time.h"
#include "service/sessions/memory_session_store.h"

namespace minimind {

struct FakeKv {
  int64_t blocks = 0;
};

inline std::shared_ptr<const KvHandle> MakeFakeKv(int64_t blocks) {
  auto fake = std::make_shared<FakeKv>(FakeKv{blocks});
  return std::shared_ptr<const KvHandle>(fake, reinterpret_cast<const KvHandle*>(fake.get()));
}

inline int64_t FakeKvBlocks(const KvHandle& kv) {
  return reinterpret_cast<const FakeKv&>(kv).blocks;
}

// Thread-safe manual clock starting at an arbitrary fixed instant.
class ManualClock {
 public:
  absl::Time Now() const { return absl::FromUnixNanos(nanos_.load(std::memory_order_relaxed)); }
  void Advance(absl::Duration by) {
    nanos_.fetch_add(absl::ToInt64Nanoseconds(by), std::memory_order_relaxed);
  }

 private:
  std::atomic<int64_t> nanos_{int64_t{1'700'000'000} * 1'000'000'000};
};

inline ChatMessage Message(std::string role, std::string content) {
  ChatMessage message;
  message.role = std::move(role);
  message.content = std::move(content);
  return message;
}

inline SessionStoreOptions TestOptions(const ManualClock& clock) {
  SessionStoreOptions options;
  options.num_shards = 4;
  options.default_ttl = absl::Seconds(60);
  options.max_ttl = absl::Hours(1);
  options.clock = [&clock] { return clock.Now(); };
  options.kv_blocks = FakeKvBlocks;
  return options;
}

}  // namespace minimind

#endif  // MINIMIND_TESTS_SERVICE_SESSIONS_FAKE_KV_H_
