// RedisAddress and ParseRedisUrl: where a RedisSessionStore finds its Redis, as given on the
// command line (`--session-store redis://HOST:PORT[/DB]`). A plain value; no I/O.
#ifndef MINIMIND_SERVICE_SESSIONS_REDIS_URL_H_
#define MINIMIND_SERVICE_SESSIONS_REDIS_URL_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace minimind {

struct RedisAddress {
  std::string host = "127.0.0.1";  // a name or an address; IPv6 without the brackets
  int port = 6379;
  int db = 0;  // SELECTed on every new connection when not 0

  // "HOST:PORT" (IPv6 hosts in brackets), for messages.
  std::string HostPort() const;
};

// Parses "redis://HOST:PORT" or "redis://HOST:PORT/DB": HOST a name, an IPv4 address or a
// bracketed IPv6 address; PORT 1..65535; DB a non-negative decimal integer. Anything else
// (another scheme, credentials, a query, a missing port) is InvalidArgument naming the problem.
absl::StatusOr<RedisAddress> ParseRedisUrl(absl::string_view url);

}  // namespace minimind

#endif  // MINIMIND_SERVICE_SESSIONS_REDIS_URL_H_
