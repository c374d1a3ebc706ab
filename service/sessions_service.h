// SessionsService: minimind.v1.Sessions — a thin adapter over SessionAdmin
// (service/generation/session_admin.h, shared with the HTTP API's /v1/sessions), each call as its
// authenticated tenant. Turns themselves go through
// Inference.Generate/Complete with session_id. Each RPC runs on the session-calls executor and
// finishes from there (a store call may wait on Redis). Thread-safe; `deps`, `admin` and the
// executor must outlive it.
#ifndef MINIMIND_SERVICE_SESSIONS_SERVICE_H_
#define MINIMIND_SERVICE_SESSIONS_SERVICE_H_

#include "absl/functional/any_invocable.h"
#include "minimind/v1/sessions.grpc.pb.h"
#include "service/generation/io_executor.h"
#include "service/generation/session_admin.h"
#include "service/service_dependencies.h"

namespace minimind {

class SessionsService final : public v1::Sessions::CallbackService {
 public:
  // `session_calls` runs every RPC (generation/io_executor.h): each may wait on the store.
  SessionsService(const ServiceDependencies& deps, const SessionAdmin& admin,
                  IoExecutor& session_calls);

  grpc::ServerUnaryReactor* CreateSession(grpc::CallbackServerContext* context,
                                          const v1::CreateSessionRequest* request,
                                          v1::Session* response) override;
  grpc::ServerUnaryReactor* GetSession(grpc::CallbackServerContext* context,
                                       const v1::GetSessionRequest* request,
                                       v1::Session* response) override;
  grpc::ServerUnaryReactor* ListSessions(grpc::CallbackServerContext* context,
                                         const v1::ListSessionsRequest* request,
                                         v1::ListSessionsResponse* response) override;
  grpc::ServerUnaryReactor* DeleteSession(grpc::CallbackServerContext* context,
                                          const v1::DeleteSessionRequest* request,
                                          v1::DeleteSessionResponse* response) override;
  grpc::ServerUnaryReactor* ForkSession(grpc::CallbackServerContext* context,
                                        const v1::ForkSessionRequest* request,
                                        v1::Session* response) override;

 private:
  // Runs `work` on the session-calls executor (a store call may wait on Redis; gRPC's callback
  // threads must not) and finishes the call with its status.
  grpc::ServerUnaryReactor* Defer(grpc::CallbackServerContext* context,
                                  absl::AnyInvocable<absl::Status() &&> work);
  // The authenticated tenant of a request that parsed, or why not.
  absl::StatusOr<std::shared_ptr<const Tenant>> Caller(
      const grpc::CallbackServerContext& context, const google::protobuf::Message& request) const;
  absl::Status Create(const grpc::CallbackServerContext& context,
                      const v1::CreateSessionRequest& request, v1::Session& response) const;
  absl::Status Get(const grpc::CallbackServerContext& context, const v1::GetSessionRequest& request,
                   v1::Session& response) const;
  absl::Status List(const grpc::CallbackServerContext& context,
                    const v1::ListSessionsRequest& request,
                    v1::ListSessionsResponse& response) const;
  absl::Status Fork(const grpc::CallbackServerContext& context,
                    const v1::ForkSessionRequest& request, v1::Session& response) const;

  const ServiceDependencies deps_;
  const SessionAdmin& admin_;
  IoExecutor& session_calls_;
};

}  // namespace minimind

#endif  // MINIMIND_SERVICE_SESSIONS_SERVICE_H_
