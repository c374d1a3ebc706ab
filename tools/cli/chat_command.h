// `minimind chat --target HOST:PORT`: an interactive terminal chat with a running minimind-server.
// The conversation lives in a server session (Sessions service), so each turn sends only the new
// user message and the server reuses the session's KV. Replies stream as tokens arrive.
//
// Commands: /reset (new session, same system prompt), /system TEXT (new session with that system
// prompt), /fork (branch: continue in a copy of the session), /stats (session tokens, cached
// prompt tokens, decode tok/s), /help, /quit. The session is deleted on exit.
#ifndef MINIMIND_TOOLS_CLI_CHAT_COMMAND_H_
#define MINIMIND_TOOLS_CLI_CHAT_COMMAND_H_

#include <iosfwd>
#include <string>
#include <vector>

namespace minimind::cli {

inline constexpr char kChatUsage[] =
    "minimind chat --target HOST:PORT [--system TEXT] [--ttl SECONDS] [--tls-* flags]\n"
    "    [sampling flags]\n"
    "  Interactive chat with a running minimind-server, one line per user message. The\n"
    "  conversation is a server session: /reset starts over, /system TEXT starts over with a\n"
    "  new system prompt, /fork branches the conversation, /stats shows tokens, cached tokens\n"
    "  and tok/s, /quit (or end of input) leaves.\n";

// Runs the subcommand; returns the process exit code. Prompts ("> ") are written to `out` only
// when stdin is a terminal.
int RunChat(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
            std::ostream& err);

}  // namespace minimind::cli

#endif  // MINIMIND_TOOLS_CLI_CHAT_COMMAND_H_
