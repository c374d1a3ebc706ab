#include "service/inference_service.h"

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "service/generation/generation_target.h"
#include "service/grpc_status.h"
#include "service/outbound_queue.h"
#include "service/request_checks.h"

namespace minimind {
namespace {

// The authenticated tenant's generation, started on the core; the engine id to cancel it, or why
// nothing was started.
absl::StatusOr<std::string> StartCall(InferenceService& service,
                                      const grpc::CallbackServerContext& context,
                                      const v1::GenerateRequest& request,
                                      GenerationTarget* target) {
  absl::StatusOr<std::shared_ptr<const Tenant>> tenant =
      service.deps().authenticator.Authenticate(context);
  if (!tenant.ok()) return tenant.status();
  return service.core().Start(**tenant, request, target);
}

// What keeps a reactor alive: gRPC until OnDone; the generation until its last call to the
// target (Deliver with last, or Fail) has returned, or its start failed; and the start until it
// has run to its end. The engine thread may still be inside that last call when the write it
// started lets gRPC end the call on another thread, and a posted start may still be recording the
// engine id when the whole generation is over; whichever lets go last deletes the reactor.
class ReactorHolds {
 public:
  template <typename Reactor>
  void Release(Reactor* reactor) {
    if (count_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete reactor;
  }

 private:
  std::atomic<int> count_{3};
};

// The engine side of one call. A stateless call starts inline; a session turn's start waits on
// the session store (BeginTurn, a Redis round trip), so it runs on the session-calls executor,
// never on gRPC's callback threads. Cancel works from any thread at any time, before the start
// too: a start that finds the call cancelled cancels what it submitted.
class CallStart {
 public:
  explicit CallStart(GenerationCore& core) : core_(core) {}

  // Starts `request` for `reactor` (its GenerationTarget; inline or posted, see above). On error
  // the reactor is finished with the status and nothing runs. The start lets go of its hold on
  // the reactor as its last act, and of the generation's hold when it started none.
  template <typename Reactor>
  void Begin(InferenceService& service, const grpc::CallbackServerContext& context,
             const v1::GenerateRequest& request, Reactor* reactor, ReactorHolds& holds) {
    auto start = [this, &service, &context, &request, reactor, &holds] {
      absl::StatusOr<std::string> engine_id = StartCall(service, context, request, reactor);
      if (!engine_id.ok()) {
        reactor->Finish(ToGrpcStatus(engine_id.status()));
        holds.Release(reactor);  // The generation's: none will call.
        holds.Release(reactor);  // The start's.
        return;
      }
      engine_id_ = *std::move(engine_id);
      submitted_.store(true);  // seq_cst with cancelled_: one of the two sides cancels
      if (cancelled_.load()) core_.Cancel(engine_id_);
      holds.Release(reactor);  // The start's: nothing of the reactor is touched after it.
    };
    if (request.session_id().empty()) {
      start();
    } else {
      service.session_calls().Post(std::move(start));
    }
  }

  void Cancel() {
    cancelled_.store(true);
    if (submitted_.load()) core_.Cancel(engine_id_);
  }

 private:
  GenerationCore& core_;
  std::string engine_id_;  // Written before submitted_ is set.
  std::atomic<bool> submitted_{false};
  std::atomic<bool> cancelled_{false};
};

// One Generate call: the core's messages become stream writes, one in flight at a time.
class GenerateReactor final : public grpc::ServerWriteReactor<v1::GenerateResponse>,
                              public GenerationTarget {
 public:
  GenerateReactor(InferenceService& service, const grpc::CallbackServerContext& context,
                  const v1::GenerateRequest& request)
      : start_(service.core()),
        queue_(service.deps().model.get() != nullptr
                   ? service.deps().model.get()->prompts->limits().outbound_queue_messages
                   : 1) {
    start_.Begin(service, context, request, this, holds_);
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
    if (last) holds_.Release(this);
  }

  void Fail(absl::Status status) override {
    Action action;
    {
      absl::MutexLock lock(&mutex_);
      finished_ = true;
      status_ = ToGrpcStatus(status);
      action = NextActionLocked();
    }
    Run(action);
    holds_.Release(this);
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

  void OnDone() override { holds_.Release(this); }

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

  // Outside the mutex. After Finish gRPC may end the call at any moment (OnDone); the holds keep
  // the reactor alive until the generation's last call has returned too.
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

  void CancelEngine() { start_.Cancel(); }

  ReactorHolds holds_;
  CallStart start_;
  absl::Mutex mutex_;
  OutboundQueue queue_ ABSL_GUARDED_BY(mutex_);
  v1::GenerateResponse current_;  // The message being written; owned by the write in flight.
  bool writing_ ABSL_GUARDED_BY(mutex_) = false;
  bool finished_ ABSL_GUARDED_BY(mutex_) = false;  // The engine delivered its last call.
  bool finish_called_ ABSL_GUARDED_BY(mutex_) = false;
  bool broken_ ABSL_GUARDED_BY(mutex_) = false;  // A write failed; output is dropped.
  grpc::Status status_ ABSL_GUARDED_BY(mutex_);
};

// One Complete call: the core's messages merged into the one response.
class CompleteReactor final : public grpc::ServerUnaryReactor, public GenerationTarget {
 public:
  CompleteReactor(InferenceService& service, const grpc::CallbackServerContext& context,
                  const v1::GenerateRequest& request, v1::GenerateResponse* response)
      : start_(service.core()), response_(response) {
    start_.Begin(service, context, request, this, holds_);
  }

  void Deliver(v1::GenerateResponse message, bool last) override {
    // Deliveries are ordered (generation_target.h), and gRPC reads the response after Finish.
    MergeResponse(std::move(message), *response_);
    if (!last) return;
    Finish(grpc::Status::OK);
    holds_.Release(this);
  }

  void Fail(absl::Status status) override {
    Finish(ToGrpcStatus(status));
    holds_.Release(this);
  }

  void OnCancel() override { start_.Cancel(); }

  void OnDone() override { holds_.Release(this); }

 private:
  ReactorHolds holds_;
  CallStart start_;
  v1::GenerateResponse* const response_;
};

}  // namespace

InferenceService::InferenceService(const ServiceDependencies& deps, GenerationCore& core,
                                   IoExecutor& session_calls)
    : deps_(deps), core_(core), session_calls_(session_calls) {}

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
  // A draining server still cancels the calls it is finishing (the core does not ask Get()).
  if (deps_.model.get() == nullptr) {
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
  response->set_cancelled(core_.CancelForTenant(**tenant, request->request_id()));
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace minimind
