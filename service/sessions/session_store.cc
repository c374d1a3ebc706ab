#include "service/sessions/session_store.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace minimind {

absl::Status ValidateSessionStoreOptions(const SessionStoreOptions& options) {
  if (options.num_shards <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("num_shards must be positive, got ", options.num_shards));
  }
  if (options.max_sessions <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_sessions must be positive, got ", options.max_sessions));
  }
  if (options.default_ttl <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("default session TTL must be positive, got ",
                                                   absl::FormatDuration(options.default_ttl)));
  }
  if (options.max_ttl < options.default_ttl) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max session TTL (", absl::FormatDuration(options.max_ttl), ") is below the default TTL (",
        absl::FormatDuration(options.default_ttl), ")"));
  }
  if (options.max_pinned_kv_blocks < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_pinned_kv_blocks must be >= 0, got ", options.max_pinned_kv_blocks));
  }
  if (options.tombstones < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("tombstones must be >= 0, got ", options.tombstones));
  }
  if (options.max_labels < 0 || options.max_label_bytes <= 0) {
    return absl::InvalidArgumentError("max_labels must be >= 0 and max_label_bytes positive");
  }
  if (options.list_page_size_default <= 0 ||
      options.list_page_size_max < options.list_page_size_default) {
    return absl::InvalidArgumentError(
        "list_page_size_default must be positive and at most list_page_size_max");
  }
  return absl::OkStatus();
}

absl::Status ValidateSessionLabels(const SessionLabels& labels,
                                   const SessionStoreOptions& options) {
  if (static_cast<int64_t>(labels.size()) > options.max_labels) {
    return absl::InvalidArgumentError(
        absl::StrCat("a session has at most ", options.max_labels, " labels, got ", labels.size()));
  }
  for (const auto& [key, value] : labels) {
    if (key.empty()) return absl::InvalidArgumentError("a session label has an empty key");
    if (static_cast<int64_t>(key.size()) > options.max_label_bytes ||
        static_cast<int64_t>(value.size()) > options.max_label_bytes) {
      return absl::InvalidArgumentError(absl::StrCat("session label keys and values have at most ",
                                                     options.max_label_bytes, " bytes; label \"",
                                                     key.substr(0, 32), "\" is longer"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateSessionTtl(absl::Duration ttl, const SessionStoreOptions& options) {
  if (ttl < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("session TTL must not be negative, got ", absl::FormatDuration(ttl)));
  }
  if (ttl > options.max_ttl) {
    return absl::InvalidArgumentError(absl::StrCat("session TTL ", absl::FormatDuration(ttl),
                                                   " exceeds the maximum of ",
                                                   absl::FormatDuration(options.max_ttl)));
  }
  return absl::OkStatus();
}

absl::Duration EffectiveSessionTtl(absl::Duration ttl, const SessionStoreOptions& options) {
  return ttl == absl::ZeroDuration() ? options.default_ttl : ttl;
}

int EffectiveListPageSize(int page_size, const SessionStoreOptions& options) {
  if (page_size <= 0) return options.list_page_size_default;
  return std::min(page_size, options.list_page_size_max);
}

absl::Status SessionNotFoundError(absl::string_view id) {
  return absl::NotFoundError(absl::StrCat("session ", id, " not found"));
}

absl::Status SessionRemovedError(absl::string_view id, SessionRemoval removal, absl::Duration ttl,
                                 const SessionStoreOptions& options) {
  switch (removal) {
    case SessionRemoval::kExpired:
      return absl::NotFoundError(absl::StrCat("session ", id,
                                              " expired: it was idle longer than its TTL of ",
                                              absl::FormatDuration(ttl)));
    case SessionRemoval::kDeleted:
      return absl::NotFoundError(absl::StrCat("session ", id, " was deleted"));
    case SessionRemoval::kEvicted:
      break;
  }
  return absl::NotFoundError(
      absl::StrCat("session ", id, " was evicted: the server reached its limit of ",
                   options.max_sessions, " sessions and dropped the least recently used"));
}

absl::Status SessionBusyError(absl::string_view id) {
  return absl::AbortedError(absl::StrCat("session ", id, " is busy: another turn is in progress"));
}

absl::Status AllSessionsBusyError(const SessionStoreOptions& options) {
  return absl::ResourceExhaustedError(
      absl::StrCat("the server holds its limit of ", options.max_sessions,
                   " sessions and every one is busy; retry when a turn finishes"));
}

}  // namespace minimind
