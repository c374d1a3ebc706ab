// Early-return helpers for absl::Status / absl::StatusOr, so loaders that validate dozens of
// fields stay readable. Usable in functions returning absl::Status or any absl::StatusOr<T>.
#ifndef MINIMIND_ENGINE_BASE_STATUS_MACROS_H_
#define MINIMIND_ENGINE_BASE_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"

// Evaluates an absl::Status expression and returns it from the caller when it is not OK.
#define MINIMIND_RETURN_IF_ERROR(expression)                                  \
  do {                                                                        \
    if (absl::Status minimind_status = (expression); !minimind_status.ok()) { \
      return minimind_status;                                                 \
    }                                                                         \
  } while (false)

// `MINIMIND_ASSIGN_OR_RETURN(lhs, statusor_expression);` assigns the value to `lhs` (which may
// be a declaration such as `auto x`) or returns the error. Expands to several statements: do not
// use it as the body of an unbraced if.
#define MINIMIND_ASSIGN_OR_RETURN(lhs, expression)                                           \
  MINIMIND_ASSIGN_OR_RETURN_IMPL(MINIMIND_STATUS_CONCAT(minimind_status_or_, __LINE__), lhs, \
                                 expression)
#define MINIMIND_ASSIGN_OR_RETURN_IMPL(holder, lhs, expression) \
  auto holder = (expression);                                   \
  if (!holder.ok()) return std::move(holder).status();          \
  lhs = *std::move(holder)
#define MINIMIND_STATUS_CONCAT(a, b) MINIMIND_STATUS_CONCAT_INNER(a, b)
#define MINIMIND_STATUS_CONCAT_INNER(a, b) a##b

#endif  // MINIMIND_ENGINE_BASE_STATUS_MACROS_H_
