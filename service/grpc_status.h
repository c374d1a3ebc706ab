// ToGrpcStatus: the one place where engine/service absl::Status values become grpc::Status.
// The canonical codes map one to one (absl and gRPC share the numbering); the message is kept.
// FinishUnary: the end of every unary callback RPC whose work is done inline.
#ifndef MINIMIND_SERVICE_GRPC_STATUS_H_
#define MINIMIND_SERVICE_GRPC_STATUS_H_

#include <grpcpp/support/server_callback.h>
#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace minimind {

grpc::Status ToGrpcStatus(const absl::Status& status);

// Finishes the call with `status` on the context's default reactor and returns that reactor:
// `return FinishUnary(context, DoTheWork(...));` from a callback unary method.
grpc::ServerUnaryReactor* FinishUnary(grpc::CallbackServerContext* context,
                                      const absl::Status& status);

}  // namespace minimind

#endif  // MINIMIND_SERVICE_GRPC_STATUS_H_
