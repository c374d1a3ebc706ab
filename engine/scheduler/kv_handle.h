// KvHandle: the retained KV of a finished generation — its tokens and a sequence sharing the
// generation's blocks (copy-on-write: a later request resuming from it copies a shared partial
// block before writing into it). Produced by the Engine when GenerationRequest::retain_kv; passed
// back as GenerationRequest::resume to continue a session without recomputing its prefix.
//
// Ownership and threading: held through std::shared_ptr<const KvHandle>; copying the pointer and
// destroying the handle are safe from ANY thread. The blocks belong to the engine thread's pool,
// so the destructor never touches the pool directly while the engine runs: it posts the sequence
// to the engine's release queue, and the engine thread releases the blocks on its next step.
// After the engine has stopped, the destructor releases the blocks itself under the queue's lock
// (the pool is kept alive by the queue until the last handle is gone).
#ifndef MINIMIND_ENGINE_SCHEDULER_KV_HANDLE_H_
#define MINIMIND_ENGINE_SCHEDULER_KV_HANDLE_H_

#include <cstdint>
#include <memory>
#include <vector>

namespace minimind {

class PagedKvSequence;
class KvReleaseQueue;

class KvHandle {
 public:
  KvHandle(const KvHandle&) = delete;
  KvHandle& operator=(const KvHandle&) = delete;
  ~KvHandle();

  // The tokens whose KV the handle holds: prompt + output, minus the last sampled token (its KV
  // is computed only when a later request feeds it).
  const std::vector<int32_t>& tokens() const { return tokens_; }
  int64_t num_tokens() const { return static_cast<int64_t>(tokens_.size()); }
  // Blocks the handle references (shared blocks count once per handle).
  int64_t num_blocks() const { return num_blocks_; }

 private:
  friend class Engine;
  friend class EngineLoop;

  KvHandle(std::vector<int32_t> tokens, std::unique_ptr<PagedKvSequence> sequence,
           std::shared_ptr<KvReleaseQueue> release_queue);

  std::vector<int32_t> tokens_;
  int64_t num_blocks_ = 0;
  std::unique_ptr<PagedKvSequence> sequence_;  // Touched only on the engine thread while it runs.
  std::shared_ptr<KvReleaseQueue> release_queue_;
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_SCHEDULER_KV_HANDLE_H_
