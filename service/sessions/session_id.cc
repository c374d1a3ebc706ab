#include "service/sessions/session_id.h"

#include <sys/random.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace minimind {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr size_t kIdHexDigits = 32;

// Hex digit value of every byte, -1 for non-digits (a table: ids are parsed on every request).
struct HexTable {
  int8_t value[256];
  constexpr HexTable() : value() {
    for (int c = 0; c < 256; ++c) value[c] = -1;
    for (int c = '0'; c <= '9'; ++c) value[c] = static_cast<int8_t>(c - '0');
    for (int c = 'a'; c <= 'f'; ++c) value[c] = static_cast<int8_t>(c - 'a' + 10);
    for (int c = 'A'; c <= 'F'; ++c) value[c] = static_cast<int8_t>(c - 'A' + 10);
  }
};
constexpr HexTable kHexTable;

int HexValue(char c) { return kHexTable.value[static_cast<unsigned char>(c)]; }

// The 16 hex digits at `digits` as a word; sets bits of `bad` if any is not a hex digit.
uint64_t ParseWord(const char* digits, int& bad) {
  uint64_t word = 0;
  int any_bad = 0;
  for (int i = 0; i < 16; ++i) {
    const int value = HexValue(digits[i]);
    any_bad |= value;  // -1 sets every bit, digits never set bit 4+
    word = (word << 4) | static_cast<uint64_t>(value & 0xf);
  }
  bad |= any_bad & ~0xf;
  return word;
}

uint64_t LoadWord(const unsigned char* bytes) {
  uint64_t word = 0;
  for (int i = 0; i < 8; ++i) word = (word << 8) | bytes[i];
  return word;
}

}  // namespace

std::string SessionKeyToId(const SessionKey& key) {
  std::string id(kIdHexDigits, '0');
  for (int i = 0; i < 16; ++i) {
    id[15 - i] = kHexDigits[(key.high >> (4 * i)) & 0xf];
    id[31 - i] = kHexDigits[(key.low >> (4 * i)) & 0xf];
  }
  return id;
}

absl::StatusOr<SessionKey> SessionKeyFromId(absl::string_view id) {
  if (id.empty()) return absl::InvalidArgumentError("session id is empty");
  if (id.size() != kIdHexDigits) {
    return absl::InvalidArgumentError(absl::StrCat("session id must be ", kIdHexDigits,
                                                   " hex digits, got ", id.size(), " characters"));
  }
  int bad = 0;
  SessionKey key;
  key.high = ParseWord(id.data(), bad);
  key.low = ParseWord(id.data() + 16, bad);
  if (bad == 0) return key;
  for (size_t i = 0; i < kIdHexDigits; ++i) {
    if (HexValue(id[i]) < 0) {
      return absl::InvalidArgumentError(absl::StrCat("session id must be ", kIdHexDigits,
                                                     " hex digits; character ", i, " is not one"));
    }
  }
  return key;
}

absl::StatusOr<SessionKey> SessionIdGenerator::Next() {
  absl::MutexLock lock(&mutex_);
  if (used_ + 16 > kBufferBytes) {
    size_t filled = 0;
    while (filled < kBufferBytes) {
      const ssize_t got = getrandom(buffer_.data() + filled, kBufferBytes - filled, 0);
      if (got < 0) {
        if (errno == EINTR) continue;
        return absl::InternalError(
            absl::StrCat("cannot read the kernel CSPRNG (getrandom): ", std::strerror(errno)));
      }
      filled += static_cast<size_t>(got);
    }
    used_ = 0;
  }
  const unsigned char* bytes = buffer_.data() + used_;
  SessionKey key{LoadWord(bytes), LoadWord(bytes + 8)};
  // Each byte serves one id only; wipe it so no later read of the buffer can recover the id.
  std::memset(buffer_.data() + used_, 0, 16);
  used_ += 16;
  return key;
}

}  // namespace minimind
