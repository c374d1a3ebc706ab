// RpcMetricsInterceptorFactory: a gRPC server interceptor that counts every call's final status
// code by method into ServiceMetrics (minimind_grpc_requests_total). It observes the status at
// PRE_SEND_STATUS, so calls the client abandons before a status is sent are not counted.
//
// Ownership: the factory and its interceptors reference `metrics`, which must outlive the server.
#ifndef MINIMIND_SERVICE_METRICS_RPC_METRICS_INTERCEPTOR_H_
#define MINIMIND_SERVICE_METRICS_RPC_METRICS_INTERCEPTOR_H_

#include <grpcpp/support/server_interceptor.h>

#include "service/metrics/service_metrics.h"

namespace minimind {

class RpcMetricsInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit RpcMetricsInterceptorFactory(ServiceMetrics& metrics) : metrics_(metrics) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  ServiceMetrics& metrics_;
};

}  // namespace minimind

#endif  // MINIMIND_SERVICE_METRICS_RPC_METRICS_INTERCEPTOR_H_
