#include "service/sessions/redis_url.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace minimind {

namespace {

constexpr absl::string_view kScheme = "redis://";

absl::Status BadUrl(absl::string_view url, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid Redis URL \"", url, "\": expected redis://HOST:PORT[/DB] (", problem, ")"));
}

bool AllDigits(absl::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

std::string RedisAddress::HostPort() const {
  if (absl::StrContains(host, ':')) return absl::StrCat("[", host, "]:", port);
  return absl::StrCat(host, ":", port);
}

absl::StatusOr<RedisAddress> ParseRedisUrl(absl::string_view url) {
  if (!absl::StartsWith(url, kScheme)) return BadUrl(url, "the scheme must be redis://");
  absl::string_view rest = url.substr(kScheme.size());
  if (absl::StrContains(rest, '@')) return BadUrl(url, "credentials are not supported");
  if (absl::StrContains(rest, '?') || absl::StrContains(rest, '#')) {
    return BadUrl(url, "a query or fragment is not supported");
  }
  RedisAddress address;
  absl::string_view db_text;
  if (const size_t slash = rest.find('/'); slash != absl::string_view::npos) {
    db_text = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    if (!AllDigits(db_text)) return BadUrl(url, "DB must be a non-negative decimal number");
    if (!absl::SimpleAtoi(db_text, &address.db)) return BadUrl(url, "DB is out of range");
  }
  absl::string_view host;
  absl::string_view port_text;
  if (absl::StartsWith(rest, "[")) {
    const size_t close = rest.find(']');
    if (close == absl::string_view::npos) return BadUrl(url, "unclosed '[' in the host");
    host = rest.substr(1, close - 1);
    if (rest.substr(close + 1, 1) != ":") return BadUrl(url, "missing :PORT");
    port_text = rest.substr(close + 2);
  } else {
    const size_t colon = rest.rfind(':');
    if (colon == absl::string_view::npos) return BadUrl(url, "missing :PORT");
    host = rest.substr(0, colon);
    port_text = rest.substr(colon + 1);
    if (absl::StrContains(host, ':')) return BadUrl(url, "an IPv6 host must be in brackets");
  }
  if (host.empty()) return BadUrl(url, "missing HOST");
  int port = 0;
  if (!AllDigits(port_text) || !absl::SimpleAtoi(port_text, &port) || port < 1 || port > 65535) {
    return BadUrl(url, "PORT must be a number from 1 to 65535");
  }
  address.host = std::string(host);
  address.port = port;
  return address;
}

}  // namespace minimind
