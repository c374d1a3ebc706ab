#include "tools/cli/chat_command.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "grpcpp/client_context.h"
#include "minimind/v1/inference.grpc.pb.h"
#include "minimind/v1/sessions.grpc.pb.h"
#include "tools/cli/command_line.h"
#include "tools/cli/line_reader.h"
#include "tools/cli/remote_channel.h"
#include "tools/cli/remote_generate_command.h"
#include "tools/cli/sampling_flags.h"
#include "tools/cli/session_routing.h"
#include "tools/cli/turn_interrupt.h"

namespace minimind::cli {
namespace {

constexpr char kChatHelp[] =
    "/reset        start a new conversation (same system prompt)\n"
    "/system TEXT  start a new conversation with system prompt TEXT\n"
    "/fork         branch: continue in a copy of this conversation\n"
    "/stats        tokens, cached tokens and speed\n"
    "/quit         leave (also end of input)\n";

struct TurnStats {
  int64_t prompt_tokens = 0;
  int64_t cached_prompt_tokens = 0;
  int64_t completion_tokens = 0;
  double time_to_first_token_seconds = 0;
  double decode_seconds = 0;
};

// One chat: the server session it talks in and what it measured.
// "⠋ thinking" frames on `err` until destroyed (the first token arrived), then erased.
class Spinner {
 public:
  explicit Spinner(std::ostream& err)
      : err_(err), thread_([this] {
          static constexpr const char* kFrames[] = {"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧"};
          for (int frame = 0; !stop_.load(); ++frame) {
            err_ << "\r" << kFrames[frame % 8] << " " << std::flush;
            for (int i = 0; i < 10 && !stop_.load(); ++i) {
              std::this_thread::sleep_for(std::chrono::milliseconds(10));
            }
          }
          err_ << "\r  \r" << std::flush;
        }) {}
  ~Spinner() {
    stop_.store(true);
    thread_.join();
  }

 private:
  std::ostream& err_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class ChatClient {
 public:
  ChatClient(std::shared_ptr<grpc::Channel> channel, minimind::v1::GenerateRequest request_template,
             int64_t ttl_seconds, std::ostream& out, std::ostream& err, bool interactive)
      : inference_(minimind::v1::Inference::NewStub(channel)),
        sessions_(minimind::v1::Sessions::NewStub(channel)),
        request_template_(std::move(request_template)),
        ttl_seconds_(ttl_seconds),
        out_(out),
        err_(err),
        interactive_(interactive) {}

  // Deletes the current session (if any) and creates one with `system_prompt`.
  bool StartSession(const std::string& system_prompt) {
    EndSession();
    minimind::v1::CreateSessionRequest request;
    request.set_system_prompt(system_prompt);
    if (ttl_seconds_ > 0) request.mutable_ttl()->set_seconds(ttl_seconds_);
    minimind::v1::Session session;
    grpc::ClientContext context;
    const grpc::Status status = sessions_->CreateSession(&context, request, &session);
    if (!status.ok()) {
      err_ << "error: cannot create a session: " << RpcErrorText(status) << "\n";
      return false;
    }
    session_id_ = session.session_id();
    system_prompt_ = system_prompt;
    return true;
  }

  void EndSession() {
    if (session_id_.empty()) return;
    minimind::v1::DeleteSessionRequest request;
    request.set_session_id(session_id_);
    minimind::v1::DeleteSessionResponse response;
    grpc::ClientContext context;
    RouteBySession(context, session_id_);
    // A session that already expired is fine to lose.
    (void)sessions_->DeleteSession(&context, request, &response);
    session_id_.clear();
  }

  bool Fork() {
    minimind::v1::ForkSessionRequest request;
    request.set_session_id(session_id_);
    if (ttl_seconds_ > 0) request.mutable_ttl()->set_seconds(ttl_seconds_);
    minimind::v1::Session session;
    grpc::ClientContext context;
    RouteBySession(context, session_id_);
    const grpc::Status status = sessions_->ForkSession(&context, request, &session);
    if (!status.ok()) {
      err_ << "error: cannot fork: " << RpcErrorText(status) << "\n";
      return false;
    }
    out_ << "[forked " << session_id_ << " -> " << session.session_id() << "]\n";
    session_id_ = session.session_id();
    return true;
  }

  // Sends one user message and streams the reply. False if the turn failed.
  bool Turn(const std::string& text) {
    minimind::v1::GenerateRequest request = request_template_;
    request.set_session_id(session_id_);
    minimind::v1::ChatMessage* message = request.mutable_messages()->add_messages();
    message->set_role("user");
    message->set_content(text);
    std::optional<minimind::v1::Usage> usage;
    // A turn refused ABORTED before any output found the session busy: usually our own previous
    // turn, cancelled with Ctrl-C, whose cancellation the server is still completing (it frees
    // the session on the engine's next step). Wait for it, up to about 5 s.
    constexpr int kBusyRetries = 50;
    for (int attempt = 0;; ++attempt) {
      grpc::ClientContext context;
      RouteBySession(context, session_id_);
      // On a terminal: Ctrl-C cancels this turn (not the program), a spinner shows until the
      // first token, and a stats line follows the reply.
      std::optional<TurnInterrupt> interrupt;
      if (interactive_) interrupt.emplace(context);
      std::optional<Spinner> spinner;
      if (interactive_) spinner.emplace(err_);
      auto reader = inference_->Generate(&context, request);
      minimind::v1::GenerateResponse response;
      bool received = false;
      while (reader->Read(&response)) {
        spinner.reset();
        received = true;
        out_ << response.text() << std::flush;
        if (response.has_usage()) usage = response.usage();
      }
      spinner.reset();
      const grpc::Status status = reader->Finish();
      if (interrupt.has_value() && interrupt->interrupted()) {
        out_ << "\n" << std::flush;
        err_ << "[turn cancelled; the conversation is as it was before it]\n";
        return true;
      }
      if (status.error_code() == grpc::StatusCode::ABORTED && !received && attempt < kBusyRetries) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        continue;
      }
      out_ << "\n" << std::flush;
      if (!status.ok()) {
        err_ << "error: " << RpcErrorText(status) << "\n";
        return false;
      }
      break;
    }
    if (usage.has_value()) {
      last_ = TurnStats{usage->prompt_tokens(), usage->cached_prompt_tokens(),
                        usage->completion_tokens(), usage->timing().time_to_first_token_seconds(),
                        usage->timing().decode_seconds()};
      total_.prompt_tokens += last_.prompt_tokens;
      total_.cached_prompt_tokens += last_.cached_prompt_tokens;
      total_.completion_tokens += last_.completion_tokens;
      total_.decode_seconds += last_.decode_seconds;
    }
    ++turns_;
    // Never errors: the reply is there; these say what the session did with the turn.
    if (usage.has_value() && usage->context_dropped_messages() > 0) {
      err_ << absl::StrFormat(
          "[older turns left the context window: %d messages (%d tokens) are no longer seen by the "
          "model; the session's transcript keeps them]\n",
          usage->context_dropped_messages(), usage->context_dropped_tokens());
    }
    if (usage.has_value() && usage->has_session_saved() && !usage->session_saved()) {
      err_ << "[this turn was not saved in the session (" << usage->session_save_error()
           << "); send it again to keep it]\n";
    }
    if (interactive_ && usage.has_value()) {
      err_ << absl::StrFormat("[%d tokens, %.1f tok/s, %d of %d prompt tokens cached]\n",
                              last_.completion_tokens, Rate(last_), last_.cached_prompt_tokens,
                              last_.prompt_tokens);
    }
    return true;
  }

  void PrintStats() {
    minimind::v1::GetSessionRequest request;
    request.set_session_id(session_id_);
    minimind::v1::Session session;
    grpc::ClientContext context;
    RouteBySession(context, session_id_);
    const grpc::Status status = sessions_->GetSession(&context, request, &session);
    out_ << "session " << session_id_;
    if (status.ok()) {
      out_ << absl::StrFormat(": %d turns, %d tokens, KV %s\n", session.turns(),
                              session.num_tokens(), session.kv_cached() ? "cached" : "not cached");
    } else {
      out_ << ": " << RpcErrorText(status) << "\n";
    }
    if (turns_ == 0) {
      out_ << "no turns yet\n";
      return;
    }
    out_ << absl::StrFormat(
        "last turn: prompt %d tokens (%d cached), completion %d tokens, ttft %.1f ms, %.1f tok/s\n",
        last_.prompt_tokens, last_.cached_prompt_tokens, last_.completion_tokens,
        last_.time_to_first_token_seconds * 1e3, Rate(last_));
    out_ << absl::StrFormat(
        "all turns: prompt %d tokens (%d cached, %.0f%%), completion %d tokens, %.1f tok/s\n",
        total_.prompt_tokens, total_.cached_prompt_tokens,
        total_.prompt_tokens > 0 ? 100.0 * total_.cached_prompt_tokens / total_.prompt_tokens : 0.0,
        total_.completion_tokens, Rate(total_));
  }

  const std::string& system_prompt() const { return system_prompt_; }

 private:
  // Decode tok/s: completion tokens over the decode time the server reported.
  static double Rate(const TurnStats& stats) {
    return stats.decode_seconds > 0
               ? static_cast<double>(stats.completion_tokens) / stats.decode_seconds
               : 0.0;
  }

  std::unique_ptr<minimind::v1::Inference::Stub> inference_;
  std::unique_ptr<minimind::v1::Sessions::Stub> sessions_;
  const minimind::v1::GenerateRequest request_template_;
  const int64_t ttl_seconds_;
  std::ostream& out_;
  std::ostream& err_;
  const bool interactive_;
  std::string session_id_;
  std::string system_prompt_;
  int64_t turns_ = 0;
  TurnStats last_;
  TurnStats total_;
};

}  // namespace

int RunChat(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
            std::ostream& err) {
  FlagSet flags{{"target", "system", "ttl"}, {}};
  AddSamplingFlags(flags);
  AddTlsFlags(flags);
  absl::StatusOr<CommandLine> command_line = CommandLine::Parse(args, flags);
  if (!command_line.ok()) {
    err << command_line.status().message() << "\n" << kChatUsage;
    return 2;
  }
  const std::optional<std::string> target = command_line->Value("target");
  if (!target.has_value() || target->empty()) {
    err << "--target HOST:PORT is required\n" << kChatUsage;
    return 2;
  }
  absl::StatusOr<int64_t> ttl = command_line->IntOr("ttl", 0);
  if (!ttl.ok() || *ttl < 0) {
    err << "--ttl must be a non-negative number of seconds\n";
    return 2;
  }
  minimind::v1::GenerateRequest request_template;
  if (absl::Status status = SetSamplingFields(*command_line, request_template); !status.ok()) {
    err << status.message() << "\n";
    return 2;
  }
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = ConnectToTarget(*target, *command_line);
  if (!channel.ok()) {
    err << channel.status().message() << "\n";
    return 2;
  }
  const bool interactive = ::isatty(STDIN_FILENO) == 1 && &in == &std::cin;
  ChatClient chat(*std::move(channel), std::move(request_template), *ttl, out, err, interactive);
  if (!chat.StartSession(command_line->Value("system").value_or(""))) return 1;
  if (interactive) out << "type /help for commands; Ctrl-C cancels a reply, Ctrl-D quits\n";
  LineReader reader(in, out, interactive);
  int exit_code = 0;
  while (true) {
    const std::optional<std::string> line = reader.Read("> ");
    if (!line.has_value()) break;
    absl::string_view text = absl::StripSuffix(*line, "\r");
    if (absl::StripAsciiWhitespace(text).empty()) continue;
    if (text == "/quit" || text == "/exit") break;
    if (text == "/help") {
      out << kChatHelp;
    } else if (text == "/reset") {
      if (!chat.StartSession(chat.system_prompt())) return 1;
      out << "[new conversation]\n";
    } else if (text == "/system" || absl::StartsWith(text, "/system ")) {
      const std::string system(absl::StripAsciiWhitespace(text.substr(7)));
      if (!chat.StartSession(system)) return 1;
      out << "[new conversation with system prompt: " << system << "]\n";
    } else if (text == "/fork") {
      (void)chat.Fork();
    } else if (text == "/stats") {
      chat.PrintStats();
    } else if (absl::StartsWith(text, "/")) {
      err << "unknown command " << text << " (try /help)\n";
    } else if (!chat.Turn(std::string(text))) {
      exit_code = 1;
    }
  }
  chat.EndSession();
  return exit_code;
}

}  // namespace minimind::cli
