#include "service/http/openai_http_server.h"

#include <httplib.h>

#include <atomic>
#include <functional>
#include <optional>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "engine/base/status_macros.h"
#include "engine/kv/kv_cache_config.h"
#include "engine/scheduler/engine.h"
#include "service/generation/generation_target.h"
#include "service/http/openai_json.h"
#include "service/http/session_json.h"
#include "service/http/web_assets.h"
#include "service/listen_address.h"
#include "service/outbound_queue.h"
#include "service/serving_model.h"
#include "service/sessions/kv_spill_store.h"

namespace minimind {
namespace {

constexpr int64_t kQueueMessages = 16;
// Sessions the cache view lists (the caller's first page).
constexpr int kCacheViewSessions = 100;
// The chat page runs only its own files: no inline script or style, no other origin.
constexpr char kPagePolicy[] =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

void SendStatus(httplib::Response& response, const absl::Status& status) {
  OpenAiError error = ToOpenAiError(status);
  response.status = error.http_status;
  response.set_content(error.body.dump(), "application/json");
}

// One generation's output on its way from the engine thread to an HTTP thread. Keeps itself
// alive (self_) from submission until the engine's last call, so it may outlive the HTTP
// request (a client that went away); the HTTP side holds its own reference.
class HttpCall final : public GenerationTarget, public std::enable_shared_from_this<HttpCall> {
 public:
  HttpCall() : queue_(kQueueMessages) {}

  void Deliver(v1::GenerateResponse message, bool last) override {
    std::shared_ptr<HttpCall> keep;
    {
      absl::MutexLock lock(&mutex_);
      queue_.Push(std::move(message));
      if (last) {
        finished_ = true;
        keep = std::move(self_);
      }
    }
  }

  void Fail(absl::Status status) override {
    std::shared_ptr<HttpCall> keep;
    {
      absl::MutexLock lock(&mutex_);
      finished_ = true;
      error_ = std::move(status);
      keep = std::move(self_);
    }
  }

  void KeepAliveUntilFinished() {
    absl::MutexLock lock(&mutex_);
    if (!finished_) self_ = shared_from_this();
  }

  // Waits up to `timeout` for output. Returns the next message if any; sets `done` once the
  // last message was taken (or the call failed: then `failed`).
  std::optional<v1::GenerateResponse> Next(absl::Duration timeout, bool& done) {
    absl::MutexLock lock(&mutex_);
    auto ready = [this]()
                     ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return !queue_.empty() || finished_; };
    mutex_.AwaitWithTimeout(absl::Condition(&ready), timeout);
    if (!queue_.empty()) {
      v1::GenerateResponse message = queue_.Pop();
      done = queue_.empty() && finished_;
      return message;
    }
    done = finished_;
    return std::nullopt;
  }

  // OK unless the generation failed.
  absl::Status error() const {
    absl::MutexLock lock(&mutex_);
    return error_;
  }

 private:
  mutable absl::Mutex mutex_;
  OutboundQueue queue_ ABSL_GUARDED_BY(mutex_);
  bool finished_ ABSL_GUARDED_BY(mutex_) = false;
  absl::Status error_ ABSL_GUARDED_BY(mutex_);
  std::shared_ptr<HttpCall> self_ ABSL_GUARDED_BY(mutex_);
};

// JSON text for a body that may hold model output: invalid UTF-8 becomes U+FFFD instead of a throw.
std::string JsonText(const nlohmann::json& body) {
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string SseEvent(const nlohmann::json& body) {
  return absl::StrCat("data: ", body.dump(), "\n\n");
}

// GET /v1/cache: the KV pool (server-wide counts) and the caller's sessions with where their KV
// is: "memory" (pinned blocks, reused by the next turn), "spilled" (a file in the spill
// directory) or "none" (the next turn prefills the conversation again).
nlohmann::json CacheView(const ServingModel& model, const SessionPage& page) {
  const Engine& engine = *model.engine;
  const KvCacheConfig& config = engine.kv_config();
  const EngineStats stats = engine.Stats();
  nlohmann::json sessions = nlohmann::json::array();
  for (const SessionSnapshot& session : page.sessions) {
    const bool in_memory = session.kv_cached();
    const char* kv = in_memory                                                        ? "memory"
                     : model.kv_spill != nullptr && model.kv_spill->Holds(session.id) ? "spilled"
                                                                                      : "none";
    sessions.push_back({{"id", session.id},
                        {"labels", session.labels},
                        {"num_messages", session.num_messages},
                        {"num_tokens", session.num_tokens},
                        {"turns", session.turns},
                        {"busy", session.busy},
                        {"last_used", absl::ToUnixSeconds(session.last_used)},
                        {"kv", kv},
                        {"kv_blocks", in_memory ? session.kv_blocks : 0}});
  }
  nlohmann::json spill = {{"enabled", model.kv_spill != nullptr}, {"files", 0}, {"bytes", 0}};
  if (model.kv_spill != nullptr) {
    const KvSpillStats spilled = model.kv_spill->stats();
    spill["files"] = spilled.files;
    spill["bytes"] = spilled.bytes;
  }
  return {{"object", "cache"},
          {"kv",
           {{"dtype", std::string(KvElementTypeName(config.element_type))},
            {"block_tokens", config.block_size},
            {"block_bytes", config.BytesPerBlock()},
            {"blocks_total", engine.kv_num_blocks()},
            {"blocks_used", stats.kv.blocks_used},
            {"blocks_cached", stats.kv.blocks_cached},
            {"blocks_free", stats.kv.blocks_free},
            {"session_blocks_pinned", model.sessions->stats().pinned_kv_blocks}}},
          {"prefix_cache",
           {{"query_tokens", stats.kv.lookup_tokens}, {"hit_tokens", stats.kv.hit_tokens}}},
          {"requests", {{"running", stats.running}, {"waiting", stats.waiting}}},
          {"spill", std::move(spill)},
          {"sessions", std::move(sessions)},
          {"more_sessions", !page.next_page_token.empty()}};
}

}  // namespace

OpenAiHttpServer::OpenAiHttpServer(GenerationCore& core, const SessionAdmin& admin,
                                   const ServiceDependencies& deps, std::string model_name)
    : core_(core),
      admin_(admin),
      deps_(deps),
      model_name_(std::move(model_name)),
      http_(std::make_unique<httplib::Server>()) {}

absl::StatusOr<std::unique_ptr<OpenAiHttpServer>> OpenAiHttpServer::Start(
    absl::string_view listen, GenerationCore& core, const SessionAdmin& admin,
    const ServiceDependencies& deps, std::string model_name, int threads) {
  absl::StatusOr<ListenAddress> address = ParseListenAddress(listen, "HTTP");
  if (!address.ok()) return address.status();
  const std::string& host = address->host;
  const int port = address->port;
  std::unique_ptr<OpenAiHttpServer> server(
      new OpenAiHttpServer(core, admin, deps, std::move(model_name)));
  server->Register(threads);
  server->port_ = port == 0 ? server->http_->bind_to_any_port(host)
                            : (server->http_->bind_to_port(host, port) ? port : -1);
  if (server->port_ <= 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen for HTTP on ", listen));
  }
  server->thread_ = std::thread([http = server->http_.get()] { http->listen_after_bind(); });
  return server;
}

OpenAiHttpServer::~OpenAiHttpServer() { Stop(); }

void OpenAiHttpServer::Stop() {
  if (!thread_.joinable()) return;
  http_->stop();
  thread_.join();
}

void OpenAiHttpServer::Register(int threads) {
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // Bodies: the prompt byte limit plus JSON framing.
  http_->set_payload_max_length(size_t{16} << 20);

  for (const WebAsset& asset : WebAssets()) {
    // Served to anyone (the page asks for an API key when the API answers 401).
    http_->Get(absl::StrReplaceAll(asset.path, {{".", "\\."}}),
               [&asset](const httplib::Request&, httplib::Response& response) {
                 response.set_header("Content-Security-Policy", kPagePolicy);
                 response.set_header("X-Content-Type-Options", "nosniff");
                 response.set_header("Referrer-Policy", "no-referrer");
                 response.set_header("Cache-Control", "no-cache");
                 response.set_content(reinterpret_cast<const char*>(asset.data), asset.size,
                                      asset.content_type);
               });
  }

  http_->Get("/v1/models", [this](const httplib::Request& request, httplib::Response& response) {
    auto auth = request.get_header_value("Authorization");
    if (absl::StatusOr<std::shared_ptr<const Tenant>> tenant =
            deps_.authenticator.Authenticate(auth, "");
        !tenant.ok()) {
      return SendStatus(response, tenant.status());
    }
    const nlohmann::json body = {
        {"object", "list"},
        {"data", nlohmann::json::array({{{"id", model_name_},
                                         {"object", "model"},
                                         {"created", 0},
                                         {"owned_by", "minimind-serve"}}})}};
    response.set_content(body.dump(), "application/json");
  });

  auto generate = [this](OpenAiEndpoint endpoint) {
    return [this, endpoint](const httplib::Request& request, httplib::Response& response) {
      absl::StatusOr<std::shared_ptr<const Tenant>> tenant =
          deps_.authenticator.Authenticate(request.get_header_value("Authorization"), "");
      if (!tenant.ok()) return SendStatus(response, tenant.status());
      absl::StatusOr<OpenAiRequest> parsed = ParseOpenAiRequest(endpoint, request.body);
      if (!parsed.ok()) return SendStatus(response, parsed.status());
      if (parsed->generate.session_id().empty() && request.has_header("x-session-id")) {
        parsed->generate.set_session_id(request.get_header_value("x-session-id"));
      }
      auto call = std::make_shared<HttpCall>();
      absl::StatusOr<std::string> engine_id = core_.Start(**tenant, parsed->generate, call.get());
      if (!engine_id.ok()) return SendStatus(response, engine_id.status());
      call->KeepAliveUntilFinished();
      const std::string id = absl::StrCat(
          endpoint == OpenAiEndpoint::kChatCompletions ? "chatcmpl-" : "cmpl-", *engine_id);
      const int64_t created = absl::ToUnixSeconds(absl::Now());

      if (!parsed->stream) {
        v1::GenerateResponse merged;
        bool done = false;
        while (!done) {
          if (std::optional<v1::GenerateResponse> next = call->Next(absl::Seconds(1), done)) {
            MergeResponse(*std::move(next), merged);
          }
        }
        if (absl::Status error = call->error(); !error.ok()) return SendStatus(response, error);
        response.set_content(OpenAiResponse(endpoint, id, created, model_name_, merged).dump(),
                             "application/json");
        return;
      }

      const bool include_usage = parsed->include_usage;
      auto first = std::make_shared<bool>(true);
      response.set_header("Cache-Control", "no-cache");
      response.set_chunked_content_provider(
          "text/event-stream",
          [this, call, endpoint, id, created, include_usage, first](size_t,
                                                                    httplib::DataSink& sink) {
            bool done = false;
            std::optional<v1::GenerateResponse> next;
            while (!(next = call->Next(absl::Milliseconds(200), done)).has_value() && !done) {
              if (!sink.is_writable()) return false;  // Gone: the releaser cancels.
            }
            if (next.has_value()) {
              const std::string event =
                  SseEvent(OpenAiChunk(endpoint, id, created, model_name_, *next, *first));
              *first = false;
              if (!sink.write(event.data(), event.size())) return false;
              if (done && include_usage && next->has_usage()) {
                nlohmann::json usage_chunk =
                    OpenAiChunk(endpoint, id, created, model_name_, v1::GenerateResponse(), false);
                usage_chunk["choices"] = nlohmann::json::array();
                usage_chunk["usage"] = OpenAiUsage(next->usage());
                const std::string usage_event = SseEvent(usage_chunk);
                sink.write(usage_event.data(), usage_event.size());
              }
            }
            if (!done) return true;
            if (absl::Status error = call->error(); !error.ok()) {
              const std::string event = SseEvent(ToOpenAiError(error).body);
              sink.write(event.data(), event.size());
            }
            static constexpr absl::string_view kDone = "data: [DONE]\n\n";
            sink.write(kDone.data(), kDone.size());
            sink.done();
            return true;
          },
          [this, engine_id = *engine_id](bool success) {
            // Not a complete stream: the client went away; stop generating for it.
            if (!success) core_.Cancel(engine_id);
          });
    };
  };
  RegisterSessions();
  http_->Post("/v1/chat/completions", generate(OpenAiEndpoint::kChatCompletions));
  http_->Post("/v1/completions", generate(OpenAiEndpoint::kCompletions));
}

void OpenAiHttpServer::RegisterSessions() {
  // Each route authenticates, then runs `serve(tenant, request)`: a JSON body, or an error status.
  using Serve =
      std::function<absl::StatusOr<nlohmann::json>(const Tenant&, const httplib::Request&)>;
  auto route = [this](Serve serve) {
    return [this, serve = std::move(serve)](const httplib::Request& request,
                                            httplib::Response& response) {
      absl::StatusOr<std::shared_ptr<const Tenant>> tenant =
          deps_.authenticator.Authenticate(request.get_header_value("Authorization"), "");
      if (!tenant.ok()) return SendStatus(response, tenant.status());
      absl::StatusOr<nlohmann::json> body = serve(**tenant, request);
      if (!body.ok()) return SendStatus(response, body.status());
      response.set_content(JsonText(*body), "application/json");
    };
  };
  http_->Post(
      "/v1/sessions",
      route([this](const Tenant& tenant,
                   const httplib::Request& request) -> absl::StatusOr<nlohmann::json> {
        MINIMIND_ASSIGN_OR_RETURN(SessionCreateBody body, ParseSessionCreateBody(request.body));
        MINIMIND_ASSIGN_OR_RETURN(SessionSnapshot session,
                                  admin_.Create(tenant, body.system_prompt, body.ttl,
                                                std::move(body.labels), body.context_overflow));
        return SessionJson(session, /*with_messages=*/true);
      }));
  http_->Get("/v1/cache", route([this](const Tenant& tenant,
                                       const httplib::Request&) -> absl::StatusOr<nlohmann::json> {
               MINIMIND_ASSIGN_OR_RETURN(ServingModel * model, deps_.model.Get());
               MINIMIND_ASSIGN_OR_RETURN(SessionPage page,
                                         admin_.List(tenant, kCacheViewSessions, ""));
               return CacheView(*model, page);
             }));
  http_->Get("/v1/sessions",
             route([this](const Tenant& tenant,
                          const httplib::Request& request) -> absl::StatusOr<nlohmann::json> {
               int page_size = 0;
               if (request.has_param("limit")) {
                 const std::string limit = request.get_param_value("limit");
                 if (!absl::SimpleAtoi(limit, &page_size) || page_size < 0) {
                   return absl::InvalidArgumentError(
                       absl::StrCat("limit must be a non-negative integer, got \"", limit, "\""));
                 }
               }
               MINIMIND_ASSIGN_OR_RETURN(
                   SessionPage page,
                   admin_.List(tenant, page_size, request.get_param_value("page_token")));
               nlohmann::json data = nlohmann::json::array();
               for (const SessionSnapshot& session : page.sessions) {
                 data.push_back(SessionJson(session, /*with_messages=*/false));
               }
               return nlohmann::json{{"object", "list"},
                                     {"data", std::move(data)},
                                     {"next_page_token", page.next_page_token}};
             }));
  http_->Get(R"(/v1/sessions/([^/]+))",
             route([this](const Tenant& tenant,
                          const httplib::Request& request) -> absl::StatusOr<nlohmann::json> {
               MINIMIND_ASSIGN_OR_RETURN(SessionSnapshot session,
                                         admin_.Get(tenant, request.matches[1].str()));
               return SessionJson(session, /*with_messages=*/true);
             }));
  http_->Delete(R"(/v1/sessions/([^/]+))",
                route([this](const Tenant& tenant,
                             const httplib::Request& request) -> absl::StatusOr<nlohmann::json> {
                  const std::string id = request.matches[1];
                  MINIMIND_RETURN_IF_ERROR(admin_.Delete(tenant, id));
                  return nlohmann::json{{"id", id}, {"object", "session"}, {"deleted", true}};
                }));
  http_->Post(R"(/v1/sessions/([^/]+)/fork)",
              route([this](const Tenant& tenant,
                           const httplib::Request& request) -> absl::StatusOr<nlohmann::json> {
                MINIMIND_ASSIGN_OR_RETURN(std::optional<absl::Duration> ttl,
                                          ParseSessionForkBody(request.body));
                MINIMIND_ASSIGN_OR_RETURN(SessionSnapshot session,
                                          admin_.Fork(tenant, request.matches[1].str(), ttl));
                return SessionJson(session, /*with_messages=*/true);
              }));
}

}  // namespace minimind
