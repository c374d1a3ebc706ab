#include "engine/scheduler/engine_loop.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/algorithm/container.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "engine/sampling/prompt_logprobs.h"
#include "engine/scheduler/kv_handle.h"

namespace minimind {
namespace {

int64_t CommonPrefixLength(absl::Span<const int32_t> a, absl::Span<const int32_t> b) {
  const size_t limit = std::min(a.size(), b.size());
  size_t length = 0;
  while (length < limit && a[length] == b[length]) ++length;
  return static_cast<int64_t>(length);
}

}  // namespace

EngineLoop::EngineLoop(ModelRunner runner, const Tokenizer& tokenizer, EngineLimits limits,
                       std::shared_ptr<KvReleaseQueue> kv, std::shared_ptr<RequestInbox> inbox)
    : runner_(std::move(runner)),
      tokenizer_(tokenizer),
      limits_(std::move(limits)),
      kv_(std::move(kv)),
      inbox_(std::move(inbox)) {}

EngineLoop::~EngineLoop() = default;

void EngineLoop::Run() {
  PublishStats();
  while (true) {
    const bool idle = running_.empty() && waiting_.empty();
    InboxBatch batch = inbox_->Take(/*wait=*/idle);
    if (batch.stop) {
      for (SubmittedRequest& submitted : batch.requests) Accept(std::move(submitted));
      while (!running_.empty()) Finish(*running_.back(), FinishReason::kCancelled, "");
      for (Generation* generation : waiting_.All()) {
        Finish(*generation, FinishReason::kCancelled, "");
      }
      finished_.clear();
      break;
    }
    Step(std::move(batch));
  }
  kv_->DrainPending();
  inbox_->SetEngineWaiting(0, {});
  PublishStats();
  kv_->StopEngine();
}

void EngineLoop::Step(InboxBatch inbox) {
  kv_->DrainPending();
  for (SubmittedRequest& submitted : inbox.requests) Accept(std::move(submitted));
  if (!inbox.cancelled_ids.empty()) {
    std::vector<Generation*> cancelled;
    for (const auto& generation : running_) {
      if (inbox.cancelled_ids.contains(generation->request().request_id)) {
        cancelled.push_back(generation.get());
      }
    }
    for (Generation* generation : waiting_.All()) {
      if (inbox.cancelled_ids.contains(generation->request().request_id)) {
        cancelled.push_back(generation);
      }
    }
    for (Generation* generation : cancelled) Finish(*generation, FinishReason::kCancelled, "");
  }

  std::vector<Planned> plan = Schedule();
  if (!plan.empty()) {
    std::vector<ForwardSequence> batch;
    batch.reserve(plan.size());
    for (const Planned& planned : plan) {
      batch.push_back({.tokens = absl::MakeConstSpan(planned.generation->tokens)
                                     .subspan(planned.start, planned.count),
                       .start_position = planned.start,
                       .kv = planned.generation->kv.get(),
                       .logits = planned.logits});
    }
    absl::StatusOr<ForwardLogits> logits = runner_.Forward(batch);
    ++stats_.steps;
    if (!logits.ok()) {
      for (const Planned& planned : plan) Finish(*planned.generation, logits.status(), "");
    } else {
      ProcessOutputs(plan, *logits);
    }
  }
  finished_.clear();
  inbox_->SetEngineWaiting(waiting_.size(), waiting_.SizesByTenant());
  PublishStats();
}

void EngineLoop::Accept(SubmittedRequest submitted) {
  const SamplingParams& params = submitted.request.params;
  const int64_t submitted_limit = submitted.request.tenant_kv_block_limit;
  absl::StatusOr<Sampler> sampler = Sampler::Create(params);
  absl::StatusOr<StopChecker> stop_checker =
      StopChecker::Create(params, tokenizer_, limits_.eos_token_ids);
  if (!sampler.ok() || !stop_checker.ok()) {
    inbox_->Finished(submitted.request.request_id);
    ++stats_.failed;
    submitted.sink->OnFinish(!sampler.ok() ? sampler.status() : stop_checker.status());
    return;
  }
  absl::StatusOr<int32_t> constraint_start = 0;
  if (submitted.request.constraint != nullptr) {
    constraint_start = submitted.request.constraint->Start();
  }
  if (!constraint_start.ok()) {
    inbox_->Finished(submitted.request.request_id);
    ++stats_.failed;
    submitted.sink->OnFinish(constraint_start.status());
    return;
  }
  auto generation = std::make_unique<Generation>(std::move(submitted), *std::move(sampler),
                                                 *std::move(stop_checker));
  generation->constraint_state = *constraint_start;
  const KvCacheConfig& config = kv_->cache().config();
  // Without max_tokens, a generation runs until the context, the whole KV pool or its tenant's
  // KV share is full.
  int64_t max_total = std::min(limits_.max_context, config.NumBlocks() * config.block_size + 1);
  if (submitted_limit > 0) {
    max_total = std::min(max_total, submitted_limit * config.block_size + 1);
  }
  if (params.max_tokens.has_value()) {
    max_total = std::min(limits_.max_context, generation->prompt_size + *params.max_tokens);
  }
  generation->max_total_tokens = max_total;
  generation->arrival = next_arrival_++;
  waiting_.Insert(std::move(generation));
}

EngineLoop::Planned EngineLoop::PlanChunk(Generation& generation, int64_t start,
                                          int64_t count) const {
  const int64_t end = start + count;
  LogitsMode logits = end == static_cast<int64_t>(generation.tokens.size())
                          ? LogitsMode::kLastPosition
                          : LogitsMode::kNone;
  if (generation.wants_prompt_logprobs()) {
    const int64_t done = static_cast<int64_t>(generation.prompt_logprobs.size());
    if (std::max(start, done) < std::min(end, generation.prompt_size - 1)) {
      logits = LogitsMode::kAllPositions;
    }
  }
  return {.generation = &generation, .start = start, .count = count, .logits = logits};
}

int64_t EngineLoop::PrefillBudget::TenantLeft(const std::string& tenant) const {
  if (tenant_share == 0) return left;
  auto it = spent.find(tenant);
  return std::min(left, tenant_share - (it == spent.end() ? 0 : it->second));
}

void EngineLoop::PrefillBudget::Spend(const std::string& tenant, int64_t count) {
  left -= count;
  spent[tenant] += count;
}

absl::flat_hash_map<std::string, EngineLoop::TenantLoad> EngineLoop::TenantLoads() const {
  absl::flat_hash_map<std::string, TenantLoad> loads;
  for (const auto& generation : running_) {
    TenantLoad& load = loads[generation->request().tenant];
    ++load.running;
    load.blocks += generation->kv->num_blocks();
  }
  return loads;
}

int64_t EngineLoop::TenantBlocks(const std::string& tenant) const {
  int64_t blocks = 0;
  for (const auto& generation : running_) {
    if (generation->request().tenant == tenant) blocks += generation->kv->num_blocks();
  }
  return blocks;
}

std::vector<EngineLoop::Planned> EngineLoop::Schedule() {
  std::vector<Planned> plan;
  PrefillBudget budget{.left = limits_.max_step_tokens};
  if (limits_.fair_tenants) {
    RebalanceSlots();
    absl::flat_hash_set<std::string> wanting_prefill;
    for (const auto& generation : running_) {
      if (generation->num_pending() > 1) wanting_prefill.insert(generation->request().tenant);
    }
    for (const Generation* head : waiting_.Heads()) wanting_prefill.insert(head->request().tenant);
    const auto tenants = static_cast<int64_t>(wanting_prefill.size());
    if (tenants > 1) budget.tenant_share = (limits_.max_step_tokens + tenants - 1) / tenants;
  }
  for (size_t i = 0; i < running_.size();) {
    Generation& generation = *running_[i];
    const std::string& tenant = generation.request().tenant;
    const int64_t pending = generation.num_pending();
    const bool decode = pending == 1;
    const int64_t count = decode ? 1 : std::min(pending, budget.TenantLeft(tenant));
    if (count <= 0) {
      ++i;
      continue;
    }
    const int64_t start = generation.num_computed();
    if (!Reserve(generation, count)) {
      // `generation` left running_ (preempted or failed); the next one moved to index i.
      continue;
    }
    if (!decode) budget.Spend(tenant, count);
    plan.push_back(PlanChunk(generation, start, count));
    ++i;
  }
  const bool room = AdmitWaiting(budget, plan);
  if (budget.tenant_share > 0 && budget.left > 0) {
    // Shares left unused (a tenant with little to prefill) go to whoever has more.
    budget.tenant_share = 0;
    ExtendChunks(budget, plan);
    if (room) AdmitWaiting(budget, plan);
  }
  return plan;
}

void EngineLoop::RebalanceSlots() {
  while (static_cast<int64_t>(running_.size()) >= limits_.max_running && !waiting_.empty()) {
    const absl::flat_hash_map<std::string, TenantLoad> loads = TenantLoads();
    const std::vector<Generation*> heads = waiting_.Heads();
    int64_t tenants = static_cast<int64_t>(loads.size());
    for (const Generation* head : heads) tenants += loads.contains(head->request().tenant) ? 0 : 1;
    const int64_t share = std::max<int64_t>(1, limits_.max_running / tenants);
    const KvCacheConfig& config = kv_->cache().config();
    bool claimant = false;
    for (const Generation* head : heads) {
      auto it = loads.find(head->request().tenant);
      const TenantLoad load = it == loads.end() ? TenantLoad{} : it->second;
      const int64_t limit = head->request().tenant_kv_block_limit;
      if (load.running < share &&
          (limit == 0 ||
           load.blocks + config.BlocksFor(static_cast<int64_t>(head->tokens.size())) <= limit)) {
        claimant = true;
      }
    }
    if (!claimant) return;
    // The tenant with the most running generations (beyond its share) gives up its youngest.
    const std::string* donor = nullptr;
    int64_t most = share;
    for (const auto& [tenant, load] : loads) {
      if (load.running > most || (donor != nullptr && load.running == most && tenant < *donor)) {
        donor = &tenant;
        most = load.running;
      }
    }
    if (donor == nullptr) return;
    for (auto it = running_.rbegin(); it != running_.rend(); ++it) {
      if ((*it)->request().tenant == *donor) {
        Preempt(**it);
        break;
      }
    }
  }
}

bool EngineLoop::Reserve(Generation& generation, int64_t count) {
  const int64_t target = generation.num_computed() + count;
  const std::string& tenant = generation.request().tenant;
  const int64_t limit = generation.request().tenant_kv_block_limit;
  const KvCacheConfig& config = kv_->cache().config();
  while (true) {
    if (limit > 0 &&
        TenantBlocks(tenant) - generation.kv->num_blocks() + config.BlocksFor(target) > limit) {
      // Over the tenant's share: only its own youngest generation makes room (never another
      // tenant's). It was admitted after `generation`, so it is not planned yet.
      Generation* youngest = nullptr;
      for (auto it = running_.rbegin(); youngest == nullptr; ++it) {
        if ((*it)->request().tenant == tenant) youngest = it->get();
      }
      Preempt(*youngest);
      if (youngest == &generation) return false;
      continue;
    }
    absl::Status status = generation.kv->Resize(target);
    if (status.ok()) return true;
    if (!absl::IsResourceExhausted(status)) {
      Finish(generation, status, "");
      return false;
    }
    Generation& victim = PoolVictim(generation);
    Preempt(victim);
    if (&victim == &generation) return false;
  }
}

Generation& EngineLoop::PoolVictim(const Generation& generation) {
  if (!limits_.fair_tenants) return *running_.back();
  // Candidates: `generation` and the ones admitted after it (not planned yet), so the oldest
  // running generation is never preempted for a younger one. Among them, the youngest of the
  // tenant holding the most blocks (ties: the youngest candidate's tenant).
  const absl::flat_hash_map<std::string, TenantLoad> loads = TenantLoads();
  Generation* victim = nullptr;
  int64_t victim_tenant_blocks = -1;
  for (auto it = running_.rbegin(); it != running_.rend(); ++it) {
    Generation& candidate = **it;
    const int64_t blocks = loads.at(candidate.request().tenant).blocks;
    if (blocks > victim_tenant_blocks) {
      victim = &candidate;
      victim_tenant_blocks = blocks;
    }
    if (&candidate == &generation) break;
  }
  return *victim;
}

void EngineLoop::Preempt(Generation& generation) {
  auto it = std::find_if(running_.begin(), running_.end(),
                         [&](const auto& g) { return g.get() == &generation; });
  generation.kv.reset();  // Frees its blocks (published ones stay cached).
  generation.published_blocks = 0;
  ++generation.preemptions;
  waiting_.Insert(std::move(*it));  // Its arrival place: the front of its tenant's queue.
  running_.erase(it);
  ++stats_.preemptions;
}

Generation* EngineLoop::NextToAdmit(const absl::flat_hash_set<std::string>& skipped,
                                    const PrefillBudget& budget) const {
  absl::flat_hash_map<std::string, TenantLoad> loads;
  if (limits_.fair_tenants) loads = TenantLoads();
  Generation* best = nullptr;
  int64_t best_running = 0;
  for (Generation* head : waiting_.Heads()) {
    const std::string& tenant = head->request().tenant;
    if (skipped.contains(tenant) || budget.TenantLeft(tenant) <= 0) continue;
    auto it = loads.find(tenant);
    const int64_t running = it == loads.end() ? 0 : it->second.running;
    if (best == nullptr || running < best_running ||
        (running == best_running && head->arrival < best->arrival)) {
      best = head;
      best_running = running;
    }
  }
  return best;
}

bool EngineLoop::AdmitWaiting(PrefillBudget& budget, std::vector<Planned>& plan) {
  absl::flat_hash_set<std::string> skipped;
  while (static_cast<int64_t>(running_.size()) < limits_.max_running && budget.left > 0) {
    Generation* next = NextToAdmit(skipped, budget);
    if (next == nullptr) return true;
    switch (TryAdmit(*next, budget, plan)) {
      case AdmitOutcome::kAdmitted:
        break;
      case AdmitOutcome::kTenantBlocked:
        skipped.insert(next->request().tenant);
        break;
      case AdmitOutcome::kNoRoom:
        return false;
    }
  }
  return true;
}

EngineLoop::AdmitOutcome EngineLoop::TryAdmit(Generation& generation, PrefillBudget& budget,
                                              std::vector<Planned>& plan) {
  const GenerationRequest& request = generation.request();
  KvCache& cache = kv_->cache();
  const absl::Span<const int32_t> tokens = generation.tokens;
  const auto num_tokens = static_cast<int64_t>(tokens.size());
  const int64_t limit = request.tenant_kv_block_limit;
  if (limit > 0 && TenantBlocks(request.tenant) + cache.config().BlocksFor(num_tokens) > limit) {
    return AdmitOutcome::kTenantBlocked;
  }

  std::unique_ptr<PagedKvSequence> kv;
  if (request.resume != nullptr) {
    // Keep at least one token to compute the next logits from.
    const int64_t reuse =
        std::min(CommonPrefixLength(request.resume->tokens(), tokens), num_tokens - 1);
    kv = cache.ShareFrom(*request.resume->sequence_, reuse);
  } else {
    kv = cache.NewSequence();
    // Cached positions have no logits: a request still owing prompt logprobs computes them.
    const bool owes_prompt_logprobs =
        generation.wants_prompt_logprobs() &&
        static_cast<int64_t>(generation.prompt_logprobs.size()) < generation.prompt_size - 1;
    if (request.use_prefix_cache && !owes_prompt_logprobs) {
      cache.AttachCachedPrefix(*kv, tokens, request.cache_salt);
    }
  }
  const int64_t reused = kv->num_positions();
  const int64_t needed = kv->BlocksToGrow(num_tokens);
  if (needed > cache.FreeBlocks()) {
    if (running_.empty() && plan.empty()) {
      // Nothing running will ever free blocks: what is missing is held by retained KvHandles.
      const KvCacheStats stats = cache.stats();
      kv.reset();
      Finish(generation,
             absl::ResourceExhaustedError(
                 absl::StrCat("sequence of ", tokens.size(), " tokens needs ", needed,
                              " more KV blocks but only ", cache.FreeBlocks(), " of ",
                              stats.blocks_total, " are available; the rest are held by ",
                              kv_->live_handles(), " retained KV handles")),
             "");
      return AdmitOutcome::kAdmitted;
    }
    return AdmitOutcome::kNoRoom;
  }
  const int64_t pending = num_tokens - reused;
  const int64_t count = pending == 1 ? 1 : std::min(pending, budget.TenantLeft(request.tenant));
  if (!kv->Resize(reused + count).ok()) return AdmitOutcome::kNoRoom;

  if (!generation.admitted_once) {
    generation.admitted_once = true;
    generation.cached_prompt_tokens = std::min(reused, generation.prompt_size);
    generation.first_admission_time = absl::Now();
  }
  generation.kv = std::move(kv);
  generation.admission_order = next_admission_order_++;
  generation.published_blocks = reused / cache.config().block_size;
  if (pending > 1) budget.Spend(request.tenant, count);
  plan.push_back(PlanChunk(generation, reused, count));
  running_.push_back(waiting_.Remove(generation));
  return AdmitOutcome::kAdmitted;
}

void EngineLoop::ExtendChunks(PrefillBudget& budget, std::vector<Planned>& plan) {
  absl::flat_hash_map<const Generation*, size_t> planned;
  for (size_t index = 0; index < plan.size(); ++index) planned[plan[index].generation] = index;
  const KvCacheConfig& config = kv_->cache().config();
  for (const auto& owned : running_) {
    if (budget.left <= 0) return;
    Generation& generation = *owned;
    // KV is reserved up to num_computed(): the planned chunk's end, or where an unplanned
    // (share-exhausted) prefill stands.
    const int64_t end = generation.num_computed();
    const int64_t extra =
        std::min(budget.left, static_cast<int64_t>(generation.tokens.size()) - end);
    if (extra <= 0) continue;
    const std::string& tenant = generation.request().tenant;
    const int64_t limit = generation.request().tenant_kv_block_limit;
    if (limit > 0 &&
        TenantBlocks(tenant) - generation.kv->num_blocks() + config.BlocksFor(end + extra) >
            limit) {
      continue;
    }
    if (!generation.kv->Resize(end + extra).ok()) continue;  // No preemption for leftovers.
    budget.Spend(tenant, extra);
    auto it = planned.find(&generation);
    if (it == planned.end()) {
      plan.push_back(PlanChunk(generation, end, extra));
    } else {
      Planned& chunk = plan[it->second];
      chunk = PlanChunk(generation, chunk.start, chunk.count + extra);
    }
  }
}

void EngineLoop::ProcessOutputs(const std::vector<Planned>& plan, const ForwardLogits& logits) {
  KvCache& cache = kv_->cache();
  const int64_t vocab_size = logits.vocab_size();
  for (size_t index = 0; index < plan.size(); ++index) {
    const Planned& planned = plan[index];
    Generation& generation = *planned.generation;
    const int64_t end = planned.start + planned.count;
    if (end <= generation.prompt_size) {
      stats_.prompt_tokens_computed += planned.count;
    } else if (planned.start < generation.prompt_size) {
      stats_.prompt_tokens_computed += generation.prompt_size - planned.start;
    }
    if (planned.logits == LogitsMode::kAllPositions) {
      const int64_t first = std::max<int64_t>(planned.start, generation.prompt_logprobs.size());
      const int64_t last = std::min(end, generation.prompt_size - 1);
      const float* rows = logits.Row(static_cast<int64_t>(index), first - planned.start).data();
      absl::StatusOr<std::vector<PromptTokenLogprobs>> entries = ComputePromptLogprobs(
          absl::MakeConstSpan(rows, (last - first) * vocab_size), static_cast<int32_t>(vocab_size),
          absl::MakeConstSpan(generation.tokens).subspan(first, last - first + 1),
          *generation.request().params.prompt_logprobs);
      if (!entries.ok()) {
        Finish(generation, entries.status(), "");
        continue;
      }
      for (PromptTokenLogprobs& entry : *entries) {
        generation.prompt_logprobs.push_back(std::move(entry));
      }
    }
    if (generation.request().use_prefix_cache) {
      const int64_t full_blocks = end / cache.config().block_size;
      if (full_blocks > generation.published_blocks) {
        cache.PublishFullBlocks(*generation.kv,
                                absl::MakeConstSpan(generation.tokens).subspan(0, end),
                                generation.request().cache_salt);
        generation.published_blocks = full_blocks;
      }
    }
    if (end == static_cast<int64_t>(generation.tokens.size())) {
      const int64_t row = planned.logits == LogitsMode::kAllPositions ? planned.count - 1 : 0;
      SampleNext(
          generation,
          logits.Row(static_cast<int64_t>(index), row).subspan(0, limits_.sampling_vocab_size));
    }
  }
}

bool EngineLoop::SampleNext(Generation& generation, absl::Span<const float> logits) {
  ConstraintAutomaton* const constraint = generation.request().constraint.get();
  std::shared_ptr<const TokenMaskWords> mask_words;
  TokenMask mask;
  if (constraint != nullptr) {
    absl::StatusOr<std::shared_ptr<const TokenMaskWords>> allowed =
        constraint->Mask(generation.constraint_state);
    if (!allowed.ok()) {
      Finish(generation, allowed.status(), "");
      return false;
    }
    mask_words = *std::move(allowed);
    mask.words = absl::MakeConstSpan(*mask_words);
    if (constraint->Accepting(generation.constraint_state) &&
        !generation.request().params.ignore_eos) {
      mask.also_allowed = limits_.eos_token_ids;
    }
  }
  absl::StatusOr<SampledToken> sampled = generation.sampler.Sample(
      logits, generation.history, workspace_, constraint != nullptr ? &mask : nullptr);
  if (!sampled.ok()) {
    if (constraint != nullptr && mask.also_allowed.empty() &&
        absl::c_all_of(*mask_words, [](uint64_t word) { return word == 0; })) {
      // Nothing allowed: the constraint needs bytes no token of this vocabulary can continue.
      sampled = absl::FailedPreconditionError(absl::StrCat(
          "the output constraint cannot be continued with this model's vocabulary after ",
          generation.tokens.size() - generation.prompt_size, " tokens (",
          sampled.status().message(), ")"));
    }
    Finish(generation, sampled.status(), "");
    return false;
  }
  const TokenId token = sampled->id;
  bool constraint_complete = false;
  if (constraint != nullptr && !absl::c_linear_search(mask.also_allowed, token)) {
    absl::StatusOr<int32_t> next = constraint->NextToken(generation.constraint_state, token);
    if (!next.ok() || *next == ConstraintAutomaton::kDead) {
      Finish(generation,
             !next.ok() ? next.status()
                        : absl::InternalError(absl::StrCat("sampled token ", token,
                                                           " outside the constraint's mask")),
             "");
      return false;
    }
    generation.constraint_state = *next;
    constraint_complete = constraint->Complete(*next);
  }
  absl::StatusOr<StopCheckResult> check = generation.stop_checker.Add(token);
  if (!check.ok()) {
    Finish(generation, check.status(), "");
    return false;
  }
  if (constraint_complete && !check->finish_reason.has_value()) {
    // Nothing may follow: the output is done.
    check->text += generation.stop_checker.Finish();
    check->finish_reason = FinishReason::kStop;
  }
  generation.tokens.push_back(token);
  generation.history.AddOutput(token);
  ++stats_.tokens_generated;
  if (generation.tokens.size() == static_cast<size_t>(generation.prompt_size) + 1) {
    generation.first_token_time = absl::Now();
  }
  TokenDelta delta;
  delta.token_ids.push_back(token);
  delta.text = std::move(check->text);
  delta.sampled.push_back(*std::move(sampled));
  std::optional<FinishReason> reason = check->finish_reason;
  if (!reason.has_value() &&
      static_cast<int64_t>(generation.tokens.size()) >= generation.max_total_tokens) {
    delta.text += generation.stop_checker.Finish();
    reason = FinishReason::kLength;
  }
  generation.submitted.sink->OnDelta(delta);
  if (reason.has_value()) {
    Finish(generation, *reason, "");
    return false;
  }
  return true;
}

void EngineLoop::Finish(Generation& generation, absl::StatusOr<FinishReason> reason,
                        std::string text) {
  // Detach the generation from the running batch or the waiting queue.
  std::unique_ptr<Generation> owned;
  if (auto it = std::find_if(running_.begin(), running_.end(),
                             [&](const auto& g) { return g.get() == &generation; });
      it != running_.end()) {
    owned = std::move(*it);
    running_.erase(it);
  } else if (std::unique_ptr<Generation> waiting = waiting_.Remove(generation)) {
    owned = std::move(waiting);
  } else {
    return;  // Already finished this step.
  }
  GenerationSink& sink = *generation.submitted.sink;
  if (!text.empty() && reason.ok()) {
    TokenDelta delta;
    delta.text = std::move(text);
    sink.OnDelta(delta);
  }
  absl::StatusOr<GenerationResult> result;
  if (!reason.ok()) {
    ++stats_.failed;
    result = reason.status();
  } else {
    if (*reason == FinishReason::kCancelled) {
      ++stats_.cancelled;
    } else {
      ++stats_.completed;
    }
    const absl::Time now = absl::Now();
    const absl::Time submitted_at = generation.submitted.submit_time;
    GenerationResult value;
    value.finish_reason = *reason;
    value.prompt_tokens = generation.prompt_size;
    value.cached_prompt_tokens = generation.cached_prompt_tokens;
    value.output_tokens.assign(generation.tokens.begin() + generation.prompt_size,
                               generation.tokens.end());
    value.completion_tokens = static_cast<int64_t>(value.output_tokens.size());
    value.preemptions = generation.preemptions;
    value.queue_time = generation.admitted_once ? generation.first_admission_time - submitted_at
                                                : now - submitted_at;
    if (value.completion_tokens > 0) {
      value.time_to_first_token = generation.first_token_time - submitted_at;
      value.decode_time = now - generation.first_token_time;
    }
    if (generation.wants_prompt_logprobs()) {
      value.prompt_logprobs = std::move(generation.prompt_logprobs);
    }
    if (generation.request().retain_kv && *reason != FinishReason::kCancelled &&
        generation.kv != nullptr) {
      const int64_t held = generation.kv->num_positions();
      value.kv = std::shared_ptr<const KvHandle>(new KvHandle(
          std::vector<int32_t>(generation.tokens.begin(), generation.tokens.begin() + held),
          kv_->cache().ShareFrom(*generation.kv, held), kv_));
    }
    result = std::move(value);
  }
  generation.kv.reset();  // Blocks are free (or cached) before the sink hears of the finish.
  inbox_->Finished(generation.request().request_id);
  sink.OnFinish(std::move(result));
  finished_.push_back(std::move(owned));
}

void EngineLoop::PublishStats() {
  stats_.running = static_cast<int64_t>(running_.size());
  stats_.waiting = waiting_.size();
  stats_.kv = kv_->cache().stats();
  stats_.retained_handles = kv_->live_handles();
  inbox_->PublishStats(stats_);
}

}  // namespace minimind
