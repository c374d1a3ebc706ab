#include "tools/cli/remote_generate_command.h"

#include <chrono>
#include <iostream>
#include <iterator>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "grpcpp/client_context.h"
#include "minimind/v1/inference.grpc.pb.h"
#include "tools/cli/remote_channel.h"
#include "tools/cli/sampling_flags.h"
#include "tools/cli/session_routing.h"

namespace minimind::cli {
namespace {

constexpr const char* kStatusCodeNames[] = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};

const char* FinishReasonName(minimind::v1::FinishReason reason) {
  switch (reason) {
    case minimind::v1::FINISH_REASON_STOP:
      return "stop";
    case minimind::v1::FINISH_REASON_LENGTH:
      return "length";
    case minimind::v1::FINISH_REASON_STOP_SEQUENCE:
      return "stop_sequence";
    case minimind::v1::FINISH_REASON_CANCELLED:
      return "cancelled";
    default:
      return "unspecified";
  }
}

}  // namespace

bool HasTargetFlag(const std::vector<std::string>& args) {
  for (const std::string& arg : args) {
    if (arg == "--target" || arg.rfind("--target=", 0) == 0) return true;
  }
  return false;
}

std::string RpcErrorText(const grpc::Status& status) {
  const int code = static_cast<int>(status.error_code());
  const char* name = code >= 0 && code < static_cast<int>(std::size(kStatusCodeNames))
                         ? kStatusCodeNames[code]
                         : "UNKNOWN";
  return absl::StrCat(name, ": ", status.error_message());
}

absl::Status SetSamplingFields(const CommandLine& command_line,
                               minimind::v1::GenerateRequest& request) {
  // Validate with the local rules first, then copy only what was given.
  absl::StatusOr<SamplingParams> params = SamplingParamsFrom(command_line);
  if (!params.ok()) return params.status();
  if (params->max_tokens.has_value()) request.set_max_tokens(*params->max_tokens);
  if (command_line.Has("temperature")) request.set_temperature(params->temperature);
  if (command_line.Has("top-k")) request.set_top_k(params->top_k);
  if (command_line.Has("top-p")) request.set_top_p(params->top_p);
  if (command_line.Has("min-p")) request.set_min_p(params->min_p);
  if (command_line.Has("repetition-penalty")) {
    request.set_repetition_penalty(params->repetition_penalty);
  }
  if (command_line.Has("presence-penalty")) request.set_presence_penalty(params->presence_penalty);
  if (command_line.Has("frequency-penalty")) {
    request.set_frequency_penalty(params->frequency_penalty);
  }
  if (params->seed.has_value()) request.set_seed(*params->seed);
  for (const std::string& stop : params->stop) request.add_stop(stop);
  for (const TokenId id : params->stop_token_ids) request.add_stop_token_ids(id);
  if (params->ignore_eos) request.set_ignore_eos(true);
  return absl::OkStatus();
}

int RunRemoteGenerate(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                      std::ostream& err) {
  FlagSet flags{{"target", "prompt", "system", "session"}, {"chat", "no-cache"}};
  AddSamplingFlags(flags);
  AddTlsFlags(flags);
  absl::StatusOr<CommandLine> command_line = CommandLine::Parse(args, flags);
  if (!command_line.ok()) {
    err << command_line.status().message() << "\n" << kRemoteGenerateUsage;
    return 2;
  }
  const std::optional<std::string> target = command_line->Value("target");
  if (!target.has_value() || target->empty()) {
    err << "--target HOST:PORT is required\n" << kRemoteGenerateUsage;
    return 2;
  }
  minimind::v1::GenerateRequest request;
  if (absl::Status status = SetSamplingFields(*command_line, request); !status.ok()) {
    err << status.message() << "\n";
    return 2;
  }
  std::string prompt;
  if (std::optional<std::string> text = command_line->Value("prompt"); text.has_value()) {
    prompt = *text;
  } else {
    prompt.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const std::optional<std::string> session = command_line->Value("session");
  const bool chat = command_line->Has("chat") || session.has_value();
  if (command_line->Has("system") && !command_line->Has("chat")) {
    err << "--system needs --chat\n";
    return 2;
  }
  if (chat) {
    if (std::optional<std::string> system = command_line->Value("system"); system.has_value()) {
      minimind::v1::ChatMessage* message = request.mutable_messages()->add_messages();
      message->set_role("system");
      message->set_content(*system);
    }
    minimind::v1::ChatMessage* message = request.mutable_messages()->add_messages();
    message->set_role("user");
    message->set_content(prompt);
  } else {
    request.set_prompt(prompt);
  }
  if (session.has_value()) request.set_session_id(*session);
  if (command_line->Has("no-cache")) request.set_use_cache(false);

  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = ConnectToTarget(*target, *command_line);
  if (!channel.ok()) {
    err << channel.status().message() << "\n";
    return 2;
  }
  auto stub = minimind::v1::Inference::NewStub(*channel);
  grpc::ClientContext context;
  if (session.has_value()) RouteBySession(context, *session);
  const auto start = std::chrono::steady_clock::now();
  std::unique_ptr<grpc::ClientReader<minimind::v1::GenerateResponse>> reader =
      stub->Generate(&context, request);
  minimind::v1::GenerateResponse response;
  minimind::v1::GenerateResponse last;
  std::optional<std::chrono::steady_clock::time_point> first_token;
  while (reader->Read(&response)) {
    if (!first_token.has_value() && response.token_ids_size() > 0) {
      first_token = std::chrono::steady_clock::now();
    }
    out << response.text() << std::flush;
    if (response.has_usage() ||
        response.finish_reason() != minimind::v1::FINISH_REASON_UNSPECIFIED) {
      last = response;
    }
  }
  const grpc::Status status = reader->Finish();
  const auto end = std::chrono::steady_clock::now();
  out << "\n" << std::flush;
  if (!status.ok()) {
    err << "error: " << RpcErrorText(status) << "\n";
    return 1;
  }
  const minimind::v1::Usage& usage = last.usage();
  const double wall = std::chrono::duration<double>(end - start).count();
  const double decode = usage.timing().decode_seconds();
  err << absl::StrFormat(
      "finish: %s | prompt %d tokens (%d cached) | completion %d tokens | ttft %.1f ms (server "
      "%.1f ms) | decode %.1f tok/s | wall %.3f s\n",
      FinishReasonName(last.finish_reason()), usage.prompt_tokens(), usage.cached_prompt_tokens(),
      usage.completion_tokens(),
      first_token.has_value()
          ? std::chrono::duration<double, std::milli>(*first_token - start).count()
          : 0.0,
      usage.timing().time_to_first_token_seconds() * 1e3,
      decode > 0 && usage.completion_tokens() > 1 ? (usage.completion_tokens() - 1) / decode : 0.0,
      wall);
  return 0;
}

}  // namespace minimind::cli
