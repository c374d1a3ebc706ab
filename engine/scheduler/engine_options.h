// EngineOptions: how one Engine is sized and limited. A plain value read once by Engine::Create.
//
// The KV budget (kv.memory_bytes, kv.block_size, kv.element_type) fixes the number of blocks of
// the pool; `kv.shape` is overwritten by Engine::Create with the model's geometry, so callers may
// leave it empty. End-of-sequence ids and the sampling vocabulary default to what the tokenizer
// passed to Engine::Create says (see the fields).
#ifndef MINIMIND_ENGINE_SCHEDULER_ENGINE_OPTIONS_H_
#define MINIMIND_ENGINE_SCHEDULER_ENGINE_OPTIONS_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "engine/constrain/constraint.h"
#include "engine/kv/kv_cache_config.h"
#include "engine/tokenizer/tokenizer.h"

namespace minimind {

struct EngineOptions {
  KvCacheConfig kv;
  // Most sequences in the running batch (each step decodes all of them at once).
  int64_t max_running = 64;
  // Most prompt (prefill) tokens computed per step, over all sequences; long prompts are split
  // into chunks of at most this many tokens. Decode tokens (one per running sequence) come on top.
  int64_t max_step_tokens = 256;
  // Most requests submitted but not yet admitted; Submit returns ResourceExhausted beyond it.
  int64_t max_waiting = 1024;
  // Most of them from one tenant (GenerationRequest::tenant), so that one tenant cannot fill the
  // waiting queue and make every other tenant's Submit fail. 0 = no per-tenant cap (then a
  // per-tenant concurrent-request limit in the service has to cover it).
  int64_t max_waiting_per_tenant = 0;
  // true: admission, the prefill budget and the batch's slots are shared fairly across tenants
  // (GenerationRequest::tenant; docs/scheduler.md). false: first come, first served across all
  // tenants (the behaviour before tenants existed; kept for comparison). Outputs are the same.
  bool fair_tenants = true;
  // Most positions (prompt + output) of one sequence. 0 = the model's max_position_embeddings.
  int64_t max_context = 0;
  // Threads of the forward pass (ModelRunnerOptions::num_threads), the engine thread included.
  // Results are bitwise the same for any count.
  int forward_threads = 1;
  // Ids that end a generation unless params.ignore_eos (ModelBundle::eos_token_ids). nullopt:
  // the tokenizer's "<|endoftext|>" and "<|im_end|>" when it has them.
  std::optional<std::vector<TokenId>> eos_token_ids;
  // Ids a generation may produce: samplers see logits [0, sampling_vocab_size). 0 = the
  // tokenizer's vocab_size() (a checkpoint may pad its embedding beyond it).
  int64_t sampling_vocab_size = 0;
  // Bytes the cache of compiled structured-output constraints may hold (ConstraintCompiler:
  // least recently used dropped first; the newest is always kept).
  int64_t constraint_cache_bytes = kDefaultConstraintCacheBytes;
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_SCHEDULER_ENGINE_OPTIONS_H_
