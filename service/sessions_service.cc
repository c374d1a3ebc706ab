#include "service/sessions_service.h"

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
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
  out.set_kv_cached(session.kv != nullptr || session.kv_blocks > 0);
  SetTimestamp(session.created, *out.mutable_created());
  SetTimestamp(session.last_used, *out.mutable_last_used());
  SetTimestamp(session.expires, *out.mutable_expires());
  SetDuration(session.ttl, *out.mutable_ttl());
  out.set_busy(session.busy);
  out.set_turns(session.turns);
}

}  // namespace

SessionsService::SessionsService(const ServiceDependencies& deps) : deps_(deps) {}

absl::StatusOr<SessionsService::SessionCaller> SessionsService::Caller(
    const grpc::CallbackServerContext& context) const {
  absl::StatusOr<ServingModel*> model = deps_.model.Get();
  if (!model.ok()) return model.status();
  if ((*model)->sessions == nullptr) {
    return absl::FailedPreconditionError("this server runs without sessions");
  }
  absl::StatusOr<std::shared_ptr<const Tenant>> tenant = deps_.authenticator.Authenticate(context);
  if (!tenant.ok()) return tenant.status();
  return SessionCaller{(*model)->sessions.get(), *std::move(tenant)};
}

absl::Status SessionsService::CheckSessionLimit(const SessionCaller& caller) const {
  const int64_t limit = caller.tenant->limits.max_sessions;
  if (limit <= 0) return absl::OkStatus();
  absl::StatusOr<int64_t> owned = caller.store->CountSessions(caller.owner());
  if (!owned.ok()) return owned.status();
  if (*owned < limit) return absl::OkStatus();
  return absl::ResourceExhaustedError(absl::StrCat("tenant ", caller.owner(),
                                                   " is at its limit of ", limit,
                                                   " sessions (max_sessions); delete one first"));
}

grpc::ServerUnaryReactor* SessionsService::CreateSession(grpc::CallbackServerContext* context,
                                                         const v1::CreateSessionRequest* request,
                                                         v1::Session* response) {
  if (absl::Status s = CheckRequestParsed(*request); !s.ok()) return FinishUnary(context, s);
  absl::StatusOr<SessionCaller> caller = Caller(*context);
  if (!caller.ok()) return FinishUnary(context, caller.status());
  absl::StatusOr<absl::Duration> ttl = FromProtoDuration(request->ttl());
  if (!ttl.ok()) return FinishUnary(context, ttl.status());
  const int64_t max_bytes = deps_.model.get()->prompts->limits().max_prompt_bytes;
  if (static_cast<int64_t>(request->system_prompt().size()) > max_bytes) {
    return FinishUnary(context, absl::InvalidArgumentError(absl::StrCat(
                                    "system_prompt is ", request->system_prompt().size(),
                                    " bytes; the limit is ", max_bytes)));
  }
  if (absl::Status s = CheckUtf8("system_prompt", request->system_prompt()); !s.ok()) {
    return FinishUnary(context, s);
  }
  for (const auto& [key, value] : request->labels()) {
    if (absl::Status s = CheckUtf8("a labels key", key); !s.ok()) return FinishUnary(context, s);
    if (absl::Status s = CheckUtf8(absl::StrCat("labels[\"", key, "\"]"), value); !s.ok()) {
      return FinishUnary(context, s);
    }
  }
  if (absl::Status s = CheckSessionLimit(*caller); !s.ok()) return FinishUnary(context, s);
  SessionLabels labels(request->labels().begin(), request->labels().end());
  absl::StatusOr<SessionSnapshot> session =
      caller->store->Create(caller->owner(), request->system_prompt(), *ttl, std::move(labels));
  if (session.ok()) ToProto(*session, *response);
  return FinishUnary(context, session.status());
}

grpc::ServerUnaryReactor* SessionsService::GetSession(grpc::CallbackServerContext* context,
                                                      const v1::GetSessionRequest* request,
                                                      v1::Session* response) {
  if (absl::Status s = CheckRequestParsed(*request); !s.ok()) return FinishUnary(context, s);
  if (absl::Status s = CheckUtf8("session_id", request->session_id()); !s.ok())
    return FinishUnary(context, s);
  absl::StatusOr<SessionCaller> caller = Caller(*context);
  if (!caller.ok()) return FinishUnary(context, caller.status());
  absl::StatusOr<SessionSnapshot> session =
      caller->store->Get(request->session_id(), caller->owner());
  if (session.ok()) ToProto(*session, *response);
  return FinishUnary(context, session.status());
}

grpc::ServerUnaryReactor* SessionsService::ListSessions(grpc::CallbackServerContext* context,
                                                        const v1::ListSessionsRequest* request,
                                                        v1::ListSessionsResponse* response) {
  if (absl::Status s = CheckRequestParsed(*request); !s.ok()) return FinishUnary(context, s);
  if (absl::Status s = CheckUtf8("page_token", request->page_token()); !s.ok())
    return FinishUnary(context, s);
  absl::StatusOr<SessionCaller> caller = Caller(*context);
  if (!caller.ok()) return FinishUnary(context, caller.status());
  absl::StatusOr<SessionPage> page =
      caller->store->List(caller->owner(), request->page_size(), request->page_token());
  if (page.ok()) {
    for (const SessionSnapshot& session : page->sessions) {
      ToProto(session, *response->add_sessions());
    }
    response->set_next_page_token(page->next_page_token);
  }
  return FinishUnary(context, page.status());
}

grpc::ServerUnaryReactor* SessionsService::DeleteSession(grpc::CallbackServerContext* context,
                                                         const v1::DeleteSessionRequest* request,
                                                         v1::DeleteSessionResponse* response) {
  if (absl::Status s = CheckRequestParsed(*request); !s.ok()) return FinishUnary(context, s);
  if (absl::Status s = CheckUtf8("session_id", request->session_id()); !s.ok())
    return FinishUnary(context, s);
  absl::StatusOr<SessionCaller> caller = Caller(*context);
  if (!caller.ok()) return FinishUnary(context, caller.status());
  return FinishUnary(context, caller->store->Delete(request->session_id(), caller->owner()));
}

grpc::ServerUnaryReactor* SessionsService::ForkSession(grpc::CallbackServerContext* context,
                                                       const v1::ForkSessionRequest* request,
                                                       v1::Session* response) {
  if (absl::Status s = CheckRequestParsed(*request); !s.ok()) return FinishUnary(context, s);
  if (absl::Status s = CheckUtf8("session_id", request->session_id()); !s.ok())
    return FinishUnary(context, s);
  absl::StatusOr<SessionCaller> caller = Caller(*context);
  if (!caller.ok()) return FinishUnary(context, caller.status());
  std::optional<absl::Duration> ttl;
  if (request->has_ttl()) {
    absl::StatusOr<absl::Duration> parsed = FromProtoDuration(request->ttl());
    if (!parsed.ok()) return FinishUnary(context, parsed.status());
    ttl = *parsed;
  }
  if (absl::Status s = CheckSessionLimit(*caller); !s.ok()) return FinishUnary(context, s);
  absl::StatusOr<SessionSnapshot> session =
      caller->store->Fork(request->session_id(), caller->owner(), ttl);
  if (session.ok()) ToProto(*session, *response);
  return FinishUnary(context, session.status());
}

}  // namespace minimind
