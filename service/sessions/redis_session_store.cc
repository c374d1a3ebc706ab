#include "service/sessions/redis_session_store.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/base/status_macros.h"
#include "engine/scheduler/kv_handle.h"
#include "service/sessions/local_kv_cache.h"
#include "service/sessions/redis_client.h"
#include "service/sessions/redis_session_scripts.h"
#include "service/sessions/session_codec.h"

namespace minimind {

namespace {

using sessions_internal::LocalKvCache;

constexpr int kReapBatch = 256;
constexpr size_t kMissingBatch = 256;

std::string Milliseconds(absl::Duration duration) {
  return std::to_string(absl::ToInt64Milliseconds(absl::Ceil(duration, absl::Milliseconds(1))));
}
std::string UnixMillis(absl::Time time) { return std::to_string(absl::ToUnixMillis(time)); }

// The text of element `index` of an array reply ("" if absent or not a string).
const std::string& Text(const RedisReply& reply, size_t index) {
  static const std::string* const kEmpty = new std::string();
  if (reply.type != RedisReply::Type::kArray || index >= reply.elements.size()) return *kEmpty;
  return reply.elements[index].text;
}

int64_t Integer(const RedisReply& reply, size_t index) {
  if (reply.type != RedisReply::Type::kArray || index >= reply.elements.size()) return 0;
  const RedisReply& element = reply.elements[index];
  if (element.type == RedisReply::Type::kInteger) return element.integer;
  int64_t value = 0;
  return absl::SimpleAtoi(element.text, &value) ? value : 0;
}

// A record's fields by name, from HGETALL's flat field/value array.
absl::flat_hash_map<std::string, std::string> Fields(const RedisReply& record) {
  absl::flat_hash_map<std::string, std::string> fields;
  for (size_t i = 0; i + 1 < record.elements.size(); i += 2) {
    fields[record.elements[i].text] = record.elements[i + 1].text;
  }
  return fields;
}

int64_t ToInt(const absl::flat_hash_map<std::string, std::string>& fields, const char* name) {
  int64_t value = 0;
  if (auto it = fields.find(name); it != fields.end()) (void)absl::SimpleAtoi(it->second, &value);
  return value;
}

// The common part of a snapshot from its record fields (no messages, tokens or kv).
absl::StatusOr<SessionSnapshot> BaseSnapshot(
    const std::string& id, const absl::flat_hash_map<std::string, std::string>& fields, bool busy) {
  SessionSnapshot snapshot;
  snapshot.id = id;
  auto field = [&](const char* name) -> const std::string& {
    static const std::string* const kEmpty = new std::string();
    auto it = fields.find(name);
    return it == fields.end() ? *kEmpty : it->second;
  };
  snapshot.owner = field("owner");
  snapshot.system_prompt = field("system");
  MINIMIND_ASSIGN_OR_RETURN(snapshot.labels, LabelsFromJson(field("labels")));
  snapshot.num_messages = ToInt(fields, "num_messages");
  snapshot.num_tokens = ToInt(fields, "num_tokens");
  snapshot.turns = ToInt(fields, "turns");
  snapshot.created = absl::FromUnixMillis(ToInt(fields, "created"));
  snapshot.last_used = absl::FromUnixMillis(ToInt(fields, "last_used"));
  snapshot.ttl = absl::Milliseconds(ToInt(fields, "ttl"));
  snapshot.expires = snapshot.last_used + snapshot.ttl;
  snapshot.busy = busy;
  snapshot.context_overflow = ContextOverflowFromName(field("overflow"));
  snapshot.window_start = ToInt(fields, "window");
  return snapshot;
}

// The record of a new session, as field/value pairs for the create script.
std::vector<std::string> NewRecord(absl::string_view owner, absl::string_view system_prompt,
                                   const std::string& labels_json, std::string messages,
                                   int64_t num_messages, std::string tokens, int64_t num_tokens,
                                   int64_t turns, absl::Time now, absl::Duration ttl,
                                   ContextOverflow overflow, int64_t window_start) {
  return {"owner",        std::string(owner),
          "system",       std::string(system_prompt),
          "labels",       labels_json,
          "messages",     std::move(messages),
          "num_messages", std::to_string(num_messages),
          "tokens",       std::move(tokens),
          "num_tokens",   std::to_string(num_tokens),
          "turns",        std::to_string(turns),
          "created",      UnixMillis(now),
          "last_used",    UnixMillis(now),
          "ttl",          Milliseconds(ttl),
          "overflow",     std::string(ContextOverflowName(overflow)),
          "window",       std::to_string(window_start)};
}

absl::string_view ScriptBody(int script) {
  static constexpr const char* kBodies[] = {
      sessions_internal::kRedisAccessScript, sessions_internal::kRedisCreateScript,
      sessions_internal::kRedisCommitScript, sessions_internal::kRedisReleaseScript,
      sessions_internal::kRedisRenewScript,  sessions_internal::kRedisReapScript,
      sessions_internal::kRedisListScript,   sessions_internal::kRedisMissingScript,
  };
  return kBodies[script];
}

absl::Status NegativeOrZero(absl::string_view name, absl::Duration value) {
  return absl::InvalidArgumentError(
      absl::StrCat(name, " must be positive, got ", absl::FormatDuration(value)));
}

}  // namespace

absl::Status ValidateRedisSessionStoreOptions(const RedisSessionStoreOptions& options) {
  MINIMIND_RETURN_IF_ERROR(ValidateSessionStoreOptions(options.sessions));
  if (options.address.host.empty()) return absl::InvalidArgumentError("the Redis host is empty");
  if (options.address.port < 1 || options.address.port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("the Redis port must be from 1 to 65535, got ", options.address.port));
  }
  if (options.address.db < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("the Redis db must be >= 0, got ", options.address.db));
  }
  if (options.key_prefix.empty()) {
    return absl::InvalidArgumentError("the Redis key prefix must not be empty");
  }
  if (options.connect_timeout <= absl::ZeroDuration()) {
    return NegativeOrZero("the Redis connect timeout", options.connect_timeout);
  }
  if (options.command_timeout <= absl::ZeroDuration()) {
    return NegativeOrZero("the Redis command timeout", options.command_timeout);
  }
  if (options.lease < absl::Milliseconds(3)) {
    return absl::InvalidArgumentError(absl::StrCat("the turn lease must be at least 3ms, got ",
                                                   absl::FormatDuration(options.lease)));
  }
  if (options.commit_deadline < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("the commit deadline must not be negative, got ",
                                                   absl::FormatDuration(options.commit_deadline)));
  }
  if (options.tombstone_retention < absl::ZeroDuration() ||
      options.expiry_grace < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "the tombstone retention and the expiry grace must not be negative");
  }
  if (options.max_idle_connections < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_idle_connections must be >= 0, got ", options.max_idle_connections));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<RedisSessionStore>> RedisSessionStore::Make(
    RedisSessionStoreOptions options) {
  MINIMIND_RETURN_IF_ERROR(ValidateRedisSessionStoreOptions(options));
  return std::unique_ptr<RedisSessionStore>(new RedisSessionStore(std::move(options)));
}

RedisSessionStore::RedisSessionStore(RedisSessionStoreOptions options)
    : options_(std::move(options)),
      clock_(options_.sessions.clock ? options_.sessions.clock : [] { return absl::Now(); }),
      kv_blocks_(options_.sessions.kv_blocks ? options_.sessions.kv_blocks
                                             : [](const KvHandle& kv) { return kv.num_blocks(); }),
      client_(std::make_unique<RedisClient>(
          RedisClientOptions{options_.address, options_.connect_timeout, options_.command_timeout,
                             options_.max_idle_connections})),
      kv_cache_(std::make_unique<LocalKvCache>(options_.sessions.max_pinned_kv_blocks)),
      token_prefix_(options_.lease_owner.empty()
                        ? std::string()
                        : absl::StrCat(options_.lease_owner, "/",
                                       SessionKeyToId(id_generator_.Next().value_or(SessionKey{})),
                                       "/")),
      heartbeat_([this] { Heartbeat(); }) {}

RedisSessionStore::~RedisSessionStore() { StopHeartbeatForTesting(); }

void RedisSessionStore::StopHeartbeatForTesting() {
  {
    absl::MutexLock lock(&heartbeat_mutex_);
    stop_heartbeat_ = true;
  }
  if (heartbeat_.joinable()) heartbeat_.join();
}

absl::Status RedisSessionStore::ReleasePredecessorLeases() {
  // Deletes ARGV[1] if its token starts with ARGV[2] (the owner) but not with ARGV[3] (this
  // process's prefix): a lease of an earlier process of the same name.
  static constexpr char kReleaseIfPredecessor[] = R"lua(
local v = redis.call('GET', ARGV[1])
if v and string.sub(v, 1, #ARGV[2]) == ARGV[2] and string.sub(v, 1, #ARGV[3]) ~= ARGV[3] then
  redis.call('DEL', ARGV[1])
  return 1
end
return 0
)lua";
  const std::string owner_prefix = absl::StrCat(options_.lease_owner, "/");
  std::string cursor = "0";
  do {
    MINIMIND_ASSIGN_OR_RETURN(
        RedisReply page,
        client_->Command(
            {"SCAN", cursor, "MATCH", absl::StrCat(options_.key_prefix, "l:*"), "COUNT", "1000"}));
    if (page.elements.size() != 2) return absl::InternalError("unexpected SCAN reply");
    cursor = page.elements[0].text;
    for (const RedisReply& key : page.elements[1].elements) {
      MINIMIND_RETURN_IF_ERROR(
          client_->Eval(kReleaseIfPredecessor, {key.text, owner_prefix, token_prefix_}).status());
    }
  } while (cursor != "0");
  return absl::OkStatus();
}

void RedisSessionStore::Heartbeat() {
  const absl::Duration interval = options_.lease / 3;
  while (true) {
    // Once Redis answers: free the sessions a crashed predecessor of this name left busy.
    if (!token_prefix_.empty() && !predecessor_released_) {
      predecessor_released_ = ReleasePredecessorLeases().ok();
    }
    {
      absl::MutexLock lock(&heartbeat_mutex_);
      if (heartbeat_mutex_.AwaitWithTimeout(absl::Condition(&stop_heartbeat_), interval)) return;
    }
    std::vector<std::string> args = {Milliseconds(options_.lease)};
    {
      absl::MutexLock lock(&leases_mutex_);
      for (const auto& [key, token] : leases_) {
        args.push_back(SessionKeyToId(key));
        args.push_back(token);
      }
    }
    // A lost lease stays listed: its Commit reports the loss.
    if (args.size() > 1) (void)Run(Script::kRenew, clock_(), std::move(args));
  }
}

absl::StatusOr<RedisReply> RedisSessionStore::Run(Script script, absl::Time now,
                                                  std::vector<std::string> args) {
  static const std::vector<std::string>* const kScripts = [] {
    auto* scripts = new std::vector<std::string>();
    for (int i = 0; i <= static_cast<int>(Script::kMissing); ++i) {
      scripts->push_back(absl::StrCat(sessions_internal::kRedisScriptPrelude, ScriptBody(i)));
    }
    return scripts;
  }();
  std::vector<std::string> argv = {
      options_.key_prefix, UnixMillis(now), Milliseconds(options_.expiry_grace),
      options_.sessions.tombstones == 0 ? std::string("0")
                                        : Milliseconds(options_.tombstone_retention)};
  argv.insert(argv.end(), std::make_move_iterator(args.begin()),
              std::make_move_iterator(args.end()));
  return client_->Eval((*kScripts)[static_cast<int>(script)], argv);
}

absl::Status RedisSessionStore::NotFound(const std::string& id, absl::string_view tombstone,
                                         std::optional<absl::string_view> owner) const {
  // Tombstones read "OWNER\nREASON"; another owner's is answered as no tombstone at all.
  if (const size_t newline = tombstone.find('\n'); newline != absl::string_view::npos) {
    if (owner.has_value() && tombstone.substr(0, newline) != *owner)
      tombstone = "";
    else
      tombstone.remove_prefix(newline + 1);
  } else if (owner.has_value()) {
    tombstone = "";
  }
  if (tombstone == "deleted") {
    return SessionRemovedError(id, SessionRemoval::kDeleted, absl::ZeroDuration(),
                               options_.sessions);
  }
  if (tombstone == "evicted") {
    return SessionRemovedError(id, SessionRemoval::kEvicted, absl::ZeroDuration(),
                               options_.sessions);
  }
  int64_t ttl_ms = 0;
  if (absl::ConsumePrefix(&tombstone, "expired ") && absl::SimpleAtoi(tombstone, &ttl_ms)) {
    return SessionRemovedError(id, SessionRemoval::kExpired, absl::Milliseconds(ttl_ms),
                               options_.sessions);
  }
  return SessionNotFoundError(id);
}

absl::StatusOr<RedisReply> RedisSessionStore::Access(const SessionKey& key, absl::string_view owner,
                                                     absl::string_view op,
                                                     absl::string_view lease_token) {
  const std::string id = SessionKeyToId(key);
  MINIMIND_ASSIGN_OR_RETURN(RedisReply reply,
                            Run(Script::kAccess, clock_(),
                                {id, std::string(owner), std::string(op), std::string(lease_token),
                                 Milliseconds(options_.lease)}));
  const std::string& outcome = Text(reply, 0);
  if (outcome == "ok") return reply;
  if (outcome == "gone" || outcome == "expired") {
    kv_cache_->Erase(key);
    if (outcome == "gone") return NotFound(id, Text(reply, 1), owner);
    evicted_ttl_.fetch_add(1, std::memory_order_relaxed);
    // The script checked the owner before the expiry.
    return NotFound(id, absl::StrCat("expired ", Text(reply, 1)), std::nullopt);
  }
  if (outcome == "foreign") {
    // Exactly as an id that never existed: ids cannot be probed across owners.
    return SessionNotFoundError(id);
  }
  if (outcome == "busy") return SessionBusyError(id);
  return absl::InternalError(absl::StrCat("unexpected reply of the session script: ", outcome));
}

absl::StatusOr<SessionSnapshot> RedisSessionStore::ToSnapshot(const SessionKey& key,
                                                              const RedisReply& record, bool busy,
                                                              bool use_kv) {
  const absl::flat_hash_map<std::string, std::string> fields = Fields(record);
  MINIMIND_ASSIGN_OR_RETURN(SessionSnapshot snapshot,
                            BaseSnapshot(SessionKeyToId(key), fields, busy));
  auto messages = fields.find("messages");
  MINIMIND_ASSIGN_OR_RETURN(
      snapshot.messages,
      MessagesFromJsonLines(messages == fields.end() ? absl::string_view() : messages->second));
  auto tokens = fields.find("tokens");
  MINIMIND_ASSIGN_OR_RETURN(
      snapshot.tokens, UnpackTokens(tokens == fields.end() ? absl::string_view() : tokens->second));
  snapshot.num_messages = static_cast<int64_t>(snapshot.messages.size());
  snapshot.num_tokens = static_cast<int64_t>(snapshot.tokens.size());
  LocalKvCache::Found kv = kv_cache_->Find(key, snapshot.turns, use_kv);
  snapshot.kv = std::move(kv.kv);
  snapshot.kv_blocks = kv.blocks;
  return snapshot;
}

absl::Status RedisSessionStore::Insert(const std::string& id, absl::string_view owner,
                                       absl::Time now, std::vector<std::string> fields) {
  std::vector<std::string> args = {id, std::string(owner),
                                   std::to_string(options_.sessions.max_sessions)};
  args.insert(args.end(), std::make_move_iterator(fields.begin()),
              std::make_move_iterator(fields.end()));
  MINIMIND_ASSIGN_OR_RETURN(RedisReply reply, Run(Script::kCreate, now, std::move(args)));
  if (Text(reply, 0) == "full") {
    return AllSessionsBusyError(options_.sessions);
  }
  if (Text(reply, 0) != "ok") {
    return absl::InternalError(
        absl::StrCat("unexpected reply of the create script: ", Text(reply, 0)));
  }
  evicted_lru_.fetch_add(Integer(reply, 1), std::memory_order_relaxed);
  created_.fetch_add(1, std::memory_order_relaxed);
  return absl::OkStatus();
}

absl::StatusOr<SessionSnapshot> RedisSessionStore::CreateSession(absl::string_view owner,
                                                                 absl::string_view system_prompt,
                                                                 absl::Duration ttl,
                                                                 SessionLabels labels,
                                                                 ContextOverflow context_overflow) {
  MINIMIND_RETURN_IF_ERROR(ValidateSessionTtl(ttl, options_.sessions));
  MINIMIND_RETURN_IF_ERROR(ValidateSessionLabels(labels, options_.sessions));
  MINIMIND_ASSIGN_OR_RETURN(const SessionKey key, id_generator_.Next());
  const std::string id = SessionKeyToId(key);
  // Whole milliseconds, as Redis stores them, so this snapshot equals a later Get's.
  const absl::Time now = absl::FromUnixMillis(absl::ToUnixMillis(clock_()));
  const absl::Duration session_ttl =
      absl::Ceil(EffectiveSessionTtl(ttl, options_.sessions), absl::Milliseconds(1));
  MINIMIND_RETURN_IF_ERROR(Insert(id, owner, now,
                                  NewRecord(owner, system_prompt, LabelsToJson(labels), "", 0, "",
                                            0, 0, now, session_ttl, context_overflow, 0)));
  SessionSnapshot snapshot;
  snapshot.id = id;
  snapshot.owner = std::string(owner);
  snapshot.system_prompt = std::string(system_prompt);
  snapshot.labels = std::move(labels);
  snapshot.context_overflow = context_overflow;
  snapshot.created = snapshot.last_used = now;
  snapshot.ttl = session_ttl;
  snapshot.expires = now + session_ttl;
  return snapshot;
}

absl::StatusOr<SessionSnapshot> RedisSessionStore::Get(absl::string_view id,
                                                       absl::string_view owner) {
  MINIMIND_ASSIGN_OR_RETURN(const SessionKey key, SessionKeyFromId(id));
  MINIMIND_ASSIGN_OR_RETURN(RedisReply reply, Access(key, owner, "get", ""));
  return ToSnapshot(key, reply.elements[3], Text(reply, 1) == "1", /*use_kv=*/false);
}

absl::Status RedisSessionStore::Touch(absl::string_view id, absl::string_view owner) {
  MINIMIND_ASSIGN_OR_RETURN(const SessionKey key, SessionKeyFromId(id));
  MINIMIND_ASSIGN_OR_RETURN(RedisReply reply, Access(key, owner, "touch", ""));
  kv_cache_->Find(key, Integer(reply, 2), /*use=*/true);
  return absl::OkStatus();
}

absl::StatusOr<TurnLease> RedisSessionStore::BeginTurn(absl::string_view id,
                                                       absl::string_view owner) {
  MINIMIND_ASSIGN_OR_RETURN(const SessionKey key, SessionKeyFromId(id));
  MINIMIND_ASSIGN_OR_RETURN(const SessionKey token_bits, id_generator_.Next());
  const std::string token = absl::StrCat(token_prefix_, SessionKeyToId(token_bits));
  bool inserted = false;
  {
    // A turn of this replica whose lease is still alive here, even if Redis let it expire: its
    // Commit must not pick up a newer lease's token.
    absl::MutexLock lock(&leases_mutex_);
    inserted = leases_.emplace(key, token).second;
  }
  if (!inserted) {
    // NOT_FOUND and PermissionDenied take precedence, as in every other store.
    MINIMIND_RETURN_IF_ERROR(Access(key, owner, "get", "").status());
    return SessionBusyError(SessionKeyToId(key));
  }
  absl::StatusOr<RedisReply> reply = Access(key, owner, "begin", token);
  absl::StatusOr<SessionSnapshot> snapshot =
      reply.ok() ? ToSnapshot(key, reply->elements[3], /*busy=*/true, /*use_kv=*/true)
                 : absl::StatusOr<SessionSnapshot>(reply.status());
  if (!snapshot.ok()) {
    if (reply.ok()) {
      // The lease was taken but the record is unreadable: give the lease back.
      (void)Run(Script::kRelease, clock_(), {SessionKeyToId(key), token});
    }
    absl::MutexLock lock(&leases_mutex_);
    leases_.erase(key);
    return snapshot.status();
  }
  return NewLease(key, *std::move(snapshot));
}

absl::Status RedisSessionStore::CommitTurn(const SessionKey& key,
                                           std::vector<ChatMessage> appended_messages,
                                           std::vector<int32_t> tokens,
                                           std::shared_ptr<const KvHandle> kv,
                                           int64_t window_start) {
  std::string token;
  {
    absl::MutexLock lock(&leases_mutex_);
    auto it = leases_.find(key);
    if (it == leases_.end()) {
      return absl::FailedPreconditionError("this turn lease is not held by this store");
    }
    token = it->second;  // Stays listed, so the heartbeat renews it while the commit retries.
  }
  const std::string id = SessionKeyToId(key);
  const int64_t num_tokens = static_cast<int64_t>(tokens.size());
  // The commit may land until apply_by (Redis's clock; the script refuses it after). Retries go on
  // until apply_by + kClockSkew has passed here, so a commit stuck in a paused Redis's socket
  // cannot land after this call reported the turn unsaved.
  constexpr absl::Duration kClockSkew = absl::Milliseconds(250);
  const absl::Duration retry_for = std::min(options_.commit_deadline, options_.lease / 2);
  const absl::Time apply_by = absl::Now() + retry_for;
  const std::vector<std::string> args = {id,
                                         token,
                                         MessagesToJsonLines(appended_messages),
                                         std::to_string(appended_messages.size()),
                                         PackTokens(tokens),
                                         std::to_string(num_tokens),
                                         std::to_string(absl::ToUnixMillis(apply_by)),
                                         std::to_string(window_start)};
  absl::Duration backoff = absl::Milliseconds(50);
  absl::StatusOr<RedisReply> reply = Run(Script::kCommit, clock_(), args);
  while (absl::IsUnavailable(reply.status()) && absl::Now() < apply_by + kClockSkew) {
    absl::SleepFor(std::min(backoff, apply_by + kClockSkew - absl::Now()));
    backoff = std::min(backoff * 2, absl::Milliseconds(200));
    reply = Run(Script::kCommit, clock_(), args);
  }
  {
    absl::MutexLock lock(&leases_mutex_);
    leases_.erase(key);
  }
  const bool late = reply.ok() && Text(*reply, 0) == "late";
  if (!reply.ok() || late) {
    // Best effort, so the session is not busy until the lease expires if Redis just came back.
    (void)Run(Script::kRelease, clock_(), {id, token});
    const absl::Status cause =
        late ? absl::UnavailableError("redis answered after the commit deadline") : reply.status();
    return absl::Status(cause.code(),
                        absl::StrCat(cause.message(), " (the turn was not saved; tried for ",
                                     absl::FormatDuration(retry_for), ")"));
  }
  const std::string& outcome = Text(*reply, 0);
  if (outcome == "gone") {
    kv_cache_->Erase(key);
    return NotFound(id, Text(*reply, 1), std::nullopt);  // The lease holder is the owner.
  }
  if (outcome == "lost") {
    return absl::AbortedError(
        absl::StrCat("session ", id,
                     ": the turn's lease expired before it was committed (Redis could not be "
                     "reached to renew it), so the turn was not saved"));
  }
  if (outcome != "ok") {
    return absl::InternalError(absl::StrCat("unexpected reply of the commit script: ", outcome));
  }
  const int64_t blocks = kv == nullptr ? 0 : kv_blocks_(*kv);
  kv_cache_->Put(key, std::move(kv), blocks, Integer(*reply, 1));
  EnforcePinCap();
  return absl::OkStatus();
}

void RedisSessionStore::ReleaseTurn(const SessionKey& key) {
  std::string token;
  {
    absl::MutexLock lock(&leases_mutex_);
    auto it = leases_.find(key);
    if (it == leases_.end()) return;
    token = std::move(it->second);
    leases_.erase(it);
  }
  // Best effort: if Redis is unreachable the lease expires by itself.
  (void)Run(Script::kRelease, clock_(), {SessionKeyToId(key), token});
  EnforcePinCap();
}

void RedisSessionStore::EnforcePinCap() {
  if (kv_cache_->pinned_blocks() <= kv_cache_->max_blocks()) return;
  absl::flat_hash_set<SessionKey> busy;
  {
    absl::MutexLock lock(&leases_mutex_);
    for (const auto& [key, token] : leases_) busy.insert(key);
  }
  std::vector<std::pair<SessionKey, std::shared_ptr<const KvHandle>>> dropped =
      kv_cache_->EnforceCap(busy);
  kv_drops_.fetch_add(static_cast<int64_t>(dropped.size()), std::memory_order_relaxed);
  if (options_.sessions.kv_dropped) {
    for (auto& [key, kv] : dropped)
      options_.sessions.kv_dropped(SessionKeyToId(key), std::move(kv));
  }
}

std::vector<std::pair<std::string, std::shared_ptr<const KvHandle>>> RedisSessionStore::RetainedKv()
    const {
  std::vector<std::pair<std::string, std::shared_ptr<const KvHandle>>> retained;
  for (auto& [key, kv] : kv_cache_->Entries()) retained.emplace_back(SessionKeyToId(key), kv);
  return retained;
}

absl::Status RedisSessionStore::Delete(absl::string_view id, absl::string_view owner) {
  MINIMIND_ASSIGN_OR_RETURN(const SessionKey key, SessionKeyFromId(id));
  MINIMIND_RETURN_IF_ERROR(Access(key, owner, "delete", "").status());
  kv_cache_->Erase(key);
  deleted_.fetch_add(1, std::memory_order_relaxed);
  return absl::OkStatus();
}

absl::StatusOr<SessionSnapshot> RedisSessionStore::Fork(absl::string_view id,
                                                        absl::string_view owner,
                                                        std::optional<absl::Duration> ttl) {
  MINIMIND_ASSIGN_OR_RETURN(const SessionKey parent_key, SessionKeyFromId(id));
  if (ttl.has_value()) MINIMIND_RETURN_IF_ERROR(ValidateSessionTtl(*ttl, options_.sessions));
  MINIMIND_ASSIGN_OR_RETURN(const SessionKey key, id_generator_.Next());
  MINIMIND_ASSIGN_OR_RETURN(RedisReply reply, Access(parent_key, owner, "fork", ""));
  absl::flat_hash_map<std::string, std::string> parent = Fields(reply.elements[3]);
  MINIMIND_ASSIGN_OR_RETURN(SessionSnapshot snapshot,
                            ToSnapshot(parent_key, reply.elements[3], /*busy=*/false,
                                       /*use_kv=*/true));
  const absl::Time now = absl::FromUnixMillis(absl::ToUnixMillis(clock_()));
  if (ttl.has_value()) {
    snapshot.ttl = absl::Ceil(EffectiveSessionTtl(*ttl, options_.sessions), absl::Milliseconds(1));
  }
  snapshot.id = SessionKeyToId(key);
  snapshot.created = snapshot.last_used = now;
  snapshot.expires = now + snapshot.ttl;
  MINIMIND_RETURN_IF_ERROR(
      Insert(snapshot.id, owner, now,
             NewRecord(owner, snapshot.system_prompt, parent["labels"],
                       std::move(parent["messages"]), snapshot.num_messages,
                       std::move(parent["tokens"]), snapshot.num_tokens, snapshot.turns, now,
                       snapshot.ttl, snapshot.context_overflow, snapshot.window_start)));
  forked_.fetch_add(1, std::memory_order_relaxed);
  kv_cache_->Put(key, snapshot.kv, snapshot.kv_blocks, snapshot.turns);
  return snapshot;
}

absl::StatusOr<SessionPage> RedisSessionStore::List(absl::string_view owner, int page_size,
                                                    absl::string_view page_token) {
  std::string after;
  if (!page_token.empty()) {
    absl::StatusOr<SessionKey> key = SessionKeyFromId(page_token);
    if (!key.ok()) {
      return absl::InvalidArgumentError(
          "invalid page token: pass \"\" or a next_page_token returned by ListSessions");
    }
    after = SessionKeyToId(*key);
  }
  const size_t limit = static_cast<size_t>(EffectiveListPageSize(page_size, options_.sessions));
  MINIMIND_ASSIGN_OR_RETURN(
      RedisReply reply,
      Run(Script::kList, clock_(), {std::string(owner), after, std::to_string(limit + 1)}));
  SessionPage page;
  for (const RedisReply& entry : reply.elements) {
    if (page.sessions.size() == limit) {
      page.next_page_token = page.sessions.back().id;
      break;
    }
    static constexpr const char* kNames[] = {"owner",      "system",   "labels",  "num_messages",
                                             "num_tokens", "turns",    "created", "last_used",
                                             "ttl",        "overflow", "window"};
    absl::flat_hash_map<std::string, std::string> fields;
    for (size_t i = 0; i < std::size(kNames); ++i) fields[kNames[i]] = Text(entry, i + 2);
    MINIMIND_ASSIGN_OR_RETURN(SessionSnapshot snapshot,
                              BaseSnapshot(Text(entry, 0), fields, Text(entry, 1) == "1"));
    absl::StatusOr<SessionKey> key = SessionKeyFromId(snapshot.id);
    if (key.ok()) snapshot.kv_blocks = kv_cache_->Find(*key, snapshot.turns, false).blocks;
    page.sessions.push_back(std::move(snapshot));
  }
  return page;
}

int64_t RedisSessionStore::ReapExpired(absl::Time now) {
  int64_t reaped = 0;
  std::vector<SessionKey> gone;
  while (true) {
    absl::StatusOr<RedisReply> reply = Run(Script::kReap, now, {std::to_string(kReapBatch)});
    if (!reply.ok() || reply->elements.size() != 2) break;
    for (const RedisReply& id : reply->elements[1].elements) {
      if (absl::StatusOr<SessionKey> key = SessionKeyFromId(id.text); key.ok()) {
        gone.push_back(*key);
      }
      ++reaped;
    }
    if (Integer(*reply, 0) < kReapBatch) break;
  }
  evicted_ttl_.fetch_add(reaped, std::memory_order_relaxed);
  // Local KV of sessions that other replicas removed (or Redis expired).
  const std::vector<SessionKey> cached = kv_cache_->Keys();
  for (size_t begin = 0; begin < cached.size(); begin += kMissingBatch) {
    std::vector<std::string> ids;
    for (size_t i = begin; i < std::min(cached.size(), begin + kMissingBatch); ++i) {
      ids.push_back(SessionKeyToId(cached[i]));
    }
    absl::StatusOr<RedisReply> missing = Run(Script::kMissing, now, std::move(ids));
    if (!missing.ok()) break;
    for (const RedisReply& id : missing->elements) {
      if (absl::StatusOr<SessionKey> key = SessionKeyFromId(id.text); key.ok()) {
        gone.push_back(*key);
      }
    }
  }
  kv_cache_->EraseAll(gone);
  if (const auto& session_gone = options_.sessions.session_gone; session_gone) {
    for (const SessionKey& key : gone) session_gone(SessionKeyToId(key));
  }
  return reaped;
}

absl::StatusOr<int64_t> RedisSessionStore::CountSessions(absl::string_view owner) const {
  // The owner index may still hold ids whose records Redis expired (cleaned lazily): an upper
  // bound, exact once the reaper or a List has passed.
  MINIMIND_ASSIGN_OR_RETURN(
      RedisReply count,
      client_->Command({"ZCARD", absl::StrCat(options_.key_prefix, "o:", owner)}));
  return count.integer;
}

SessionStoreStats RedisSessionStore::stats() const {
  if (absl::StatusOr<RedisReply> count =
          client_->Command({"ZCARD", absl::StrCat(options_.key_prefix, "u")});
      count.ok()) {
    last_session_count_.store(count->integer, std::memory_order_relaxed);
  }
  SessionStoreStats stats;
  stats.sessions = last_session_count_.load(std::memory_order_relaxed);
  stats.sessions_with_kv = kv_cache_->size();
  stats.pinned_kv_blocks = kv_cache_->pinned_blocks();
  stats.max_pinned_kv_blocks = options_.sessions.max_pinned_kv_blocks;
  stats.created = created_.load(std::memory_order_relaxed);
  stats.forked = forked_.load(std::memory_order_relaxed);
  stats.deleted = deleted_.load(std::memory_order_relaxed);
  stats.evicted_ttl = evicted_ttl_.load(std::memory_order_relaxed);
  stats.evicted_lru = evicted_lru_.load(std::memory_order_relaxed);
  stats.kv_drops = kv_drops_.load(std::memory_order_relaxed);
  return stats;
}

}  // namespace minimind
