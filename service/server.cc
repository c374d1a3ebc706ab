#include "service/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/impl/server_builder_option.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/base/status_macros.h"
#include "engine/kv/kv_cache_config.h"
#include "engine/model/model_config.h"
#include "engine/model/weight_conversion.h"
#include "engine/runtime/usable_cpus.h"
#include "service/metrics/rpc_metrics_interceptor.h"
#include "service/server_credentials.h"
#include "service/sessions/memory_session_store.h"
#include "service/sessions/redis_session_store.h"
#include "service/sessions/redis_url.h"
#include "service/sessions/session_state_file.h"

namespace minimind {
namespace {

// "memory" or "redis://HOST:PORT[/DB]" (ServerOptions::session_store).
// `lease_owner`: this replica's name across restarts (Redis only; RedisSessionStoreOptions).
absl::StatusOr<std::unique_ptr<SessionStore>> MakeSessionStore(const std::string& spec,
                                                               SessionStoreOptions options,
                                                               absl::Duration commit_deadline,
                                                               std::string lease_owner) {
  if (spec == "memory") {
    absl::StatusOr<std::unique_ptr<MemorySessionStore>> store =
        MemorySessionStore::Make(std::move(options));
    if (!store.ok()) return store.status();
    return std::unique_ptr<SessionStore>(*std::move(store));
  }
  absl::StatusOr<RedisAddress> address = ParseRedisUrl(spec);
  if (!address.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--session-store: ", address.status().message()));
  }
  RedisSessionStoreOptions redis_options;
  redis_options.sessions = std::move(options);
  redis_options.address = *address;
  redis_options.commit_deadline = commit_deadline;
  redis_options.lease_owner = std::move(lease_owner);
  // Make never contacts Redis: a server whose Redis is down starts, and its session calls answer
  // UNAVAILABLE until Redis is back.
  absl::StatusOr<std::unique_ptr<RedisSessionStore>> store =
      RedisSessionStore::Make(std::move(redis_options));
  if (!store.ok()) return store.status();
  return std::unique_ptr<SessionStore>(*std::move(store));
}

// A fingerprint of the served model for the KV spill files, so KV spilled by one model is never
// restored into another: the weight element type and, for each file of the model directory (or
// the model file), its name, its size and its first and last MiB (FNV-1a 64). Stable across runs.
uint64_t ModelFingerprint(const std::string& model_path, const std::string& weight_dtype) {
  uint64_t hash = 1469598103934665603ULL;
  auto mix = [&hash](const void* data, size_t size) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < size; ++i) hash = (hash ^ bytes[i]) * 1099511628211ULL;
  };
  mix(weight_dtype.data(), weight_dtype.size());
  std::vector<std::filesystem::path> files;
  std::error_code error;
  if (std::filesystem::is_directory(model_path, error)) {
    for (const auto& entry : std::filesystem::directory_iterator(model_path, error)) {
      if (entry.is_regular_file(error)) files.push_back(entry.path());
    }
  } else {
    files.push_back(model_path);
  }
  std::sort(files.begin(), files.end());
  constexpr int64_t kSample = int64_t{1} << 20;
  std::vector<char> buffer(kSample);
  for (const std::filesystem::path& file : files) {
    const std::string name = file.filename().string();
    mix(name.data(), name.size());
    const int64_t size = static_cast<int64_t>(std::filesystem::file_size(file, error));
    mix(&size, sizeof(size));
    std::ifstream stream(file, std::ios::binary);
    for (const int64_t offset : {int64_t{0}, std::max<int64_t>(0, size - kSample)}) {
      stream.clear();
      stream.seekg(offset);
      stream.read(buffer.data(), kSample);
      mix(buffer.data(), static_cast<size_t>(stream.gcount()));
    }
  }
  return hash;
}

// The served model's name: its directory's (or file's) name, for metrics and /v1/models.
std::string ServedModelName(const std::string& model_path) {
  std::filesystem::path path(model_path);
  if (path.filename().empty()) path = path.parent_path();
  return path.filename().string();
}

// Server reflection on or off for one ServerBuilder. Linking grpc++_reflection registers its
// plugin with every ServerBuilder of the process (a static initializer), so "off" removes it and
// "on" adds it where it is missing.
class ReflectionOption final : public grpc::ServerBuilderOption {
 public:
  explicit ReflectionOption(bool enabled) : enabled_(enabled) {}
  void UpdateArguments(grpc::ChannelArguments* /*arguments*/) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    const std::string name = grpc::reflection::ProtoServerReflectionPlugin().name();
    auto is_reflection = [&name](const std::unique_ptr<grpc::ServerBuilderPlugin>& plugin) {
      return plugin->name() == name;
    };
    if (!enabled_) {
      plugins->erase(std::remove_if(plugins->begin(), plugins->end(), is_reflection),
                     plugins->end());
    } else if (std::none_of(plugins->begin(), plugins->end(), is_reflection)) {
      plugins->push_back(std::make_unique<grpc::reflection::ProtoServerReflectionPlugin>());
    }
  }

 private:
  const bool enabled_;
};

}  // namespace

Server::Server(const ServerOptions& options) : options_(options) {}

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const ServerOptions& options) {
  std::unique_ptr<Server> server(new Server(options));
  absl::StatusOr<std::unique_ptr<Authenticator>> authenticator =
      Authenticator::Make(options.api_keys_file);
  if (!authenticator.ok()) return authenticator.status();
  server->authenticator_ = *std::move(authenticator);
  const ServiceDependencies deps{server->slot_, server->metrics_, *server->authenticator_,
                                 server->usage_};
  server->core_ = std::make_unique<GenerationCore>(server->slot_, server->metrics_, server->usage_);
  server->session_admin_ = std::make_unique<SessionAdmin>(server->slot_);
  server->session_calls_ = std::make_unique<IoExecutor>();
  server->inference_ =
      std::make_unique<InferenceService>(deps, *server->core_, *server->session_calls_);
  server->models_ = std::make_unique<ModelsService>(deps);
  server->sessions_service_ =
      std::make_unique<SessionsService>(deps, *server->session_admin_, *server->session_calls_);

  server->health_ = std::make_unique<HealthService>(
      std::vector<std::string>{v1::Inference::service_full_name(), v1::Models::service_full_name(),
                               v1::Sessions::service_full_name()},
      options.health_auth ? server->authenticator_.get() : nullptr);

  grpc::EnableDefaultHealthCheckService(false);  // Ours (service/health_service.h) instead.
  grpc::ServerBuilder builder;
  builder.SetOption(std::make_unique<ReflectionOption>(options.reflection));
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      MakeServerCredentials(options);
  if (!credentials.ok()) return credentials.status();
  builder.AddListeningPort(options.listen, *credentials, &server->port_);
  builder.RegisterService(server->inference_.get());
  builder.RegisterService(server->models_.get());
  builder.RegisterService(server->sessions_service_.get());
  builder.RegisterService(server->health_.get());
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<RpcMetricsInterceptorFactory>(server->metrics_));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen));
  }
  // Health starts NOT_SERVING for every service and "" (the whole server).
  if (!options.http_listen.empty()) {
    absl::StatusOr<std::unique_ptr<OpenAiHttpServer>> http =
        OpenAiHttpServer::Start(options.http_listen, *server->core_, *server->session_admin_, deps,
                                ServedModelName(options.model_path));
    if (!http.ok()) return http.status();
    server->openai_http_ = *std::move(http);
  }
  if (!options.metrics_listen.empty()) {
    Server* raw = server.get();
    absl::StatusOr<std::unique_ptr<MetricsHttpServer>> metrics =
        MetricsHttpServer::Start(options.metrics_listen, [raw] { return raw->RenderMetrics(); });
    if (!metrics.ok()) return metrics.status();
    server->metrics_http_ = *std::move(metrics);
  }
  return server;
}

Server::~Server() {
  if (!shut_down_ && server_ != nullptr) Shutdown(absl::ZeroDuration());
  if (metrics_http_ != nullptr) metrics_http_->Stop();
  if (openai_http_ != nullptr) openai_http_->Stop();
  server_.reset();
  session_calls_.reset();  // Runs what is still queued while the model is alive.
  model_.reset();          // Reaper, store, engine, model: see ServingModel.
}

absl::Status Server::LoadModel() {
  ModelBundleOptions bundle_options;
  bundle_options.model_path = options_.model_path;
  bundle_options.config_path = options_.config_path;
  bundle_options.tokenizer_dir = options_.tokenizer_dir;
  absl::StatusOr<std::optional<DType>> weight_dtype = ParseWeightDType(options_.weight_dtype);
  if (!weight_dtype.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--weight-dtype: ", weight_dtype.status().message()));
  }
  bundle_options.weight_dtype = *weight_dtype;
  absl::StatusOr<ModelBundle> bundle = LoadModelBundle(bundle_options);
  if (!bundle.ok()) return bundle.status();
  return ServeModel(*std::move(bundle));
}

namespace {

// Takes back the sessions a drained server saved to `path` (--session-state-file), then removes
// the file, so a later crash never brings back an older state. Sessions whose TTL ran out meanwhile
// stay gone; tokens of another model are rendered again from the transcript. A torn file is set
// aside (renamed *.corrupt) and the server starts without its sessions; a file that is not a
// session state file is an error (it is not ours to overwrite on drain).
absl::Status RestoreSessions(const std::string& path, const std::string& fingerprint,
                             const PromptBuilder& prompts, SessionStore& store) {
  absl::StatusOr<SessionState> state = ReadSessionStateFile(path);
  if (absl::IsNotFound(state.status())) return absl::OkStatus();
  if (absl::IsFailedPrecondition(state.status())) {
    return absl::FailedPreconditionError(
        absl::StrCat("--session-state-file ", path, ": ", state.status().message()));
  }
  std::error_code error;
  if (!state.ok()) {
    std::cerr << "minimind-server: " << path << ": " << state.status().message()
              << "; starting without its sessions (kept as " << path << ".corrupt)" << std::endl;
    std::filesystem::rename(path, path + ".corrupt", error);
    return absl::OkStatus();
  }
  // Least recently used first, so the store's LRU order is the saved one.
  std::sort(
      state->sessions.begin(), state->sessions.end(),
      [](const SessionSnapshot& a, const SessionSnapshot& b) { return a.last_used < b.last_used; });
  const bool retokenize = state->model_fingerprint != fingerprint;
  int64_t restored = 0, expired = 0, failed = 0;
  for (SessionSnapshot& session : state->sessions) {
    if (retokenize) {
      absl::StatusOr<std::vector<int32_t>> tokens =
          prompts.WindowTokens(session.system_prompt, session.messages, session.window_start);
      if (!tokens.ok()) {
        ++failed;
        continue;
      }
      session.tokens = *std::move(tokens);
    }
    const absl::Status adopted = store.AdoptSession(std::move(session));
    if (adopted.ok()) {
      ++restored;
    } else if (absl::IsDeadlineExceeded(adopted)) {
      ++expired;
    } else {
      ++failed;
      std::cerr << "minimind-server: " << path << ": " << adopted.message() << std::endl;
    }
  }
  std::filesystem::remove(path, error);
  std::cout << "minimind-server: restored " << restored << " sessions from " << path << " ("
            << expired << " expired meanwhile, " << failed << " not restored"
            << (retokenize ? "; saved by another model, tokens rendered again" : "") << ")"
            << std::endl;
  return absl::OkStatus();
}

}  // namespace

absl::Status Server::ServeModel(ModelBundle bundle) {
  if (model_ != nullptr) return absl::FailedPreconditionError("a model is already served");
  absl::StatusOr<KvElementType> dtype = ParseKvElementType(options_.kv_cache_dtype);
  if (!dtype.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--kv-cache-dtype: ", dtype.status().message()));
  }
  auto model = std::make_unique<ServingModel>(std::move(bundle));
  model_fingerprint_ = ModelFingerprint(options_.model_path, options_.weight_dtype);
  EngineOptions engine_options;
  engine_options.kv.element_type = *dtype;
  engine_options.kv.block_size = options_.block_size;
  engine_options.kv.memory_bytes = options_.kv_cache_memory_bytes;
  engine_options.constraint_cache_bytes = options_.constraint_cache_bytes;
  engine_options.max_running = options_.max_batch;
  engine_options.max_waiting = options_.max_waiting;
  engine_options.max_context = options_.max_context;
  engine_options.forward_threads =
      static_cast<int>(options_.threads > 0 ? options_.threads : UsableCpuCount());
  engine_options.eos_token_ids = model->bundle.eos_token_ids;
  engine_options.sampling_vocab_size = model->bundle.sampling_vocab_size();
  absl::StatusOr<std::unique_ptr<Engine>> engine =
      Engine::Create(model->bundle.model, model->bundle.tokenizer, engine_options);
  if (!engine.ok()) return engine.status();
  model->engine = *std::move(engine);
  model->prompts = std::make_unique<PromptBuilder>(
      model->bundle.tokenizer,
      model->bundle.chat_template.has_value() ? &*model->bundle.chat_template : nullptr,
      options_.limits);
  // Sessions may pin this share of the pool between turns; beyond it the least recently used
  // lose their KV (not their transcript).
  SessionStoreOptions store_options;
  store_options.max_sessions = options_.max_sessions;
  store_options.default_ttl = options_.session_ttl;
  store_options.max_ttl = options_.max_session_ttl;
  store_options.max_pinned_kv_blocks = static_cast<int64_t>(
      options_.session_kv_fraction * static_cast<double>(model->engine->kv_num_blocks()));
  if (!options_.kv_spill_dir.empty()) {
    Engine* engine = model->engine.get();
    KvSpillOptions spill;
    spill.dir = options_.kv_spill_dir;
    spill.budget_bytes = options_.kv_spill_budget_bytes;
    const KvCacheConfig& kv = engine->kv_config();
    spill.layout = KvSpillLayout{.model_fingerprint = model_fingerprint_,
                                 .element_type = kv.element_type,
                                 .block_size = kv.block_size,
                                 .shape = kv.shape,
                                 .bytes_per_block = kv.BytesPerBlock()};
    spill.export_kv = [engine](const KvHandle& handle) { return engine->ExportKv(handle); };
    spill.import_kv = [engine](KvSpill data) { return engine->ImportKv(std::move(data)); };
    absl::StatusOr<std::unique_ptr<KvSpillStore>> opened = KvSpillStore::Open(std::move(spill));
    if (!opened.ok()) {
      return absl::Status(opened.status().code(),
                          absl::StrCat("--kv-spill-dir: ", opened.status().message()));
    }
    model->kv_spill = *std::move(opened);
    store_options.kv_dropped = [spill_store = model->kv_spill.get()](
                                   std::string id, std::shared_ptr<const KvHandle> kv) {
      spill_store->Spill(std::move(id), std::move(kv));
    };
    // Nothing of an expired or evicted session stays on disk.
    store_options.session_gone = [spill_store = model->kv_spill.get()](std::string id) {
      spill_store->Forget(id);
    };
  }
  if (!options_.session_state_file.empty() && options_.session_store != "memory") {
    return absl::InvalidArgumentError(
        "--session-state-file is for --session-store memory; a Redis store keeps its sessions "
        "itself");
  }
  // The gRPC port is bound (the server listens before the model loads), so no other live process
  // on this host has this name.
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  absl::StatusOr<std::unique_ptr<SessionStore>> store = MakeSessionStore(
      options_.session_store, std::move(store_options), options_.session_commit_deadline,
      host[0] == '\0' ? std::string() : absl::StrCat(host, ":", port_));
  if (!store.ok()) return store.status();
  model->sessions = *std::move(store);
  if (!options_.session_state_file.empty()) {
    MINIMIND_RETURN_IF_ERROR(RestoreSessions(options_.session_state_file,
                                             absl::StrCat(absl::Hex(model_fingerprint_)),
                                             *model->prompts, *model->sessions));
  }
  model->commits = std::make_unique<IoExecutor>();
  model->reaper = std::make_unique<SessionReaper>(*model->sessions, options_.reaper_interval);
  model_ = std::move(model);
  slot_.Publish(model_.get());
  health_->SetServing(true);
  return absl::OkStatus();
}

absl::Status Server::ReloadApiKeys() { return authenticator_->Reload(); }

int Server::http_port() const { return openai_http_ == nullptr ? 0 : openai_http_->port(); }

int Server::metrics_port() const { return metrics_http_ == nullptr ? 0 : metrics_http_->port(); }

std::string Server::RenderMetrics() const {
  ScrapeInputs inputs;
  inputs.draining = slot_.draining();
  if (const ServingModel* model = slot_.get(); model != nullptr) {
    inputs.engine = model->engine->Stats();
    if (SessionStore* sessions = model->sessions.get(); sessions != nullptr) {
      inputs.sessions = sessions->stats();
    }
    if (model->kv_spill != nullptr) inputs.kv_spill = model->kv_spill->stats();
    inputs.constraints = model->engine->constraint_stats();
    ModelInfoLabels labels;
    labels.model = ServedModelName(options_.model_path);
    labels.architecture = ArchitectureName(model->bundle.model.config.architecture);
    labels.kv_cache_dtype = std::string(KvElementTypeName(model->engine->kv_config().element_type));
    labels.version = MINIMIND_VERSION;
    inputs.model = std::move(labels);
  }
  return metrics_.Render(inputs);
}

DrainReport Server::Shutdown(absl::Duration grace) {
  DrainReport report;
  if (shut_down_ || server_ == nullptr) return report;
  shut_down_ = true;
  const absl::Time start = absl::Now();
  health_->SetServing(false);
  slot_.BeginDrain();  // New calls: UNAVAILABLE "draining". Calls in flight carry on.
  Engine* engine = model_ == nullptr ? nullptr : model_->engine.get();
  if (engine != nullptr) {
    report.in_flight = engine->LiveRequests();
    const absl::Time deadline = start + std::max(grace, absl::ZeroDuration());
    while (engine->LiveRequests() > 0 && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    // Their sinks get OnFinish(kCancelled) on the engine's next step: the streams end with a
    // final message, not a transport error.
    report.cancelled = engine->CancelAll();
    const absl::Time cancel_deadline = absl::Now() + absl::Seconds(5);
    while (engine->LiveRequests() > 0 && absl::Now() < cancel_deadline) {
      absl::SleepFor(absl::Milliseconds(1));
    }
  }
  // Session turns the engine finished are committed before their last message goes out; the
  // commits executor gives up on a store after its commit deadline, so this wait is bounded.
  if (model_ != nullptr) model_->commits->Flush(absl::Seconds(30));
  // Every engine call has delivered its last message; give gRPC a moment to flush them (a client
  // that stopped reading is cut off), then stop.
  health_->EndWatches();  // Watch streams would hold the shutdown to its deadline.
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  // The scrape thread reads the session store: stop it before the store goes. The HTTP API's
  // calls have all ended with the engine's.
  if (metrics_http_ != nullptr) metrics_http_->Stop();
  if (openai_http_ != nullptr) openai_http_->Stop();
  if (model_ != nullptr) {
    model_->reaper.reset();
    model_->commits.reset();  // Runs any commit still queued while the store is alive.
    // Session calls still running finish first (new ones answer UNAVAILABLE: draining).
    session_calls_->Flush(absl::Seconds(30));
    // The sessions' KV goes to the spill tier while the engine still runs (it exports it), so a
    // restarted server resumes them without prefilling their history again.
    if (model_->kv_spill != nullptr) {
      for (auto& [id, kv] : model_->sessions->RetainedKv()) {
        model_->kv_spill->Spill(std::move(id), std::move(kv));
      }
      model_->kv_spill->Flush(absl::Seconds(30));
    }
    if (!options_.session_state_file.empty()) {
      SessionState state;
      state.model_fingerprint = absl::StrCat(absl::Hex(model_fingerprint_));
      state.sessions = model_->sessions->VolatileSessions();
      const absl::Status saved = WriteSessionStateFile(options_.session_state_file, state);
      if (saved.ok()) {
        report.sessions_saved = static_cast<int64_t>(state.sessions.size());
      } else {
        std::cerr << "minimind-server: sessions not saved: " << saved.message() << std::endl;
      }
    }
    model_->sessions
        .reset();  // Releases the sessions' KV handles (a Redis store keeps transcripts).
    // The engine frees released handles' blocks on its next step.
    const absl::Time release_deadline = absl::Now() + absl::Seconds(5);
    EngineStats stats = engine->Stats();
    while ((stats.kv.blocks_used > 0 || stats.running > 0) && absl::Now() < release_deadline) {
      absl::SleepFor(absl::Milliseconds(1));
      stats = engine->Stats();
    }
    report.kv_blocks_in_use = stats.kv.blocks_used;
  }
  report.took = absl::Now() - start;
  return report;
}

void Server::Wait() {
  if (server_ != nullptr) server_->Wait();
}

}  // namespace minimind
