#include "service/sessions_service.h"

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "engine/base/status_macros.h"
#include "service/grpc_status.h"
#include "service/request_checks.h"

namespace minimind {
namespace {

void SetTimestamp(absl::Time time, google::protobuf::Timestamp& out) {
  const int64_t nanos = absl::ToUnixNanos(time);
  out.set_seconds(nanos / 1000000000);
  out.set_nanos(static_cast<int32_t>(nanos % 1000000000));
}

void SetDuration(absl::Duration duration, google::protobuf::Duration& out) {
  const int64_t nanos = absl::ToInt64Nanoseconds(duration);
  out.set_seconds(nanos / 1000000000);
  out.set_nanos(static_cast<int32_t>(nanos % 1000000000));
}

// InvalidArgument for negative or out-of-range proto durations; the store checks its own limits.
absl::StatusOr<absl::Duration> FromProtoDuration(const google::protobuf::Duration& duration) {
  if (duration.seconds() < 0 || duration.nanos() < 0 || duration.nanos() >= 1000000000) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ttl must be non-negative, got ", duration.seconds(), "s ", duration.nanos(), "ns"));
  }
  return absl::Seconds(duration.seconds()) + absl::Nanoseconds(duration.nanos());
}

void ToProto(const SessionSnapshot& session, v1::Session& out) {
  out.set_session_id(session.id);
  out.set_system_prompt(session.system_prompt);
  for (const auto& [key, value] : session.labels) (*out.mutable_labels())[key] = value;
  for (const ChatMessage& message : session.messages) {
    v1::ChatMessage* entry = out.add_messages();
    entry->set_role(message.role);
    entry->set_content(message.content.value_or(""));
    entry->set_reasoning_content(message.reasoning_content.value_or(""));
  }
  out.set_num_tokens(session.num_tokens);
  out.set_kv_cached(session.kv_cached());
  SetTimestamp(session.created, *out.mutable_created());
  SetTimestamp(session.last_used, *out.mutable_last_used());
  SetTimestamp(session.expires, *out.mutable_expires());
  SetDuration(session.ttl, *out.mutable_ttl());
  out.set_busy(session.busy);
  out.set_turns(session.turns);
  out.set_context_overflow(session.context_overflow == ContextOverflow::kError
                               ? v1::CONTEXT_OVERFLOW_ERROR
                               : v1::CONTEXT_OVERFLOW_TRUNCATE);
  out.set_window_start(session.window_start);
}

}  // namespace

SessionsService::SessionsService(const ServiceDependencies& deps, const SessionAdmin& admin,
                                 IoExecutor& session_calls)
    : deps_(deps), admin_(admin), session_calls_(session_calls) {}

grpc::ServerUnaryReactor* SessionsService::Defer(grpc::CallbackServerContext* context,
                                                 absl::AnyInvocable<absl::Status() &&> work) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  session_calls_.Post([reactor, work = std::move(work)]() mutable {
    reactor->Finish(ToGrpcStatus(std::move(work)()));
  });
  return reactor;
}

absl::StatusOr<std::shared_ptr<const Tenant>> SessionsService::Caller(
    const grpc::CallbackServerContext& context, const google::protobuf::Message& request) const {
  MINIMIND_RETURN_IF_ERROR(CheckRequestParsed(request));
  return deps_.authenticator.Authenticate(context);
}

absl::Status SessionsService::Create(const grpc::CallbackServerContext& context,
                                     const v1::CreateSessionRequest& request,
                                     v1::Session& response) const {
  MINIMIND_ASSIGN_OR_RETURN(std::shared_ptr<const Tenant> tenant, Caller(context, request));
  MINIMIND_ASSIGN_OR_RETURN(absl::Duration ttl, FromProtoDuration(request.ttl()));
  SessionLabels labels(request.labels().begin(), request.labels().end());
  const ContextOverflow overflow = request.context_overflow() == v1::CONTEXT_OVERFLOW_ERROR
                                       ? ContextOverflow::kError
                                       : ContextOverflow::kTruncate;
  MINIMIND_ASSIGN_OR_RETURN(
      SessionSnapshot session,
      admin_.Create(*tenant, request.system_prompt(), ttl, std::move(labels), overflow));
  ToProto(session, response);
  return absl::OkStatus();
}

absl::Status SessionsService::Get(const grpc::CallbackServerContext& context,
                                  const v1::GetSessionRequest& request,
                                  v1::Session& response) const {
  MINIMIND_ASSIGN_OR_RETURN(std::shared_ptr<const Tenant> tenant, Caller(context, request));
  MINIMIND_ASSIGN_OR_RETURN(SessionSnapshot session, admin_.Get(*tenant, request.session_id()));
  ToProto(session, response);
  return absl::OkStatus();
}

absl::Status SessionsService::List(const grpc::CallbackServerContext& context,
                                   const v1::ListSessionsRequest& request,
                                   v1::ListSessionsResponse& response) const {
  MINIMIND_ASSIGN_OR_RETURN(std::shared_ptr<const Tenant> tenant, Caller(context, request));
  MINIMIND_ASSIGN_OR_RETURN(SessionPage page,
                            admin_.List(*tenant, request.page_size(), request.page_token()));
  for (const SessionSnapshot& session : page.sessions) ToProto(session, *response.add_sessions());
  response.set_next_page_token(page.next_page_token);
  return absl::OkStatus();
}

absl::Status SessionsService::Fork(const grpc::CallbackServerContext& context,
                                   const v1::ForkSessionRequest& request,
                                   v1::Session& response) const {
  MINIMIND_ASSIGN_OR_RETURN(std::shared_ptr<const Tenant> tenant, Caller(context, request));
  std::optional<absl::Duration> ttl;
  if (request.has_ttl()) {
    MINIMIND_ASSIGN_OR_RETURN(ttl, FromProtoDuration(request.ttl()));
  }
  MINIMIND_ASSIGN_OR_RETURN(SessionSnapshot session,
                            admin_.Fork(*tenant, request.session_id(), ttl));
  ToProto(session, response);
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* SessionsService::CreateSession(grpc::CallbackServerContext* context,
                                                         const v1::CreateSessionRequest* request,
                                                         v1::Session* response) {
  return Defer(context, [this, context, request, response] {
    return Create(*context, *request, *response);
  });
}

grpc::ServerUnaryReactor* SessionsService::GetSession(grpc::CallbackServerContext* context,
                                                      const v1::GetSessionRequest* request,
                                                      v1::Session* response) {
  return Defer(context,
               [this, context, request, response] { return Get(*context, *request, *response); });
}

grpc::ServerUnaryReactor* SessionsService::ListSessions(grpc::CallbackServerContext* context,
                                                        const v1::ListSessionsRequest* request,
                                                        v1::ListSessionsResponse* response) {
  return Defer(context,
               [this, context, request, response] { return List(*context, *request, *response); });
}

grpc::ServerUnaryReactor* SessionsService::DeleteSession(grpc::CallbackServerContext* context,
                                                         const v1::DeleteSessionRequest* request,
                                                         v1::DeleteSessionResponse* /*response*/) {
  return Defer(context, [this, context, request]() -> absl::Status {
    MINIMIND_ASSIGN_OR_RETURN(std::shared_ptr<const Tenant> tenant, Caller(*context, *request));
    return admin_.Delete(*tenant, request->session_id());
  });
}

grpc::ServerUnaryReactor* SessionsService::ForkSession(grpc::CallbackServerContext* context,
                                                       const v1::ForkSessionRequest* request,
                                                       v1::Session* response) {
  return Defer(context,
               [this, context, request, response] { return Fork(*context, *request, *response); });
}

}  // namespace minimind
