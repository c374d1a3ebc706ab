// SessionsService: minimind.v1.Sessions over the SessionStore. Every RPC completes inline (store
// operations take one shard lock). Turns themselves go through Inference.Generate/Complete with
// session_id. UNAVAILABLE until the model (and its store) is published. Thread-safe; the slot
// must outlive it.
#ifndef MINIMIND_SERVICE_SESSIONS_SERVICE_H_
#define MINIMIND_SERVICE_SESSIONS_SERVICE_H_

#include "minimind/v1/sessions.grpc.pb.h"
#include "service/serving_model.h"

namespace minimind {

class SessionsService final : public v1::Sessions::CallbackService {
 public:
  explicit SessionsService(const ModelSlot& model);

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
  // The published store, or UNAVAILABLE.
  absl::StatusOr<SessionStore*> Store() const;

  const ModelSlot& model_;
};

}  // namespace minimind

#endif  // MINIMIND_SERVICE_SESSIONS_SERVICE_H_
