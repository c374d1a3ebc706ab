// SessionKey and SessionIdGenerator: the unguessable identity of a session.
//
// A session id is 128 bits drawn from the kernel CSPRNG (getrandom(2)), written as 32 lowercase hex
// digits. Knowing one id tells nothing about any other. Inside the store the id is kept as two
// 64-bit words (SessionKey), which are uniformly random, so any of their bits picks a shard.
//
// SessionIdGenerator reads the kernel CSPRNG 4 KiB at a time and hands out 16 bytes per id (one
// syscall per 256 ids); every byte is used once. Thread-safe (an internal mutex).
#ifndef MINIMIND_SERVICE_SESSIONS_SESSION_ID_H_
#define MINIMIND_SERVICE_SESSIONS_SESSION_ID_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace minimind {

struct SessionKey {
  uint64_t high = 0;
  uint64_t low = 0;

  friend bool operator==(const SessionKey& a, const SessionKey& b) {
    return a.high == b.high && a.low == b.low;
  }
  friend bool operator!=(const SessionKey& a, const SessionKey& b) { return !(a == b); }
  friend bool operator<(const SessionKey& a, const SessionKey& b) {
    return a.high != b.high ? a.high < b.high : a.low < b.low;
  }
  template <typename H>
  friend H AbslHashValue(H h, const SessionKey& key) {
    return H::combine(std::move(h), key.high, key.low);
  }
};

// 32 lowercase hex digits, high word first.
std::string SessionKeyToId(const SessionKey& key);

// Parses what SessionKeyToId writes (hex digits in either case). InvalidArgument names the problem.
absl::StatusOr<SessionKey> SessionKeyFromId(absl::string_view id);

class SessionIdGenerator {
 public:
  SessionIdGenerator() = default;
  SessionIdGenerator(const SessionIdGenerator&) = delete;
  SessionIdGenerator& operator=(const SessionIdGenerator&) = delete;

  // Internal if the kernel CSPRNG cannot be read (never falls back to a weaker source).
  absl::StatusOr<SessionKey> Next();

 private:
  static constexpr size_t kBufferBytes = 4096;

  absl::Mutex mutex_;
  std::array<unsigned char, kBufferBytes> buffer_ ABSL_GUARDED_BY(mutex_);
  size_t used_ ABSL_GUARDED_BY(mutex_) = kBufferBytes;  // bytes of buffer_ already handed out
};

}  // namespace minimind

#endif  // MINIMIND_SERVICE_SESSIONS_SESSION_ID_H_
