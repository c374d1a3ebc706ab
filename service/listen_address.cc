#include "service/listen_address.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace minimind {

absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view listen, absl::string_view what) {
  const size_t colon = listen.rfind(':');
  ListenAddress address;
  if (colon == absl::string_view::npos ||
      !absl::SimpleAtoi(listen.substr(colon + 1), &address.port) || address.port < 0 ||
      address.port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " listen address \"", listen, "\" is not HOST:PORT"));
  }
  address.host = std::string(listen.substr(0, colon));
  if (address.host.size() >= 2 && address.host.front() == '[' && address.host.back() == ']') {
    address.host = address.host.substr(1, address.host.size() - 2);
  }
  return address;
}

}  // namespace minimind
