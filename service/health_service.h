// HealthService: grpc.health.v1.Health (proto/grpc/health/v1/health.proto), served by us instead of
// gRPC's built-in service so that it can require credentials.
//
// One serving state covers "" (the whole server) and every name in `services`: NOT_SERVING until
// the model is loaded, SERVING while it serves, NOT_SERVING again from the start of a drain. Check
// of another name answers NOT_FOUND; Watch of one sends SERVICE_UNKNOWN and waits (as gRPC's own
// service does). A service name longer than kMaxServiceNameBytes is INVALID_ARGUMENT.
//
// Authentication: with `authenticator` null the service is open (the default: Kubernetes' native
// gRPC probes send no metadata). With one (--health-auth on), every Check and Watch must
// authenticate like any other call (service/auth/authenticator.h) or gets UNAUTHENTICATED.
//
// Watch streams: the current status at once, then each change (a change made while a write is in
// flight is coalesced into the latest status). EndWatches() finishes every open stream with OK and
// any later Watch at once, so the gRPC server's shutdown does not wait for them.
//
// Thread-safety: SetServing, EndWatches and the RPC handlers may run concurrently from any
// threads. One mutex guards the state and every watch stream's write bookkeeping; gRPC never runs a
// callback reactor's OnWriteDone/OnDone inline inside StartWrite/Finish, so calling those under it
// cannot re-enter it.
#ifndef MINIMIND_SERVICE_HEALTH_SERVICE_H_
#define MINIMIND_SERVICE_HEALTH_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "service/auth/authenticator.h"

namespace minimind {

class HealthService final : public grpc::health::v1::Health::CallbackService {
 public:
  static constexpr size_t kMaxServiceNameBytes = 200;

  // `services`: the fully qualified service names the server registers. `authenticator`: null for
  // an open service; otherwise not owned and must outlive this service.
  HealthService(std::vector<std::string> services, const Authenticator* authenticator);
  // Requires every Watch stream to be done (EndWatches, then the gRPC server shut down).
  ~HealthService() override;

  HealthService(const HealthService&) = delete;
  HealthService& operator=(const HealthService&) = delete;

  void SetServing(bool serving);
  // NOT_SERVING for good, and every Watch stream ends (OK) after sending it.
  void EndWatches();

  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const grpc::health::v1::HealthCheckRequest* request,
                                  grpc::health::v1::HealthCheckResponse* response) override;
  grpc::ServerWriteReactor<grpc::health::v1::HealthCheckResponse>* Watch(
      grpc::CallbackServerContext* context,
      const grpc::health::v1::HealthCheckRequest* request) override;

 private:
  class WatchStream;
  using ServingStatus = grpc::health::v1::HealthCheckResponse::ServingStatus;

  // OK, or why the call may not ask: UNAUTHENTICATED, INVALID_ARGUMENT (name too long).
  grpc::Status Admit(const grpc::CallbackServerContext& context,
                     const grpc::health::v1::HealthCheckRequest& request) const;
  ServingStatus StatusOf(const std::string& service) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const absl::flat_hash_set<std::string> services_;
  const Authenticator* const authenticator_;
  absl::Mutex mutex_;
  bool serving_ ABSL_GUARDED_BY(mutex_) = false;
  bool ended_ ABSL_GUARDED_BY(mutex_) = false;
  absl::flat_hash_set<WatchStream*> watches_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace minimind

#endif  // MINIMIND_SERVICE_HEALTH_SERVICE_H_
