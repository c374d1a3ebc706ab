#include "service/health_service.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "service/grpc_status.h"

namespace minimind {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

// One Watch call. Owned by gRPC from the handler's return until OnDone, which unregisters it and
// deletes it. Every member is guarded by the service's mutex.
class HealthService::WatchStream final : public grpc::ServerWriteReactor<HealthCheckResponse> {
 public:
  WatchStream(HealthService& health, std::string service)
      : health_(health), service_(std::move(service)) {}

  const std::string& service() const { return service_; }

  // Sends `status` unless it is what the client last received (or will, once the write in
  // flight completes, if it stays the latest).
  void Publish(ServingStatus status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(health_.mutex_) {
    latest_ = status;
    MaybeWrite();
  }
  // Finishes with OK once the latest status is written.
  void End() ABSL_EXCLUSIVE_LOCKS_REQUIRED(health_.mutex_) {
    ending_ = true;
    MaybeWrite();
  }
  void Refuse(grpc::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(health_.mutex_) {
    FinishOnce(std::move(status));
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&health_.mutex_);
    writing_ = false;
    if (!ok) {  // The client is gone; OnCancel may or may not follow.
      FinishOnce(grpc::Status(grpc::StatusCode::CANCELLED, "health watch write failed"));
      return;
    }
    MaybeWrite();
  }
  void OnCancel() override {
    absl::MutexLock lock(&health_.mutex_);
    FinishOnce(grpc::Status::CANCELLED);
  }
  void OnDone() override {
    {
      absl::MutexLock lock(&health_.mutex_);
      health_.watches_.erase(this);
    }
    delete this;
  }

 private:
  void MaybeWrite() ABSL_EXCLUSIVE_LOCKS_REQUIRED(health_.mutex_) {
    if (finished_ || writing_) return;
    if (!sent_any_ || response_.status() != latest_) {
      response_.set_status(latest_);  // Not touched again until OnWriteDone.
      sent_any_ = true;
      writing_ = true;
      StartWrite(&response_);
      return;
    }
    if (ending_) FinishOnce(grpc::Status::OK);
  }
  void FinishOnce(grpc::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(health_.mutex_) {
    if (finished_) return;
    finished_ = true;
    Finish(std::move(status));
  }

  HealthService& health_;
  const std::string service_;
  HealthCheckResponse response_ ABSL_GUARDED_BY(health_.mutex_);
  ServingStatus latest_ ABSL_GUARDED_BY(health_.mutex_) = HealthCheckResponse::UNKNOWN;
  bool sent_any_ ABSL_GUARDED_BY(health_.mutex_) = false;
  bool writing_ ABSL_GUARDED_BY(health_.mutex_) = false;
  bool ending_ ABSL_GUARDED_BY(health_.mutex_) = false;
  bool finished_ ABSL_GUARDED_BY(health_.mutex_) = false;
};

HealthService::HealthService(std::vector<std::string> services, const Authenticator* authenticator)
    : services_(services.begin(), services.end()), authenticator_(authenticator) {}

HealthService::~HealthService() = default;

void HealthService::SetServing(bool serving) {
  absl::MutexLock lock(&mutex_);
  if (ended_) return;
  serving_ = serving;
  for (WatchStream* watch : watches_) watch->Publish(StatusOf(watch->service()));
}

void HealthService::EndWatches() {
  absl::MutexLock lock(&mutex_);
  ended_ = true;
  serving_ = false;
  for (WatchStream* watch : watches_) {
    watch->Publish(StatusOf(watch->service()));
    watch->End();
  }
}

grpc::ServerUnaryReactor* HealthService::Check(grpc::CallbackServerContext* context,
                                               const HealthCheckRequest* request,
                                               HealthCheckResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (grpc::Status admitted = Admit(*context, *request); !admitted.ok()) {
    reactor->Finish(admitted);
    return reactor;
  }
  ServingStatus status;
  {
    absl::MutexLock lock(&mutex_);
    status = StatusOf(request->service());
  }
  if (status == HealthCheckResponse::SERVICE_UNKNOWN) {
    reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND,
                                 absl::StrCat("unknown service \"", request->service(), "\"")));
    return reactor;
  }
  response->set_status(status);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerWriteReactor<HealthCheckResponse>* HealthService::Watch(
    grpc::CallbackServerContext* context, const HealthCheckRequest* request) {
  auto* watch = new WatchStream(*this, request->service());
  const grpc::Status admitted = Admit(*context, *request);
  absl::MutexLock lock(&mutex_);
  watches_.insert(watch);
  if (!admitted.ok()) {
    watch->Refuse(admitted);
    return watch;
  }
  watch->Publish(StatusOf(watch->service()));
  if (ended_) watch->End();
  return watch;
}

grpc::Status HealthService::Admit(const grpc::CallbackServerContext& context,
                                  const HealthCheckRequest& request) const {
  if (request.service().size() > kMaxServiceNameBytes) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("service: ", request.service().size(),
                                     " bytes exceeds the limit of ", kMaxServiceNameBytes));
  }
  if (authenticator_ == nullptr) return grpc::Status::OK;
  return ToGrpcStatus(authenticator_->Authenticate(context).status());
}

HealthService::ServingStatus HealthService::StatusOf(const std::string& service) const {
  if (!service.empty() && !services_.contains(service)) return HealthCheckResponse::SERVICE_UNKNOWN;
  return serving_ ? HealthCheckResponse::SERVING : HealthCheckResponse::NOT_SERVING;
}

}  // namespace minimind
