// OpenAiHttpServer: the OpenAI-compatible HTTP API beside gRPC (--http-listen): POST
// /v1/chat/completions and /v1/completions (unary, or `stream: true` as server-sent events ending
// in `data: [DONE]`), GET /v1/models. Same engine, limits, tenants and sessions as gRPC: a call
// authenticates with `Authorization: Bearer KEY` (when the server has API keys), continues a
// session with an `x-session-id` header or a `session_id` field, and reports cached prompt tokens
// as usage.prompt_tokens_details.cached_tokens. Errors are OpenAI's JSON shape
// (openai_json.h: ToOpenAiError) with the matching HTTP status.
//
// Sessions for HTTP-only clients (an extension: OpenAI has none), the same operations as gRPC's
// Sessions service through the same SessionAdmin: POST /v1/sessions {system_prompt, ttl_seconds,
// labels}, GET /v1/sessions?limit=N&page_token=T, GET /v1/sessions/ID, DELETE /v1/sessions/ID,
// POST /v1/sessions/ID/fork {ttl_seconds}. A session is {id, object: "session", system_prompt,
// labels, messages, num_tokens, kv_cached, turns, busy, created, last_used, expires (Unix
// seconds), ttl_seconds}; a list {object: "list", data, next_page_token}.
//
// Also: GET /v1/cache (the KV cache view: the pool's counts and the caller's sessions with where
// their KV is) and the chat page (GET /, /app.js, /app.css: web_assets.h), docs/http_api.md.
//
// This is an adapter: generations go through the GenerationCore
// (service/generation/generation_core.h) exactly as gRPC's do.
//
// Threads: cpp-httplib serves each connection on a pool thread (`threads` of them: a stream holds
// one for its whole length). Engine output reaches the HTTP thread through a bounded, coalescing
// OutboundQueue, so a slow client never blocks the engine; a client that disconnects mid-stream
// cancels its generation.
//
// Ownership: the core, the admin and the dependencies must outlive the server; Stop (or the
// destructor) stops accepting and joins the listener thread.
#ifndef MINIMIND_SERVICE_HTTP_OPENAI_HTTP_SERVER_H_
#define MINIMIND_SERVICE_HTTP_OPENAI_HTTP_SERVER_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "service/generation/generation_core.h"
#include "service/generation/session_admin.h"
#include "service/service_dependencies.h"

namespace httplib {
class Server;
}

namespace minimind {

class OpenAiHttpServer {
 public:
  // `listen` is HOST:PORT (port 0 picks one). `model_name` is what /v1/models lists and responses
  // name. InvalidArgument for a malformed address, Unavailable if it cannot bind.
  static absl::StatusOr<std::unique_ptr<OpenAiHttpServer>> Start(
      absl::string_view listen, GenerationCore& core, const SessionAdmin& admin,
      const ServiceDependencies& deps, std::string model_name, int threads = 64);

  OpenAiHttpServer(const OpenAiHttpServer&) = delete;
  OpenAiHttpServer& operator=(const OpenAiHttpServer&) = delete;
  ~OpenAiHttpServer();

  void Stop();
  int port() const { return port_; }

 private:
  OpenAiHttpServer(GenerationCore& core, const SessionAdmin& admin, const ServiceDependencies& deps,
                   std::string model_name);
  void Register(int threads);
  void RegisterSessions();

  GenerationCore& core_;
  const SessionAdmin& admin_;
  const ServiceDependencies deps_;
  const std::string model_name_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace minimind

#endif  // MINIMIND_SERVICE_HTTP_OPENAI_HTTP_SERVER_H_
