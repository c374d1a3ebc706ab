// GenerationRequest: one generation as submitted to Engine::Submit. A plain value; the engine
// takes it by value and owns it from then on.
#ifndef MINIMIND_ENGINE_SCHEDULER_GENERATION_REQUEST_H_
#define MINIMIND_ENGINE_SCHEDULER_GENERATION_REQUEST_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/constrain/constraint_automaton.h"
#include "engine/sampling/sampling_params.h"
#include "engine/scheduler/kv_handle.h"

namespace minimind {

struct GenerationRequest {
  // Unique among live (submitted, not yet finished) requests: Submit rejects duplicates with
  // AlreadyExists. Cancel refers to it.
  std::string request_id;
  // The prompt, already tokenized; non-empty, every id below the model's vocabulary size.
  std::vector<int32_t> prompt_tokens;
  // Validated by Submit. An unset seed is drawn by the engine (the run is then not replayable).
  SamplingParams params;
  // Tenant isolation for the prefix cache: blocks are shared only between equal salts.
  uint64_t cache_salt = 0;
  // false: neither read nor publish prefix-cache blocks. Requests asking for prompt_logprobs
  // never read the prefix cache (cached positions have no logits to report).
  bool use_prefix_cache = true;
  // Retained KV (a session's previous turn) to continue from: the engine reuses its longest
  // common prefix with prompt_tokens (at most prompt_tokens.size() - 1 positions). Must come from
  // this engine (InvalidArgument otherwise).
  std::shared_ptr<const KvHandle> resume;
  // On success, GenerationResult::kv carries a KvHandle of the sequence (prompt + output).
  bool retain_kv = false;
  // Structured output (Engine::CompileConstraint): every sampled token keeps the output a prefix
  // of something the constraint allows; the end-of-sequence ids are allowed only where the output
  // is complete, and an output that can take no more bytes finishes with kStop at once. Null: no
  // constraint.
  std::shared_ptr<ConstraintAutomaton> constraint;
  // Who the request is for; empty = the default tenant. The engine admits fairly across tenants
  // (docs/scheduler.md) and applies tenant_kv_block_limit per tenant.
  std::string tenant;
  // Most KV blocks all of this tenant's running sequences may hold together (0 = no limit);
  // requests of one tenant are expected to carry the same value (the service passes the tenant's
  // share of the pool). Blocks are counted per sequence as it holds them: a prefix-cache block
  // shared by two of the tenant's sequences counts twice. Submit rejects a request that could
  // never fit (ResourceExhausted); a tenant at its limit waits, and a sequence growing past it
  // preempts the tenant's own youngest sequence.
  int64_t tenant_kv_block_limit = 0;
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_SCHEDULER_GENERATION_REQUEST_H_
