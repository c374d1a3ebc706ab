// SessionsService: minimind.v1.Sessions over the SessionStore, each call as its authenticated
// tenant (the owner of the sessions it creates; another tenant's session answers NOT_FOUND as a
// nonexistent one). Every RPC completes inline (store
// operations take one shard lock). Turns themselves go through Inference.Generate/Complete with
// session_id. UNAVAILABLE until the model (and its store) is published. Thread-safe; the slot
// must outlive it.
#ifndef MINIMIND_SERVICE_SESSIONS_SERVICE_H_
#define MINIMIND_SERVICE_SESSIONS_SERVICE_H_

#include "minimind/v1/sessions.grpc.pb.h"
#include "service/service_dependencies.h"

namespace minimind {

class SessionsService final : public v1::Sessions::CallbackService {
 public:
  explicit SessionsService(const ServiceDependencies& deps);

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
  struct SessionCaller {
    SessionStore* store;
    std::shared_ptr<const Tenant> tenant;
    const std::string& owner() const { return tenant->name; }
  };
  // The published store and the authenticated tenant (the owner of what it creates), or
  // UNAVAILABLE / UNAUTHENTICATED.
  absl::StatusOr<SessionCaller> Caller(const grpc::CallbackServerContext& context) const;
  // ResourceExhausted naming the limit when the tenant owns max_sessions already. Concurrent
  // creates of one tenant may overshoot it by their number.
  absl::Status CheckSessionLimit(const SessionCaller& caller) const;

  const ServiceDependencies deps_;
};

}  // namespace minimind

#endif  // MINIMIND_SERVICE_SESSIONS_SERVICE_H_
