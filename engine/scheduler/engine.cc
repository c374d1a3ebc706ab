#include "engine/scheduler/engine.h"

#include <algorithm>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "engine/base/status_macros.h"
#include "engine/kv/kv_cache.h"
#include "engine/model/forward.h"
#include "engine/sampling/sampling_params.h"
#include "engine/scheduler/engine_loop.h"
#include "engine/scheduler/kv_release_queue.h"
#include "engine/scheduler/request_inbox.h"

namespace minimind {
namespace {

std::string Megabytes(int64_t bytes) { return absl::StrFormat("%.1f MB", bytes / 1e6); }

std::vector<TokenId> DefaultEosTokenIds(const Tokenizer& tokenizer) {
  std::vector<TokenId> ids;
  for (absl::string_view name : {"<|endoftext|>", "<|im_end|>"}) {
    if (std::optional<TokenId> id = tokenizer.FindToken(name); id && tokenizer.IsSpecial(*id)) {
      ids.push_back(*id);
    }
  }
  return ids;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Engine>> Engine::Create(const Model& model,
                                                       const Tokenizer& tokenizer,
                                                       EngineOptions options) {
  if (options.max_running < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_running must be at least 1, got ", options.max_running));
  }
  if (options.max_step_tokens < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_step_tokens must be at least 1, got ", options.max_step_tokens));
  }
  if (options.constraint_cache_bytes < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "constraint_cache_bytes must be at least 0, got ", options.constraint_cache_bytes));
  }
  if (options.max_waiting < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_waiting must be at least 1, got ", options.max_waiting));
  }
  if (options.max_waiting_per_tenant < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_waiting_per_tenant must not be negative (0 = no cap), got ",
                     options.max_waiting_per_tenant));
  }
  const int64_t model_context = model.config.max_position_embeddings;
  if (options.max_context < 0 || options.max_context > model_context) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_context must be in [0, ", model_context,
                     "] (0 = the model's max_position_embeddings), got ", options.max_context));
  }
  const int64_t sampling_vocab_size =
      options.sampling_vocab_size == 0 ? tokenizer.vocab_size() : options.sampling_vocab_size;
  if (sampling_vocab_size < 1 || sampling_vocab_size > model.config.vocab_size) {
    return absl::InvalidArgumentError(absl::StrCat("sampling vocabulary size ", sampling_vocab_size,
                                                   " must be in [1, ", model.config.vocab_size,
                                                   "] (the model's vocabulary)"));
  }
  MINIMIND_ASSIGN_OR_RETURN(ModelRunner runner,
                            ModelRunner::Create(model, {.num_threads = options.forward_threads}));
  KvCacheConfig kv_config = options.kv;
  kv_config.shape = runner.kv_shape();
  MINIMIND_ASSIGN_OR_RETURN(KvCache cache, KvCache::Create(kv_config));
  const int64_t num_blocks = cache.stats().blocks_total;

  auto inbox = std::make_shared<RequestInbox>(options.max_waiting, options.max_waiting_per_tenant);
  auto release_queue =
      std::make_shared<KvReleaseQueue>(std::move(cache), [inbox] { inbox->Wake(); });
  EngineLimits limits{.max_running = options.max_running,
                      .max_step_tokens = options.max_step_tokens,
                      .max_context = options.max_context == 0 ? model_context : options.max_context,
                      .sampling_vocab_size = sampling_vocab_size,
                      .eos_token_ids = options.eos_token_ids.has_value()
                                           ? *options.eos_token_ids
                                           : DefaultEosTokenIds(tokenizer),
                      .fair_tenants = options.fair_tenants};
  const int64_t max_context = limits.max_context;
  auto loop = std::make_unique<EngineLoop>(std::move(runner), tokenizer, std::move(limits),
                                           std::move(release_queue), inbox);
  std::unique_ptr<Engine> engine(new Engine(model.config.vocab_size, max_context, kv_config,
                                            num_blocks, options.forward_threads, std::move(inbox),
                                            std::move(loop)));
  engine->constraints_ = std::make_unique<ConstraintCompiler>(
      std::make_shared<const TokenVocabulary>(
          TokenVocabulary::FromTokenizer(tokenizer, sampling_vocab_size)),
      ConstraintLimits{}, /*cache_entries=*/64, options.constraint_cache_bytes);
  return engine;
}

Engine::Engine(int64_t model_vocab_size, int64_t max_context, KvCacheConfig kv_config,
               int64_t kv_num_blocks, int forward_threads, std::shared_ptr<RequestInbox> inbox,
               std::unique_ptr<EngineLoop> loop)
    : model_vocab_size_(model_vocab_size),
      max_context_(max_context),
      kv_config_(std::move(kv_config)),
      kv_num_blocks_(kv_num_blocks),
      forward_threads_(forward_threads),
      inbox_(std::move(inbox)),
      loop_(std::move(loop)) {
  thread_ = std::thread([this] { loop_->Run(); });
}

Engine::~Engine() {
  inbox_->RequestStop();
  thread_.join();
}

absl::Status Engine::Validate(const GenerationRequest& request) const {
  if (request.request_id.empty()) {
    return absl::InvalidArgumentError("request_id must not be empty");
  }
  if (request.prompt_tokens.empty()) {
    return absl::InvalidArgumentError("the prompt must contain at least one token");
  }
  for (size_t i = 0; i < request.prompt_tokens.size(); ++i) {
    const int32_t id = request.prompt_tokens[i];
    if (id < 0 || id >= model_vocab_size_) {
      return absl::InvalidArgumentError(absl::StrCat("prompt token ", i, " has id ", id,
                                                     ", outside the model's vocabulary [0, ",
                                                     model_vocab_size_, ")"));
    }
  }
  MINIMIND_RETURN_IF_ERROR(ValidateSamplingParams(request.params));
  // ValidateSamplingParams knows no vocabulary: an id past it could never be sampled.
  for (size_t i = 0; i < request.params.stop_token_ids.size(); ++i) {
    if (request.params.stop_token_ids[i] >= model_vocab_size_) {
      return absl::InvalidArgumentError(
          absl::StrCat("stop_token_ids[", i, "] must be in [0, ", model_vocab_size_,
                       ") (the model's vocabulary), got ", request.params.stop_token_ids[i]));
    }
  }
  if (request.resume != nullptr &&
      request.resume->release_queue_.get() != loop_->release_queue().get()) {
    return absl::InvalidArgumentError("the resume KV handle belongs to another engine");
  }
  if (request.constraint != nullptr &&
      &request.constraint->vocabulary() != &constraints_->vocabulary()) {
    return absl::InvalidArgumentError("the constraint was compiled for another engine");
  }

  const int64_t prompt = static_cast<int64_t>(request.prompt_tokens.size());
  const std::optional<int32_t> max_tokens = request.params.max_tokens;
  const int64_t total = prompt + max_tokens.value_or(1);
  if (total > max_context_) {
    return absl::ResourceExhaustedError(
        max_tokens.has_value()
            ? absl::StrCat("prompt of ", prompt, " tokens + max_tokens ", *max_tokens, " = ", total,
                           " tokens exceeds the context limit of ", max_context_, " tokens")
            : absl::StrCat("prompt of ", prompt, " tokens leaves no room to generate within ",
                           "the context limit of ", max_context_, " tokens"));
  }
  // KV is needed for every position but the last sampled token's.
  const int64_t positions = prompt + (max_tokens.has_value() ? *max_tokens - 1 : 0);
  const int64_t blocks = kv_config_.BlocksFor(positions);
  if (blocks > kv_num_blocks_) {
    const int64_t block_bytes = kv_config_.BytesPerBlock();
    return absl::ResourceExhaustedError(absl::StrCat(
        "prompt of ", prompt, " tokens",
        max_tokens.has_value() ? absl::StrCat(" + max_tokens ", *max_tokens) : std::string(),
        " needs ", blocks, " KV blocks (", Megabytes(blocks * block_bytes),
        "); the KV budget holds ", kv_num_blocks_, " blocks (",
        Megabytes(kv_num_blocks_ * block_bytes), ")"));
  }
  const int64_t tenant_limit = request.tenant_kv_block_limit;
  if (tenant_limit < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tenant_kv_block_limit must not be negative (0 = no limit), got ", tenant_limit));
  }
  if (tenant_limit > 0 && blocks > tenant_limit) {
    return absl::ResourceExhaustedError(absl::StrCat(
        request.tenant.empty() ? std::string("the default tenant")
                               : absl::StrCat("tenant '", request.tenant, "'"),
        "'s KV share of ", tenant_limit, " blocks cannot hold prompt of ", prompt, " tokens",
        max_tokens.has_value() ? absl::StrCat(" + max_tokens ", *max_tokens) : std::string(), " (",
        blocks, " KV blocks)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<KvSpill> Engine::ExportKv(const KvHandle& handle) {
  if (handle.release_queue_.get() != loop_->release_queue().get()) {
    return absl::FailedPreconditionError("the KV handle belongs to another engine");
  }
  KvSpill spill;
  spill.tokens = handle.tokens();
  // On this thread: the engine thread is not involved (KvReleaseQueue::ExportHeld).
  spill.blocks.resize(handle.sequence_->block_table().size() * kv_config().BytesPerBlock());
  MINIMIND_RETURN_IF_ERROR(
      loop_->release_queue()->ExportHeld(*handle.sequence_, absl::MakeSpan(spill.blocks)));
  return spill;
}

absl::StatusOr<std::shared_ptr<const KvHandle>> Engine::ImportKv(KvSpill spill) {
  const std::shared_ptr<KvReleaseQueue>& queue = loop_->release_queue();
  absl::StatusOr<std::unique_ptr<PagedKvSequence>> sequence;
  absl::Notification done;
  queue->RunOnEngine([&](KvCache& cache) {
    sequence = cache.ImportBlocks(spill.blocks, static_cast<int64_t>(spill.tokens.size()));
    done.Notify();
  });
  done.WaitForNotification();
  if (!sequence.ok()) return sequence.status();
  return std::shared_ptr<const KvHandle>(
      new KvHandle(std::move(spill.tokens), *std::move(sequence), queue));
}

int64_t Engine::MaxNewTokens(int64_t prompt_tokens, int64_t tenant_kv_block_limit) const {
  // Validate: prompt + max_tokens <= max_context, and the KV (the pool, and the tenant's share
  // if limited) holds prompt + max_tokens - 1 positions.
  const int64_t blocks =
      tenant_kv_block_limit > 0 ? std::min(kv_num_blocks_, tenant_kv_block_limit) : kv_num_blocks_;
  const int64_t pool_positions = blocks * kv_config_.block_size;
  const int64_t room = std::min(max_context_ - prompt_tokens, pool_positions - prompt_tokens + 1);
  return std::max<int64_t>(room, 0);
}

absl::Status Engine::Submit(GenerationRequest request, std::shared_ptr<GenerationSink> sink) {
  if (sink == nullptr) return absl::InvalidArgumentError("the sink must not be null");
  MINIMIND_RETURN_IF_ERROR(Validate(request));
  if (!request.params.seed.has_value()) {
    std::random_device device;
    request.params.seed = (static_cast<uint64_t>(device()) << 32) | device();
  }
  return inbox_->Push(
      {.request = std::move(request), .sink = std::move(sink), .submit_time = absl::Now()});
}

bool Engine::Cancel(absl::string_view request_id) { return inbox_->Cancel(request_id); }

int64_t Engine::CancelAll() { return inbox_->CancelAll(); }

int64_t Engine::LiveRequests() const { return inbox_->live(); }

EngineStats Engine::Stats() const { return inbox_->Stats(); }

}  // namespace minimind
