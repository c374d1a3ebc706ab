#include "service/generation/session_admin.h"

#include <cstdint>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/base/status_macros.h"
#include "service/request_checks.h"

namespace minimind {

absl::StatusOr<ServingModel*> SessionAdmin::Model() const {
  MINIMIND_ASSIGN_OR_RETURN(ServingModel * model, model_.Get());
  if (model->sessions == nullptr) {
    return absl::FailedPreconditionError("this server runs without sessions");
  }
  return model;
}

absl::Status SessionAdmin::CheckSessionLimit(SessionStore& store, const Tenant& tenant) const {
  const int64_t limit = tenant.limits.max_sessions;
  if (limit <= 0) return absl::OkStatus();
  MINIMIND_ASSIGN_OR_RETURN(const int64_t owned, store.CountSessions(tenant.name));
  if (owned < limit) return absl::OkStatus();
  return absl::ResourceExhaustedError(absl::StrCat("tenant ", tenant.name, " is at its limit of ",
                                                   limit,
                                                   " sessions (max_sessions); delete one first"));
}

absl::StatusOr<SessionSnapshot> SessionAdmin::Create(const Tenant& tenant,
                                                     absl::string_view system_prompt,
                                                     absl::Duration ttl, SessionLabels labels,
                                                     ContextOverflow context_overflow) const {
  MINIMIND_ASSIGN_OR_RETURN(ServingModel * model, Model());
  const int64_t max_bytes = model->prompts->limits().max_prompt_bytes;
  if (static_cast<int64_t>(system_prompt.size()) > max_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("system_prompt is ", system_prompt.size(),
                                                   " bytes; the limit is ", max_bytes));
  }
  MINIMIND_RETURN_IF_ERROR(CheckUtf8("system_prompt", system_prompt));
  for (const auto& [key, value] : labels) {
    MINIMIND_RETURN_IF_ERROR(CheckUtf8("a labels key", key));
    MINIMIND_RETURN_IF_ERROR(CheckUtf8(absl::StrCat("labels[\"", key, "\"]"), value));
  }
  MINIMIND_RETURN_IF_ERROR(CheckSessionLimit(*model->sessions, tenant));
  return model->sessions->Create(tenant.name, system_prompt, ttl, std::move(labels),
                                 context_overflow);
}

absl::StatusOr<SessionSnapshot> SessionAdmin::Get(const Tenant& tenant,
                                                  absl::string_view id) const {
  MINIMIND_RETURN_IF_ERROR(CheckUtf8("session_id", id));
  MINIMIND_ASSIGN_OR_RETURN(ServingModel * model, Model());
  return model->sessions->Get(id, tenant.name);
}

absl::StatusOr<SessionPage> SessionAdmin::List(const Tenant& tenant, int page_size,
                                               absl::string_view page_token) const {
  MINIMIND_RETURN_IF_ERROR(CheckUtf8("page_token", page_token));
  MINIMIND_ASSIGN_OR_RETURN(ServingModel * model, Model());
  return model->sessions->List(tenant.name, page_size, page_token);
}

absl::Status SessionAdmin::Delete(const Tenant& tenant, absl::string_view id) const {
  MINIMIND_RETURN_IF_ERROR(CheckUtf8("session_id", id));
  MINIMIND_ASSIGN_OR_RETURN(ServingModel * model, Model());
  MINIMIND_RETURN_IF_ERROR(model->sessions->Delete(id, tenant.name));
  if (model->kv_spill != nullptr) model->kv_spill->Forget(id);  // nothing of it stays on disk
  return absl::OkStatus();
}

absl::StatusOr<SessionSnapshot> SessionAdmin::Fork(const Tenant& tenant, absl::string_view id,
                                                   std::optional<absl::Duration> ttl) const {
  MINIMIND_RETURN_IF_ERROR(CheckUtf8("session_id", id));
  MINIMIND_ASSIGN_OR_RETURN(ServingModel * model, Model());
  MINIMIND_RETURN_IF_ERROR(CheckSessionLimit(*model->sessions, tenant));
  return model->sessions->Fork(id, tenant.name, ttl);
}

}  // namespace minimind
