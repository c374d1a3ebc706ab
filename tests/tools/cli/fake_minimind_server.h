// FakeMinimindServer: an in-process gRPC server speaking minimind.v1 (Inference, Sessions,
// Models) with scripted, deterministic behaviour, for testing the client commands without a
// model. Generate replies "echo: <last message content or prompt>" in three streamed pieces
// (one token each) when max_tokens is unset, or max_tokens tokens (one message each) otherwise;
// the last message carries usage, where cached_prompt_tokens is the session's tokens before the
// turn. A session turn whose input contains "[truncate]" reports 4 messages (120 tokens) dropped
// from the context; one containing "[unsaved]" reports session_saved false. Every request is
// recorded for the test to inspect. Thread-safe.
#ifndef MINIMIND_TESTS_TOOLS_CLI_FAKE_MINIMIND_SERVER_H_
#define MINIMIND_TESTS_TOOLS_CLI_FAKE_MINIMIND_SERVER_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "minimind/v1/inference.grpc.pb.h"
#include "minimind/v1/models.grpc.pb.h"
#include "minimind/v1/sessions.grpc.pb.h"

namespace minimind::cli {

class FakeMinimindServer {
 public:
  static constexpr int64_t kTokenizerVocab = 90;

  struct FakeSession {
    std::string system_prompt;
    int64_t tokens = 0;
    int64_t turns = 0;
  };

  FakeMinimindServer() : inference_(this), sessions_(this), models_(this) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&inference_);
    builder.RegisterService(&sessions_);
    builder.RegisterService(&models_);
    server_ = builder.BuildAndStart();
  }
  ~FakeMinimindServer() { server_->Shutdown(); }

  std::string target() const { return absl::StrCat("127.0.0.1:", port_); }

  std::vector<minimind::v1::GenerateRequest> generate_requests() {
    std::lock_guard<std::mutex> lock(mutex_);
    return generate_requests_;
  }
  std::vector<std::string> created_system_prompts() {
    std::lock_guard<std::mutex> lock(mutex_);
    return created_system_prompts_;
  }
  std::vector<std::string> deleted() {
    std::lock_guard<std::mutex> lock(mutex_);
    return deleted_;
  }
  std::map<std::string, FakeSession> sessions() {
    std::lock_guard<std::mutex> lock(mutex_);
    return sessions_by_id_;
  }

 private:
  class Inference : public minimind::v1::Inference::Service {
   public:
    explicit Inference(FakeMinimindServer* server) : server_(server) {}
    grpc::Status Generate(grpc::ServerContext*, const minimind::v1::GenerateRequest* request,
                          grpc::ServerWriter<minimind::v1::GenerateResponse>* writer) override {
      int64_t cached = 0;
      std::string input = request->prompt();
      if (request->has_messages() && request->messages().messages_size() > 0) {
        input = request->messages().messages(request->messages().messages_size() - 1).content();
      }
      const int64_t prompt_tokens = request->has_token_ids() ? request->token_ids().ids_size()
                                                             : static_cast<int64_t>(input.size());
      {
        std::lock_guard<std::mutex> lock(server_->mutex_);
        server_->generate_requests_.push_back(*request);
        if (!request->session_id().empty()) {
          auto it = server_->sessions_by_id_.find(request->session_id());
          if (it == server_->sessions_by_id_.end()) {
            return grpc::Status(grpc::StatusCode::NOT_FOUND,
                                absl::StrCat("session ", request->session_id(), " not found"));
          }
          cached = it->second.tokens;
        }
      }
      std::vector<std::string> pieces = {"echo", ": ", input};
      if (request->has_max_tokens()) pieces.assign(request->max_tokens(), "x");
      minimind::v1::GenerateResponse response;
      for (size_t i = 0; i < pieces.size(); ++i) {
        response.Clear();
        response.set_text(pieces[i]);
        response.add_token_ids(static_cast<int32_t>(i));
        if (i + 1 == pieces.size()) {
          response.set_finish_reason(minimind::v1::FINISH_REASON_LENGTH);
          minimind::v1::Usage* usage = response.mutable_usage();
          usage->set_prompt_tokens(cached + prompt_tokens);
          usage->set_cached_prompt_tokens(cached);
          usage->set_completion_tokens(static_cast<int64_t>(pieces.size()));
          usage->mutable_timing()->set_time_to_first_token_seconds(0.002);
          usage->mutable_timing()->set_decode_seconds(0.5);
          if (!request->session_id().empty()) {
            usage->set_session_saved(input.find("[unsaved]") == std::string::npos);
            if (!usage->session_saved()) usage->set_session_save_error("redis is away");
            if (input.find("[truncate]") != std::string::npos) {
              usage->set_context_dropped_messages(4);
              usage->set_context_dropped_tokens(120);
            }
          }
        }
        writer->Write(response);
      }
      std::lock_guard<std::mutex> lock(server_->mutex_);
      if (!request->session_id().empty()) {
        FakeSession& session = server_->sessions_by_id_[request->session_id()];
        session.tokens = cached + prompt_tokens + static_cast<int64_t>(pieces.size());
        ++session.turns;
      }
      return grpc::Status::OK;
    }

   private:
    FakeMinimindServer* server_;
  };

  class Sessions : public minimind::v1::Sessions::Service {
   public:
    explicit Sessions(FakeMinimindServer* server) : server_(server) {}
    grpc::Status CreateSession(grpc::ServerContext*,
                               const minimind::v1::CreateSessionRequest* request,
                               minimind::v1::Session* session) override {
      std::lock_guard<std::mutex> lock(server_->mutex_);
      const std::string id = absl::StrCat("s", ++server_->next_session_);
      server_->sessions_by_id_[id] = FakeSession{request->system_prompt(), 0, 0};
      server_->created_system_prompts_.push_back(request->system_prompt());
      session->set_session_id(id);
      session->set_system_prompt(request->system_prompt());
      return grpc::Status::OK;
    }
    grpc::Status GetSession(grpc::ServerContext*, const minimind::v1::GetSessionRequest* request,
                            minimind::v1::Session* session) override {
      std::lock_guard<std::mutex> lock(server_->mutex_);
      auto it = server_->sessions_by_id_.find(request->session_id());
      if (it == server_->sessions_by_id_.end()) {
        return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such session");
      }
      session->set_session_id(request->session_id());
      session->set_num_tokens(it->second.tokens);
      session->set_turns(it->second.turns);
      session->set_kv_cached(true);
      return grpc::Status::OK;
    }
    grpc::Status DeleteSession(grpc::ServerContext*,
                               const minimind::v1::DeleteSessionRequest* request,
                               minimind::v1::DeleteSessionResponse*) override {
      std::lock_guard<std::mutex> lock(server_->mutex_);
      server_->deleted_.push_back(request->session_id());
      server_->sessions_by_id_.erase(request->session_id());
      return grpc::Status::OK;
    }
    grpc::Status ForkSession(grpc::ServerContext*, const minimind::v1::ForkSessionRequest* request,
                             minimind::v1::Session* session) override {
      std::lock_guard<std::mutex> lock(server_->mutex_);
      auto it = server_->sessions_by_id_.find(request->session_id());
      if (it == server_->sessions_by_id_.end()) {
        return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such session");
      }
      const std::string id = absl::StrCat("s", ++server_->next_session_);
      server_->sessions_by_id_[id] = it->second;
      session->set_session_id(id);
      return grpc::Status::OK;
    }

   private:
    FakeMinimindServer* server_;
  };

  class Models : public minimind::v1::Models::Service {
   public:
    explicit Models(FakeMinimindServer* server) {}
    grpc::Status GetModelInfo(grpc::ServerContext*, const minimind::v1::GetModelInfoRequest*,
                              minimind::v1::ModelInfo* info) override {
      info->set_vocab_size(kTokenizerVocab + 10);
      info->set_tokenizer_vocab_size(kTokenizerVocab);
      return grpc::Status::OK;
    }
  };

  std::mutex mutex_;
  std::vector<minimind::v1::GenerateRequest> generate_requests_;
  std::vector<std::string> created_system_prompts_;
  std::vector<std::string> deleted_;
  std::map<std::string, FakeSession> sessions_by_id_;
  int next_session_ = 0;
  Inference inference_;
  Sessions sessions_;
  Models models_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace minimind::cli

#endif  // MINIMIND_TESTS_TOOLS_CLI_FAKE_MINIMIND_SERVER_H_
