// SHA-256 (OpenSSL's libcrypto) and a constant-time comparison, for API keys: the server stores
// only keys' digests and compares digests without an early exit.
#ifndef MINIMIND_SERVICE_AUTH_SHA256_H_
#define MINIMIND_SERVICE_AUTH_SHA256_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace minimind {

using Sha256Digest = std::array<uint8_t, 32>;

Sha256Digest Sha256(absl::string_view data);

// 64 lowercase hex digits.
std::string Sha256Hex(const Sha256Digest& digest);
// nullopt unless `hex` is exactly 64 hex digits (either case).
std::optional<Sha256Digest> ParseSha256Hex(absl::string_view hex);

// True if equal; takes the same time wherever they differ.
bool ConstantTimeEqual(const Sha256Digest& a, const Sha256Digest& b);

}  // namespace minimind

#endif  // MINIMIND_SERVICE_AUTH_SHA256_H_
