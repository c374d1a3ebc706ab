#include "service/inference_service.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <random>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/auth/tenant.h"
#include "service/call_target.h"
#include "service/grpc_status.h"
#include "service/metrics/service_metrics.h"
#include "service/outbound_queue.h"
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
};

// Unset max_tokens: the server's cap clipped to what the prompt leaves of the context and the KV
// pool, so the default never fails admission.
// A tenant's max_tokens limit lowers the default too. An explicit max_tokens above the tenant's
// limit was refused before (CheckTenantMaxTokens).
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

// The tenant's share of the KV pool in blocks (at least one); 0 = no share of its own.
int64_t TenantKvBlockLimit(const Tenant& tenant, const Engine& engine) {
  if (tenant.limits.kv_share <= 0) return 0;
  return std::max<int64_t>(1, static_cast<int64_t>(tenant.limits.kv_share *
                                                   static_cast<double>(engine.kv_num_blocks())));
}

absl::Status CheckTenantMaxTokens(const v1::GenerateRequest& proto, const Tenant& tenant) {
  if (!proto.has_max_tokens() || tenant.limits.max_tokens <= 0 ||
      proto.max_tokens() <= tenant.limits.max_tokens) {
    return absl::OkStatus();
  }
  return absl::ResourceExhaustedError(absl::StrCat("max_tokens ", proto.max_tokens(),
                                                   " exceeds tenant ", tenant.name, "'s limit of ",
                                                   tenant.limits.max_tokens, " (max_tokens)"));
}

absl::StatusOr<PreparedCall> Prepare(InferenceService& service, const ServingModel& model,
                                     const Tenant& tenant, const v1::GenerateRequest& proto) {
  if (absl::Status s = CheckRequestParsed(proto); !s.ok()) return s;
  const ServiceLimits& limits = model.prompts->limits();
  PreparedCall call;
  if (absl::Status s = ValidateIdField("request_id", proto.request_id(), limits); !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidateIdField("session_id", proto.session_id(), limits); !s.ok()) {
    return s;
  }
  absl::StatusOr<SamplingParams> params = SamplingParamsFromProto(proto, limits);
  if (!params.ok()) return params.status();
  if (absl::Status s = CheckTenantMaxTokens(proto, tenant); !s.ok()) return s;
  call.request.params = *std::move(params);
  call.client_request_id =
      proto.request_id().empty() ? service.NextRequestId() : proto.request_id();
  call.request.request_id = EngineRequestId(tenant.name, call.client_request_id);
  const bool use_cache = !proto.has_use_cache() || proto.use_cache();
  call.request.use_prefix_cache = use_cache;
  call.request.cache_salt = TenantCacheSalt(tenant.name);
  call.request.tenant = tenant.name;
  call.request.tenant_kv_block_limit = TenantKvBlockLimit(tenant, *model.engine);
  if (proto.has_enable_thinking()) call.enable_thinking = proto.enable_thinking();

  if (proto.session_id().empty()) {
    absl::StatusOr<std::vector<int32_t>> tokens = model.prompts->Build(proto);
    if (!tokens.ok()) return tokens.status();
    call.request.prompt_tokens = *std::move(tokens);
    ApplyDefaultMaxTokens(proto, *model.engine, limits, tenant, call.request);
    return call;
  }

  if (model.sessions == nullptr) {
    return absl::FailedPreconditionError("this server runs without sessions");
  }
  call.session_id = proto.session_id();
  absl::StatusOr<TurnLease> lease = model.sessions->BeginTurn(proto.session_id(), tenant.name);
  if (!lease.ok()) return lease.status();
  call.lease = *std::move(lease);
  const SessionSnapshot& session = call.lease.snapshot();
  absl::StatusOr<PromptBuilder::Turn> turn =
      model.prompts->BuildTurn(session.system_prompt, session.messages, session.tokens, proto);
  if (!turn.ok()) return turn.status();  // The lease is released: the session is unchanged.
  call.new_messages = std::move(turn->new_messages);
  call.prompt_tokens = turn->prompt_tokens;
  call.request.prompt_tokens = std::move(turn->prompt_tokens);
  ApplyDefaultMaxTokens(proto, *model.engine, limits, tenant, call.request);
  call.request.retain_kv = true;
  if (use_cache) call.request.resume = session.kv;
  return call;
}

// Receives the engine's callbacks for one call, converts them to proto and commits a session
// turn. Called on the engine thread only.
class CallSink final : public GenerationSink {
 public:
  CallSink(const ServingModel& model, ServiceMetrics& metrics, PreparedCall call,
           CallTarget* target)
      : model_(model),
        metrics_(metrics),
        request_id_(call.client_request_id),
        slot_(std::move(call.slot)),
        session_id_(call.session_id),
        lease_(std::move(call.lease)),
        new_messages_(std::move(call.new_messages)),
        prompt_tokens_(std::move(call.prompt_tokens)),
        enable_thinking_(call.enable_thinking),
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
    CallTarget* target = target_;
    if (!result.ok()) {
      metrics_.RecordEngineFailure();
      lease_.Release();
      target->Fail(ToGrpcStatus(result.status()));
      return;
    }
    metrics_.RecordResult(*result, /*session_turn=*/lease_.valid());
    if (lease_.valid()) CommitTurn(*result);
    v1::GenerateResponse last;
    last.set_request_id(request_id_);
    last.set_session_id(session_id_);
    last.set_finish_reason(ToProtoFinishReason(result->finish_reason));
    v1::Usage* usage = last.mutable_usage();
    usage->set_prompt_tokens(result->prompt_tokens);
    usage->set_cached_prompt_tokens(result->cached_prompt_tokens);
    usage->set_completion_tokens(result->completion_tokens);
    usage->mutable_timing()->set_queue_seconds(absl::ToDoubleSeconds(result->queue_time));
    usage->mutable_timing()->set_time_to_first_token_seconds(
        absl::ToDoubleSeconds(result->time_to_first_token));
    usage->mutable_timing()->set_decode_seconds(absl::ToDoubleSeconds(result->decode_time));
    if (result->prompt_logprobs.has_value()) {
      for (const PromptTokenLogprobs& entry : *result->prompt_logprobs) {
        v1::TokenLogprob* out = last.add_prompt_logprobs();
        out->set_token_id(entry.id);
        out->set_logprob(entry.logprob);
        AppendTop(entry.top, *out);
      }
    }
    target->Deliver(std::move(last), /*last=*/true);
  }

  void set_logprobs_requested(bool requested) { logprobs_requested_ = requested; }

 private:
  // A cancelled turn leaves the session as it was; otherwise the messages, the reply, the exact
  // tokens and the retained KV are committed. A session deleted meanwhile keeps it deleted.
  void CommitTurn(GenerationResult& result) {
    if (result.finish_reason == FinishReason::kCancelled) {
      lease_.Release();
      return;
    }
    const SessionSnapshot& session = lease_.snapshot();
    std::vector<ChatMessage> appended = new_messages_;
    ChatMessage reply;
    reply.role = "assistant";
    reply.content = reply_text_;
    appended.push_back(std::move(reply));
    std::vector<ChatMessage> transcript = session.messages;
    transcript.insert(transcript.end(), appended.begin(), appended.end());
    std::vector<int32_t> tokens = model_.prompts->CommittedTokens(
        session.system_prompt, transcript, prompt_tokens_, result.output_tokens, enable_thinking_);
    // NOT_FOUND here means the session was deleted or expired during the turn: the reply is
    // still returned, the session stays gone.
    lease_.Commit(std::move(appended), std::move(tokens), std::move(result.kv)).IgnoreError();
  }

  const ServingModel& model_;
  ServiceMetrics& metrics_;
  const std::string request_id_;  // the client's
  RequestSlot slot_;
  const std::string session_id_;
  TurnLease lease_;
  const std::vector<ChatMessage> new_messages_;
  const std::vector<int32_t> prompt_tokens_;
  const std::optional<bool> enable_thinking_;
  std::string reply_text_;
  bool logprobs_requested_ = false;
  CallTarget* const target_;
};

// Submits `call`; the sink reports to `target`. On error nothing was submitted.
absl::Status SubmitCall(ServingModel& model, ServiceMetrics& metrics, PreparedCall call,
                        CallTarget* target) {
  // The sink keeps the id; the request itself goes to the engine.
  GenerationRequest request = std::move(call.request);
  auto sink = std::make_shared<CallSink>(model, metrics, std::move(call), target);
  sink->set_logprobs_requested(request.params.logprobs);
  return model.engine->Submit(std::move(request), std::move(sink));
}

// The published model and the prepared call, or why not: authentication, the tenant's
// concurrency limit, then the request itself.
absl::StatusOr<PreparedCall> PrepareCall(InferenceService& service,
                                         const grpc::CallbackServerContext& context,
                                         ServingModel*& model, const v1::GenerateRequest& request) {
  absl::StatusOr<ServingModel*> loaded = service.model().Get();
  if (!loaded.ok()) return loaded.status();
  model = *loaded;
  absl::StatusOr<std::shared_ptr<const Tenant>> tenant =
      service.deps().authenticator.Authenticate(context);
  if (!tenant.ok()) return tenant.status();
  absl::StatusOr<RequestSlot> slot = service.deps().usage.AcquireRequest(**tenant);
  if (!slot.ok()) return slot.status();
  absl::StatusOr<PreparedCall> call = Prepare(service, *model, **tenant, request);
  if (call.ok()) call->slot = *std::move(slot);
  return call;
}

class GenerateReactor final : public grpc::ServerWriteReactor<v1::GenerateResponse>,
                              public CallTarget {
 public:
  GenerateReactor(InferenceService& service, const grpc::CallbackServerContext& context,
                  const v1::GenerateRequest& request)
      : queue_(service.model().get() != nullptr
                   ? service.model().get()->prompts->limits().outbound_queue_messages
                   : 1) {
    absl::StatusOr<PreparedCall> call = PrepareCall(service, context, model_, request);
    if (!call.ok()) {
      Finish(ToGrpcStatus(call.status()));
      return;
    }
    request_id_ = call->request.request_id;
    if (absl::Status s = SubmitCall(*model_, service.metrics(), *std::move(call), this); !s.ok()) {
      Finish(ToGrpcStatus(s));
      return;
    }
    submitted_.store(true, std::memory_order_release);
  }

  void Deliver(v1::GenerateResponse message, bool last) override {
    Action action;
    {
      absl::MutexLock lock(&mutex_);
      if (!broken_) queue_.Push(std::move(message));
      if (last) finished_ = true;
      action = NextActionLocked();
    }
    Run(action);
  }

  void Fail(grpc::Status status) override {
    Action action;
    {
      absl::MutexLock lock(&mutex_);
      finished_ = true;
      status_ = std::move(status);
      action = NextActionLocked();
    }
    Run(action);
  }

  void OnWriteDone(bool ok) override {
    Action action;
    {
      absl::MutexLock lock(&mutex_);
      writing_ = false;
      if (!ok && !broken_) {
        // The stream is gone (cancelled or disconnected): stop writing; OnCancel stops the engine.
        broken_ = true;
        while (!queue_.empty()) queue_.Pop();
      }
      action = NextActionLocked();
    }
    if (!ok) CancelEngine();
    Run(action);
  }

  void OnCancel() override { CancelEngine(); }

  void OnDone() override { delete this; }

 private:
  enum class Action { kNone, kWrite, kFinish };

  Action NextActionLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    if (writing_ || finish_called_) return Action::kNone;
    if (!queue_.empty()) {
      current_ = queue_.Pop();
      writing_ = true;
      return Action::kWrite;
    }
    if (finished_) {
      finish_called_ = true;
      return Action::kFinish;
    }
    return Action::kNone;
  }

  // Outside the mutex. After Finish the reactor may be deleted at any moment: touch nothing.
  void Run(Action action) {
    switch (action) {
      case Action::kNone:
        return;
      case Action::kWrite:
        StartWrite(&current_);  // current_ is not touched until OnWriteDone.
        return;
      case Action::kFinish: {
        grpc::Status status;
        {
          absl::MutexLock lock(&mutex_);
          status = status_;
        }
        Finish(status);
        return;
      }
    }
  }

  void CancelEngine() {
    if (submitted_.load(std::memory_order_acquire)) model_->engine->Cancel(request_id_);
  }

  ServingModel* model_ = nullptr;
  std::string request_id_;
  std::atomic<bool> submitted_{false};
  absl::Mutex mutex_;
  OutboundQueue queue_ ABSL_GUARDED_BY(mutex_);
  v1::GenerateResponse current_;  // The message being written; owned by the write in flight.
  bool writing_ ABSL_GUARDED_BY(mutex_) = false;
  bool finished_ ABSL_GUARDED_BY(mutex_) = false;  // The engine delivered its last call.
  bool finish_called_ ABSL_GUARDED_BY(mutex_) = false;
  bool broken_ ABSL_GUARDED_BY(mutex_) = false;  // A write failed; output is dropped.
  grpc::Status status_ ABSL_GUARDED_BY(mutex_);
};

class CompleteReactor final : public grpc::ServerUnaryReactor, public CallTarget {
 public:
  CompleteReactor(InferenceService& service, const grpc::CallbackServerContext& context,
                  const v1::GenerateRequest& request, v1::GenerateResponse* response)
      : response_(response) {
    absl::StatusOr<PreparedCall> call = PrepareCall(service, context, model_, request);
    if (!call.ok()) {
      Finish(ToGrpcStatus(call.status()));
      return;
    }
    request_id_ = call->request.request_id;
    if (absl::Status s = SubmitCall(*model_, service.metrics(), *std::move(call), this); !s.ok()) {
      Finish(ToGrpcStatus(s));
      return;
    }
    submitted_.store(true, std::memory_order_release);
  }

  void Deliver(v1::GenerateResponse message, bool last) override {
    // Only the engine thread writes the response, and gRPC reads it after Finish.
    MergeResponse(std::move(message), *response_);
    if (last) Finish(grpc::Status::OK);
  }

  void Fail(grpc::Status status) override { Finish(std::move(status)); }

  void OnCancel() override {
    if (submitted_.load(std::memory_order_acquire)) model_->engine->Cancel(request_id_);
  }

  void OnDone() override { delete this; }

 private:
  ServingModel* model_ = nullptr;
  v1::GenerateResponse* const response_;
  std::string request_id_;
  std::atomic<bool> submitted_{false};
};

}  // namespace

InferenceService::InferenceService(const ServiceDependencies& deps)
    : deps_(deps), id_salt_(std::random_device{}() ^ (uint64_t{std::random_device{}()} << 32)) {}

absl::StatusOr<std::string> InferenceService::StartGeneration(const Tenant& tenant,
                                                              RequestSlot slot,
                                                              const v1::GenerateRequest& request,
                                                              CallTarget* target) {
  absl::StatusOr<ServingModel*> model = deps_.model.Get();
  if (!model.ok()) return model.status();
  absl::StatusOr<PreparedCall> call = Prepare(*this, **model, tenant, request);
  if (!call.ok()) return call.status();
  call->slot = std::move(slot);
  std::string engine_id = call->request.request_id;
  if (absl::Status s = SubmitCall(**model, metrics(), *std::move(call), target); !s.ok()) return s;
  return engine_id;
}

bool InferenceService::CancelGeneration(const std::string& engine_request_id) {
  ServingModel* model = deps_.model.get();
  return model != nullptr && model->engine->Cancel(engine_request_id);
}

std::string InferenceService::NextRequestId() {
  return absl::StrCat("req-", absl::Hex(id_salt_, absl::kZeroPad16), "-",
                      next_id_.fetch_add(1, std::memory_order_relaxed));
}

grpc::ServerWriteReactor<v1::GenerateResponse>* InferenceService::Generate(
    grpc::CallbackServerContext* context, const v1::GenerateRequest* request) {
  return new GenerateReactor(*this, *context, *request);
}

grpc::ServerUnaryReactor* InferenceService::Complete(grpc::CallbackServerContext* context,
                                                     const v1::GenerateRequest* request,
                                                     v1::GenerateResponse* response) {
  return new CompleteReactor(*this, *context, *request, response);
}

grpc::ServerUnaryReactor* InferenceService::Cancel(grpc::CallbackServerContext* context,
                                                   const v1::CancelRequest* request,
                                                   v1::CancelResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (absl::Status s = CheckRequestParsed(*request); !s.ok()) {
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  }
  // Not Get(): a draining server still cancels the calls it is finishing.
  ServingModel* model = deps_.model.get();
  if (model == nullptr) {
    reactor->Finish(ToGrpcStatus(absl::UnavailableError("the model is still loading")));
    return reactor;
  }
  if (absl::Status s = CheckUtf8("request_id", request->request_id()); !s.ok()) {
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  }
  if (request->request_id().empty()) {
    reactor->Finish(ToGrpcStatus(absl::InvalidArgumentError("request_id is empty")));
    return reactor;
  }
  absl::StatusOr<std::shared_ptr<const Tenant>> tenant = deps_.authenticator.Authenticate(*context);
  if (!tenant.ok()) {
    reactor->Finish(ToGrpcStatus(tenant.status()));
    return reactor;
  }
  // Only the caller's own requests: another tenant's id is simply not live for it.
  response->set_cancelled(
      model->engine->Cancel(EngineRequestId((*tenant)->name, request->request_id())));
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace minimind
