// How many CPUs this process may run on: the default thread count of the forward pass, so the
// server and the benchmarks that stand in for it use the same figure.
#ifndef MINIMIND_ENGINE_RUNTIME_USABLE_CPUS_H_
#define MINIMIND_ENGINE_RUNTIME_USABLE_CPUS_H_

namespace minimind {

// CPUs in this process's affinity mask (which container CPU sets narrow), clamped to
// [1, ThreadPool::kMaxThreads]; the machine's count if the mask cannot be read. CPU quotas (a
// Kubernetes CPU limit without a CPU set) are not visible here: callers take an explicit thread
// count for those.
int UsableCpuCount();

}  // namespace minimind

#endif  // MINIMIND_ENGINE_RUNTIME_USABLE_CPUS_H_
