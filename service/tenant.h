// The tenant every request belongs to until authentication exists: sessions are owned by it and
// the prefix cache salt is derived from it (one tenant: every request may share cached prefixes).
#ifndef MINIMIND_SERVICE_TENANT_H_
#define MINIMIND_SERVICE_TENANT_H_

#include "absl/strings/string_view.h"

namespace minimind {

inline constexpr absl::string_view kDefaultTenant = "default";

}  // namespace minimind

#endif  // MINIMIND_SERVICE_TENANT_H_
