// ServiceDependencies: what every gRPC service of a Server shares — the published model, the
// metrics, the authenticator and the per-tenant usage counts. All owned by the Server, which
// outlives its services; every member is thread-safe.
#ifndef MINIMIND_SERVICE_SERVICE_DEPENDENCIES_H_
#define MINIMIND_SERVICE_SERVICE_DEPENDENCIES_H_

#include "service/auth/authenticator.h"
#include "service/auth/tenant_usage.h"
#include "service/metrics/service_metrics.h"
#include "service/serving_model.h"

namespace minimind {

struct ServiceDependencies {
  const ModelSlot& model;
  ServiceMetrics& metrics;
  const Authenticator& authenticator;
  TenantUsage& usage;
};

}  // namespace minimind

#endif  // MINIMIND_SERVICE_SERVICE_DEPENDENCIES_H_
