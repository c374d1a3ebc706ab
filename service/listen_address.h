// ListenAddress: a HOST:PORT flag value split for an HTTP listener (cpp-httplib wants the host
// without IPv6 brackets). Shared by the /metrics and OpenAI-compatible HTTP listeners.
#ifndef MINIMIND_SERVICE_LISTEN_ADDRESS_H_
#define MINIMIND_SERVICE_LISTEN_ADDRESS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace minimind {

struct ListenAddress {
  std::string host;  // without [ ] around an IPv6 address
  int port = 0;      // 0: pick a free port
};

// InvalidArgument "<what> listen address "<listen>" is not HOST:PORT" otherwise.
absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view listen, absl::string_view what);

}  // namespace minimind

#endif  // MINIMIND_SERVICE_LISTEN_ADDRESS_H_
