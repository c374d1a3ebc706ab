#include "engine/runtime/usable_cpus.h"

#include <sched.h>

#include <algorithm>
#include <thread>

#include "engine/runtime/thread_pool.h"

namespace minimind {

int UsableCpuCount() {
  cpu_set_t cpus;
  int count = 0;
  if (sched_getaffinity(0, sizeof(cpus), &cpus) == 0) count = CPU_COUNT(&cpus);
  if (count <= 0) count = static_cast<int>(std::thread::hardware_concurrency());
  return std::clamp(count, 1, ThreadPool::kMaxThreads);
}

}  // namespace minimind
