#include "engine/scheduler/kv_handle.h"

#include <utility>

#include "engine/kv/paged_kv_sequence.h"
#include "engine/scheduler/kv_release_queue.h"

namespace minimind {

KvHandle::KvHandle(std::vector<int32_t> tokens, std::unique_ptr<PagedKvSequence> sequence,
                   std::shared_ptr<KvReleaseQueue> release_queue)
    : tokens_(std::move(tokens)),
      num_blocks_(sequence->num_blocks()),
      sequence_(std::move(sequence)),
      release_queue_(std::move(release_queue)) {
  release_queue_->HandleCreated();
}

KvHandle::~KvHandle() { release_queue_->Release(std::move(sequence_)); }

}  // namespace minimind
