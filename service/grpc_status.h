// ToGrpcStatus: the one place where engine/service absl::Status values become grpc::Status.
// The canonical codes map one to one (absl and gRPC share the numbering); the message is kept.
#ifndef MINIMIND_SERVICE_GRPC_STATUS_H_
#define MINIMIND_SERVICE_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace minimind {

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace minimind

#endif  // MINIMIND_SERVICE_GRPC_STATUS_H_
