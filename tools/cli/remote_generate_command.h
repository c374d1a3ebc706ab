// `minimind generate --target HOST:PORT`: one generation on a running minimind-server, for
// scripts: the prompt comes from --prompt or all of stdin, the text streams to stdout as the
// server sends it, and a one-line summary (tokens, cached tokens, TTFT, tok/s) goes to stderr.
//
// Also the pieces the other remote commands (chat, bench) share: turning the sampling flags into
// GenerateRequest fields (only the flags given are set, so the server's defaults apply to the
// rest) and the text of a failed RPC. The channel comes from remote_channel.h.
#ifndef MINIMIND_TOOLS_CLI_REMOTE_GENERATE_COMMAND_H_
#define MINIMIND_TOOLS_CLI_REMOTE_GENERATE_COMMAND_H_

#include <iosfwd>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"
#include "minimind/v1/inference.pb.h"
#include "tools/cli/command_line.h"

namespace minimind::cli {

inline constexpr char kRemoteGenerateUsage[] =
    "minimind generate --target HOST:PORT [--prompt TEXT] [--chat [--system TEXT]]\n"
    "    [--session ID] [--no-cache] [--tls-* flags] [sampling flags]\n"
    "  Generates on a running minimind-server from TEXT (or all of stdin) and streams the text\n"
    "  to stdout. --chat sends the prompt as one user message (rendered with the server model's\n"
    "  chat template); --session ID appends it as the next turn of that session. Prints tokens,\n"
    "  cached prompt tokens, time to first token and decode tok/s to stderr.\n";

// Runs the subcommand; returns the process exit code. Errors and the summary go to `err`.
int RunRemoteGenerate(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                      std::ostream& err);

// True if `args` name a server (--target), i.e. `generate` should run remotely.
bool HasTargetFlag(const std::vector<std::string>& args);

// Sets the GenerateRequest sampling fields of every sampling flag given (see sampling_flags.h;
// validated the same way, InvalidArgument naming the flag).
absl::Status SetSamplingFields(const CommandLine& command_line,
                               minimind::v1::GenerateRequest& request);

// "CODE: message" of a failed RPC.
std::string RpcErrorText(const grpc::Status& status);

}  // namespace minimind::cli

#endif  // MINIMIND_TOOLS_CLI_REMOTE_GENERATE_COMMAND_H_
