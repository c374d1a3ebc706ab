#include "service/http/openai_http_server.h"

#include <httplib.h>

#include <atomic>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "service/call_target.h"
#include "service/http/openai_json.h"
#include "service/listen_address.h"
#include "service/outbound_queue.h"

namespace minimind {
namespace {

constexpr int64_t kQueueMessages = 16;

void SendError(httplib::Response& response, int grpc_code, absl::string_view message) {
  OpenAiError error = ToOpenAiError(grpc_code, message);
  response.status = error.http_status;
  response.set_content(error.body.dump(), "application/json");
}

void SendStatus(httplib::Response& response, const absl::Status& status) {
  SendError(response, static_cast<int>(status.code()), status.message());
}

// One generation's output on its way from the engine thread to an HTTP thread. Keeps itself
// alive (self_) from submission until the engine's last call, so it may outlive the HTTP
// request (a client that went away); the HTTP side holds its own reference.
class HttpCall final : public CallTarget, public std::enable_shared_from_this<HttpCall> {
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

  void Fail(grpc::Status status) override {
    std::shared_ptr<HttpCall> keep;
    {
      absl::MutexLock lock(&mutex_);
      finished_ = true;
      failed_ = true;
      error_code_ = static_cast<int>(status.error_code());
      error_message_ = status.error_message();
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

  bool failed() const {
    absl::MutexLock lock(&mutex_);
    return failed_;
  }
  int error_code() const {
    absl::MutexLock lock(&mutex_);
    return error_code_;
  }
  std::string error_message() const {
    absl::MutexLock lock(&mutex_);
    return error_message_;
  }

 private:
  mutable absl::Mutex mutex_;
  OutboundQueue queue_ ABSL_GUARDED_BY(mutex_);
  bool finished_ ABSL_GUARDED_BY(mutex_) = false;
  bool failed_ ABSL_GUARDED_BY(mutex_) = false;
  int error_code_ ABSL_GUARDED_BY(mutex_) = 0;
  std::string error_message_ ABSL_GUARDED_BY(mutex_);
  std::shared_ptr<HttpCall> self_ ABSL_GUARDED_BY(mutex_);
};

std::string SseEvent(const nlohmann::json& body) {
  return absl::StrCat("data: ", body.dump(), "\n\n");
}

}  // namespace

OpenAiHttpServer::OpenAiHttpServer(InferenceService& inference, const ServiceDependencies& deps,
                                   std::string model_name)
    : inference_(inference),
      deps_(deps),
      model_name_(std::move(model_name)),
      http_(std::make_unique<httplib::Server>()) {}

absl::StatusOr<std::unique_ptr<OpenAiHttpServer>> OpenAiHttpServer::Start(
    absl::string_view listen, InferenceService& inference, const ServiceDependencies& deps,
    std::string model_name, int threads) {
  absl::StatusOr<ListenAddress> address = ParseListenAddress(listen, "HTTP");
  if (!address.ok()) return address.status();
  const std::string& host = address->host;
  const int port = address->port;
  std::unique_ptr<OpenAiHttpServer> server(
      new OpenAiHttpServer(inference, deps, std::move(model_name)));
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
      absl::StatusOr<RequestSlot> slot = deps_.usage.AcquireRequest(**tenant);
      if (!slot.ok()) return SendStatus(response, slot.status());
      auto call = std::make_shared<HttpCall>();
      absl::StatusOr<std::string> engine_id =
          inference_.StartGeneration(**tenant, *std::move(slot), parsed->generate, call.get());
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
        if (call->failed()) return SendError(response, call->error_code(), call->error_message());
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
            if (call->failed()) {
              const std::string event =
                  SseEvent(ToOpenAiError(call->error_code(), call->error_message()).body);
              sink.write(event.data(), event.size());
            }
            static constexpr absl::string_view kDone = "data: [DONE]\n\n";
            sink.write(kDone.data(), kDone.size());
            sink.done();
            return true;
          },
          [this, engine_id = *engine_id](bool success) {
            // Not a complete stream: the client went away; stop generating for it.
            if (!success) inference_.CancelGeneration(engine_id);
          });
    };
  };
  // Sessions for HTTP-only clients (an extension: OpenAI has none). POST {system_prompt,
  // ttl_seconds} -> {id, object: "session"}; DELETE /v1/sessions/ID.
  http_->Post("/v1/sessions", [this](const httplib::Request& request, httplib::Response& response) {
    absl::StatusOr<std::shared_ptr<const Tenant>> tenant =
        deps_.authenticator.Authenticate(request.get_header_value("Authorization"), "");
    if (!tenant.ok()) return SendStatus(response, tenant.status());
    absl::StatusOr<ServingModel*> model = deps_.model.Get();
    if (!model.ok()) return SendStatus(response, model.status());
    nlohmann::json body = request.body.empty()
                              ? nlohmann::json::object()
                              : nlohmann::json::parse(request.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
      return SendStatus(response,
                        absl::InvalidArgumentError("the request body is not a JSON object"));
    }
    std::string system_prompt;
    if (body.contains("system_prompt")) {
      if (!body["system_prompt"].is_string()) {
        return SendStatus(response, absl::InvalidArgumentError("system_prompt must be a string"));
      }
      system_prompt = body["system_prompt"].get<std::string>();
    }
    absl::Duration ttl = absl::ZeroDuration();
    if (body.contains("ttl_seconds")) {
      if (!body["ttl_seconds"].is_number_integer()) {
        return SendStatus(response, absl::InvalidArgumentError("ttl_seconds must be an integer"));
      }
      ttl = absl::Seconds(body["ttl_seconds"].get<int64_t>());
    }
    const int64_t max_bytes = (*model)->prompts->limits().max_prompt_bytes;
    if (static_cast<int64_t>(system_prompt.size()) > max_bytes) {
      return SendStatus(response, absl::InvalidArgumentError(
                                      absl::StrCat("system_prompt is ", system_prompt.size(),
                                                   " bytes; the limit is ", max_bytes)));
    }
    if ((*tenant)->limits.max_sessions > 0) {
      absl::StatusOr<int64_t> owned = (*model)->sessions->CountSessions((*tenant)->name);
      if (!owned.ok()) return SendStatus(response, owned.status());
      if (*owned >= (*tenant)->limits.max_sessions) {
        return SendStatus(response, absl::ResourceExhaustedError(absl::StrCat(
                                        "tenant ", (*tenant)->name, " is at its limit of ",
                                        (*tenant)->limits.max_sessions,
                                        " sessions (max_sessions); delete one first")));
      }
    }
    absl::StatusOr<SessionSnapshot> session =
        (*model)->sessions->Create((*tenant)->name, system_prompt, ttl, {});
    if (!session.ok()) return SendStatus(response, session.status());
    response.set_content(nlohmann::json({{"id", session->id}, {"object", "session"}}).dump(),
                         "application/json");
  });
  http_->Delete(R"(/v1/sessions/([0-9a-zA-Z]+))", [this](const httplib::Request& request,
                                                         httplib::Response& response) {
    absl::StatusOr<std::shared_ptr<const Tenant>> tenant =
        deps_.authenticator.Authenticate(request.get_header_value("Authorization"), "");
    if (!tenant.ok()) return SendStatus(response, tenant.status());
    absl::StatusOr<ServingModel*> model = deps_.model.Get();
    if (!model.ok()) return SendStatus(response, model.status());
    const std::string id = request.matches[1];
    if (absl::Status s = (*model)->sessions->Delete(id, (*tenant)->name); !s.ok()) {
      return SendStatus(response, s);
    }
    response.set_content(
        nlohmann::json({{"id", id}, {"object", "session"}, {"deleted", true}}).dump(),
        "application/json");
  });
  http_->Post("/v1/chat/completions", generate(OpenAiEndpoint::kChatCompletions));
  http_->Post("/v1/completions", generate(OpenAiEndpoint::kCompletions));
}

}  // namespace minimind
