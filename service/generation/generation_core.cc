#include "service/generation/generation_core.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <random>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/base/status_macros.h"
#include "service/request_checks.h"

namespace minimind {
namespace {

v1::FinishReason ToProtoFinishReason(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop:
      return v1::FINISH_REASON_STOP;
    case FinishReason::kLength:
      return v1::FINISH_REASON_LENGTH;
    case FinishReason::kStopSequence:
      return v1::FINISH_REASON_STOP_SEQUENCE;
    case FinishReason::kCancelled:
      return v1::FINISH_REASON_CANCELLED;
  }
  return v1::FINISH_REASON_UNSPECIFIED;
}

void AppendTop(const std::vector<TokenLogprob>& top, v1::TokenLogprob& out) {
  for (const TokenLogprob& alternative : top) {
    v1::TopLogprob* entry = out.add_top_logprobs();
    entry->set_token_id(alternative.id);
    entry->set_logprob(alternative.logprob);
  }
}

// The metrics' name for a commit's outcome (ServiceMetrics::RecordSessionCommit).
absl::string_view CommitOutcome(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return "saved";
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return "store_unavailable";
    case absl::StatusCode::kNotFound:
      return "session_gone";
    case absl::StatusCode::kAborted:
      return "lease_lost";
    default:
      return "error";
  }
}

// Everything a call needs before Engine::Submit.
struct PreparedCall {
  GenerationRequest request;  // request.request_id is the engine's (tenant-namespaced) id
  std::string client_request_id;
  RequestSlot slot;  // the tenant's concurrent-request count, held until OnFinish
  std::string session_id;
  // Session turns only.
  TurnLease lease;
  std::vector<ChatMessage> new_messages;
  std::vector<int32_t> prompt_tokens;
  std::optional<bool> enable_thinking;
  int64_t window_start = 0;  // the session's context window after this turn
  // Context truncation (stateless or session).
  int64_t dropped_messages = 0;
  int64_t dropped_tokens = 0;
};

// TRUNCATE or ERROR for this request: its own setting, else the session's, else ERROR.
bool Truncates(const v1::GenerateRequest& proto, const SessionSnapshot* session) {
  switch (proto.context_overflow()) {
    case v1::CONTEXT_OVERFLOW_TRUNCATE:
      return true;
    case v1::CONTEXT_OVERFLOW_ERROR:
      return false;
    default:
      return session != nullptr && session->context_overflow == ContextOverflow::kTruncate;
  }
}

// The tenant's share of the KV pool in blocks (at least one); 0 = no share of its own.
int64_t TenantKvBlockLimit(const Tenant& tenant, const Engine& engine) {
  if (tenant.limits.kv_share <= 0) return 0;
  return std::max<int64_t>(1, static_cast<int64_t>(tenant.limits.kv_share *
                                                   static_cast<double>(engine.kv_num_blocks())));
}

// An explicit max_tokens above the tenant's limit is refused (before a session is marked busy).
absl::Status CheckTenantMaxTokens(const v1::GenerateRequest& proto, const Tenant& tenant) {
  if (!proto.has_max_tokens() || tenant.limits.max_tokens <= 0 ||
      proto.max_tokens() <= tenant.limits.max_tokens) {
    return absl::OkStatus();
  }
  return absl::ResourceExhaustedError(absl::StrCat("max_tokens ", proto.max_tokens(),
                                                   " exceeds tenant ", tenant.name, "'s limit of ",
                                                   tenant.limits.max_tokens, " (max_tokens)"));
}

// The one max_tokens default: an unset max_tokens becomes the server's cap clipped to what the
// prompt leaves of the context and of the KV pool (the tenant's share when it has one), then to the
// tenant's limit, so the default never fails admission.
void ApplyDefaultMaxTokens(const v1::GenerateRequest& proto, const Engine& engine,
                           const ServiceLimits& limits, const Tenant& tenant,
                           GenerationRequest& request) {
  if (proto.has_max_tokens()) return;
  request.params.max_tokens =
      DefaultMaxTokens(engine.MaxNewTokens(static_cast<int64_t>(request.prompt_tokens.size()),
                                           request.tenant_kv_block_limit),
                       limits);
  if (tenant.limits.max_tokens > 0 && request.params.max_tokens.has_value()) {
    request.params.max_tokens = std::min(*request.params.max_tokens, tenant.limits.max_tokens);
  }
}

absl::StatusOr<PreparedCall> Prepare(GenerationCore& core, const ServingModel& model,
                                     const Tenant& tenant, const v1::GenerateRequest& proto) {
  MINIMIND_RETURN_IF_ERROR(CheckRequestParsed(proto));
  const ServiceLimits& limits = model.prompts->limits();
  MINIMIND_RETURN_IF_ERROR(ValidateIdField("request_id", proto.request_id(), limits));
  MINIMIND_RETURN_IF_ERROR(ValidateIdField("session_id", proto.session_id(), limits));
  PreparedCall call;
  MINIMIND_ASSIGN_OR_RETURN(call.request.params, SamplingParamsFromProto(proto, limits));
  MINIMIND_RETURN_IF_ERROR(CheckTenantMaxTokens(proto, tenant));
  MINIMIND_ASSIGN_OR_RETURN(const std::optional<ConstraintSpec> constraint,
                            ConstraintSpecFromProto(proto));
  if (constraint.has_value()) {
    // Compiled once per distinct constraint (the engine keeps the automata).
    MINIMIND_ASSIGN_OR_RETURN(call.request.constraint,
                              model.engine->CompileConstraint(*constraint));
  }
  call.client_request_id = proto.request_id().empty() ? core.NextRequestId() : proto.request_id();
  call.request.request_id = EngineRequestId(tenant.name, call.client_request_id);
  const bool use_cache = !proto.has_use_cache() || proto.use_cache();
  call.request.use_prefix_cache = use_cache;
  call.request.cache_salt = TenantCacheSalt(tenant.name);
  call.request.tenant = tenant.name;
  call.request.tenant_kv_block_limit = TenantKvBlockLimit(tenant, *model.engine);
  if (proto.has_enable_thinking()) call.enable_thinking = proto.enable_thinking();

  const int64_t max_context = model.engine->max_context();
  if (proto.session_id().empty()) {
    if (Truncates(proto, nullptr)) {
      const ContextBudget budget{max_context, ReplyBudget(proto, max_context, limits), true};
      MINIMIND_ASSIGN_OR_RETURN(PromptBuilder::FittedPrompt prompt,
                                model.prompts->BuildTruncated(proto, budget));
      call.request.prompt_tokens = std::move(prompt.tokens);
      call.dropped_messages = prompt.dropped_messages;
      call.dropped_tokens = prompt.dropped_tokens;
    } else {
      MINIMIND_ASSIGN_OR_RETURN(call.request.prompt_tokens, model.prompts->Build(proto));
    }
    ApplyDefaultMaxTokens(proto, *model.engine, limits, tenant, call.request);
    return call;
  }

  if (model.sessions == nullptr) {
    return absl::FailedPreconditionError("this server runs without sessions");
  }
  call.session_id = proto.session_id();
  MINIMIND_ASSIGN_OR_RETURN(call.lease, model.sessions->BeginTurn(proto.session_id(), tenant.name));
  const SessionSnapshot& session = call.lease.snapshot();
  const ContextBudget budget{max_context, ReplyBudget(proto, max_context, limits),
                             Truncates(proto, &session)};
  // On error the lease is released with `call`: the session is unchanged.
  MINIMIND_ASSIGN_OR_RETURN(
      PromptBuilder::Turn turn,
      model.prompts->BuildTurn(session.system_prompt, session.messages, session.window_start,
                               session.tokens, proto, budget));
  call.window_start = turn.window_start;
  call.dropped_messages = turn.dropped_messages;
  call.dropped_tokens = turn.dropped_tokens;
  call.new_messages = std::move(turn.new_messages);
  call.prompt_tokens = turn.prompt_tokens;
  call.request.prompt_tokens = std::move(turn.prompt_tokens);
  ApplyDefaultMaxTokens(proto, *model.engine, limits, tenant, call.request);
  call.request.retain_kv = true;
  if (use_cache) {
    call.request.resume = session.kv;
    // KV the pin cap (or a drain) moved to the spill tier comes back instead of a recompute.
    if (call.request.resume == nullptr && model.kv_spill != nullptr) {
      call.request.resume = model.kv_spill->Restore(session.id, session.tokens);
    }
  }
  return call;
}

// Receives the engine's callbacks for one call and converts them to minimind.v1 messages. Deltas
// arrive on the engine thread; a session turn's end moves to the commits executor, which commits or
// releases the lease and then delivers the last message.
class CallSink final : public GenerationSink, public std::enable_shared_from_this<CallSink> {
 public:
  // `call` without its request (gone to the engine); `logprobs`: the request asked for them.
  CallSink(const ServingModel& model, ServiceMetrics& metrics, PreparedCall call, bool logprobs,
           GenerationTarget* target)
      : model_(model),
        metrics_(metrics),
        request_id_(call.client_request_id),
        logprobs_requested_(logprobs),
        slot_(std::move(call.slot)),
        session_id_(call.session_id),
        lease_(std::move(call.lease)),
        new_messages_(std::move(call.new_messages)),
        prompt_tokens_(std::move(call.prompt_tokens)),
        enable_thinking_(call.enable_thinking),
        window_start_(call.window_start),
        dropped_messages_(call.dropped_messages),
        dropped_tokens_(call.dropped_tokens),
        target_(target) {}

  void OnDelta(const TokenDelta& delta) override {
    if (lease_.valid()) reply_text_ += delta.text;
    v1::GenerateResponse message;
    message.set_request_id(request_id_);
    message.set_text(delta.text);
    message.mutable_token_ids()->Add(delta.token_ids.begin(), delta.token_ids.end());
    if (logprobs_requested_) {
      for (const SampledToken& sampled : delta.sampled) {
        v1::TokenLogprob* entry = message.add_logprobs();
        entry->set_token_id(sampled.id);
        entry->set_logprob(sampled.logprob);
        AppendTop(sampled.top, *entry);
      }
    }
    target_->Deliver(std::move(message), /*last=*/false);
  }

  void OnFinish(absl::StatusOr<GenerationResult> result) override {
    slot_.Release();  // The request no longer counts against its tenant's concurrency.
    if (result.ok()) {
      metrics_.RecordResult(*result, /*session_turn=*/lease_.valid());
      if (dropped_messages_ > 0) metrics_.RecordContextTruncation(dropped_tokens_);
    } else {
      metrics_.RecordEngineFailure();
    }
    if (!lease_.valid()) {
      Finish(std::move(result), std::nullopt);
      return;
    }
    // Rendering, tokenizing and the store's write (a network round trip with Redis) happen on
    // the commits executor; this thread goes back to the batch at once.
    model_.commits->Post(
        [self = shared_from_this(), result = std::move(result), ended = absl::Now()]() mutable {
          std::optional<absl::Status> saved = self->CommitTurn(result, ended);
          self->Finish(std::move(result), std::move(saved));
        });
  }

 private:
  // Commits the turn (or releases the lease of a cancelled or failed one). nullopt when no commit
  // was attempted, else the store's answer.
  std::optional<absl::Status> CommitTurn(absl::StatusOr<GenerationResult>& result,
                                         absl::Time ended) {
    if (!result.ok() || result->finish_reason == FinishReason::kCancelled) {
      lease_.Release();
      return std::nullopt;
    }
    const SessionSnapshot& session = lease_.snapshot();
    std::vector<ChatMessage> appended = new_messages_;
    ChatMessage reply;
    reply.role = "assistant";
    reply.content = reply_text_;
    appended.push_back(std::move(reply));
    // What the model saw: the system prompt and the window, now with this turn.
    std::vector<ChatMessage> window(session.messages.begin() + window_start_,
                                    session.messages.end());
    window.insert(window.end(), appended.begin(), appended.end());
    std::vector<int32_t> tokens = model_.prompts->CommittedTokens(
        session.system_prompt, window, prompt_tokens_, result->output_tokens, enable_thinking_);
    absl::Status status =
        lease_.Commit(std::move(appended), std::move(tokens), std::move(result->kv), window_start_);
    metrics_.RecordSessionCommit(CommitOutcome(status), absl::ToDoubleSeconds(absl::Now() - ended));
    return status;
  }

  // The last call to the target.
  void Finish(absl::StatusOr<GenerationResult> result, std::optional<absl::Status> saved) {
    if (!result.ok()) {
      target_->Fail(result.status());
      return;
    }
    v1::GenerateResponse last;
    last.set_request_id(request_id_);
    last.set_session_id(session_id_);
    last.set_finish_reason(ToProtoFinishReason(result->finish_reason));
    v1::Usage* usage = last.mutable_usage();
    usage->set_prompt_tokens(result->prompt_tokens);
    usage->set_cached_prompt_tokens(result->cached_prompt_tokens);
    usage->set_completion_tokens(result->completion_tokens);
    usage->set_context_dropped_messages(dropped_messages_);
    usage->set_context_dropped_tokens(dropped_tokens_);
    usage->mutable_timing()->set_queue_seconds(absl::ToDoubleSeconds(result->queue_time));
    usage->mutable_timing()->set_time_to_first_token_seconds(
        absl::ToDoubleSeconds(result->time_to_first_token));
    usage->mutable_timing()->set_decode_seconds(absl::ToDoubleSeconds(result->decode_time));
    if (!session_id_.empty()) {
      if (!saved.has_value()) {
        usage->set_session_saved(false);
        usage->set_session_save_error("the turn was cancelled; the session is as it was");
      } else {
        usage->set_session_saved(saved->ok());
        if (!saved->ok()) usage->set_session_save_error(std::string(saved->message()));
      }
    }
    if (result->prompt_logprobs.has_value()) {
      for (const PromptTokenLogprobs& entry : *result->prompt_logprobs) {
        v1::TokenLogprob* out = last.add_prompt_logprobs();
        out->set_token_id(entry.id);
        out->set_logprob(entry.logprob);
        AppendTop(entry.top, *out);
      }
    }
    target_->Deliver(std::move(last), /*last=*/true);
  }

  const ServingModel& model_;
  ServiceMetrics& metrics_;
  const std::string request_id_;  // the client's
  const bool logprobs_requested_;
  RequestSlot slot_;
  const std::string session_id_;
  TurnLease lease_;
  const std::vector<ChatMessage> new_messages_;
  const std::vector<int32_t> prompt_tokens_;
  const std::optional<bool> enable_thinking_;
  const int64_t window_start_;
  const int64_t dropped_messages_;
  const int64_t dropped_tokens_;
  std::string reply_text_;
  GenerationTarget* const target_;
};

}  // namespace

GenerationCore::GenerationCore(const ModelSlot& model, ServiceMetrics& metrics, TenantUsage& usage)
    : model_(model),
      metrics_(metrics),
      usage_(usage),
      id_salt_(std::random_device{}() ^ (uint64_t{std::random_device{}()} << 32)) {}

absl::StatusOr<std::string> GenerationCore::Start(const Tenant& tenant,
                                                  const v1::GenerateRequest& request,
                                                  GenerationTarget* target) {
  MINIMIND_ASSIGN_OR_RETURN(ServingModel * model, model_.Get());
  MINIMIND_ASSIGN_OR_RETURN(RequestSlot slot, usage_.AcquireRequest(tenant));
  MINIMIND_ASSIGN_OR_RETURN(PreparedCall call, Prepare(*this, *model, tenant, request));
  call.slot = std::move(slot);
  GenerationRequest engine_request = std::move(call.request);
  std::string engine_id = engine_request.request_id;
  const bool logprobs = engine_request.params.logprobs;
  auto sink = std::make_shared<CallSink>(*model, metrics_, std::move(call), logprobs, target);
  MINIMIND_RETURN_IF_ERROR(model->engine->Submit(std::move(engine_request), std::move(sink)));
  return engine_id;
}

bool GenerationCore::Cancel(const std::string& engine_request_id) {
  ServingModel* model = model_.get();  // Not Get(): a draining server still cancels.
  return model != nullptr && model->engine->Cancel(engine_request_id);
}

bool GenerationCore::CancelForTenant(const Tenant& tenant, absl::string_view request_id) {
  return Cancel(EngineRequestId(tenant.name, request_id));
}

std::string GenerationCore::NextRequestId() {
  return absl::StrCat("req-", absl::Hex(id_salt_, absl::kZeroPad16), "-",
                      next_id_.fetch_add(1, std::memory_order_relaxed));
}

}  // namespace minimind
