// SessionAdmin: the session operations every front end offers (gRPC minimind.v1.Sessions, the
// HTTP API's /v1/sessions), with their checks written once: UTF-8 of every text field, the
// system prompt's byte limit, the tenant's max_sessions, then the SessionStore's own rules (TTL,
// labels, paging: session_store.h). Each call acts as the tenant the front end authenticated: the
// owner of what it creates; another tenant's session answers NOT_FOUND as a nonexistent one.
//
// UNAVAILABLE until the model (and its store) is published, and while draining; FAILED_PRECONDITION
// on a server without sessions. Store calls may touch the network (Redis): front ends call these on
// their own threads, never on the engine thread. Thread-safety: every method from any thread; the
// slot must outlive the admin.
#ifndef MINIMIND_SERVICE_GENERATION_SESSION_ADMIN_H_
#define MINIMIND_SERVICE_GENERATION_SESSION_ADMIN_H_

#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "service/auth/tenant.h"
#include "service/serving_model.h"
#include "service/sessions/session_snapshot.h"

namespace minimind {

class SessionAdmin {
 public:
  explicit SessionAdmin(const ModelSlot& model) : model_(model) {}

  // ttl 0 = the store's default.
  absl::StatusOr<SessionSnapshot> Create(const Tenant& tenant, absl::string_view system_prompt,
                                         absl::Duration ttl, SessionLabels labels,
                                         ContextOverflow context_overflow) const;
  absl::StatusOr<SessionSnapshot> Get(const Tenant& tenant, absl::string_view id) const;
  absl::StatusOr<SessionPage> List(const Tenant& tenant, int page_size,
                                   absl::string_view page_token) const;
  absl::Status Delete(const Tenant& tenant, absl::string_view id) const;
  // ttl: nullopt = the parent's.
  absl::StatusOr<SessionSnapshot> Fork(const Tenant& tenant, absl::string_view id,
                                       std::optional<absl::Duration> ttl) const;

 private:
  // The published model with a session store, or why not.
  absl::StatusOr<ServingModel*> Model() const;
  // ResourceExhausted naming the limit when the tenant owns max_sessions already. Concurrent
  // creates of one tenant may overshoot it by their number.
  absl::Status CheckSessionLimit(SessionStore& store, const Tenant& tenant) const;

  const ModelSlot& model_;
};

}  // namespace minimind

#endif  // MINIMIND_SERVICE_GENERATION_SESSION_ADMIN_H_
