// TurnInterrupt: while alive, Ctrl-C (SIGINT) cancels the current gRPC call instead of ending the
// program: the handler only sets a flag (async-signal-safe); a watcher thread sees it and calls
// ClientContext::TryCancel. The previous SIGINT disposition is restored on destruction, so Ctrl-C
// at the prompt still quits. One at a time per process.
#ifndef MINIMIND_TOOLS_CLI_TURN_INTERRUPT_H_
#define MINIMIND_TOOLS_CLI_TURN_INTERRUPT_H_

#include <signal.h>

#include <atomic>
#include <thread>

#include "grpcpp/client_context.h"

namespace minimind::cli {

class TurnInterrupt {
 public:
  explicit TurnInterrupt(grpc::ClientContext& context);
  TurnInterrupt(const TurnInterrupt&) = delete;
  TurnInterrupt& operator=(const TurnInterrupt&) = delete;
  ~TurnInterrupt();

  // True once Ctrl-C cancelled the call.
  bool interrupted() const;

 private:
  struct sigaction previous_ {};
  std::atomic<bool> stop_{false};
  std::thread watcher_;
};

}  // namespace minimind::cli

#endif  // MINIMIND_TOOLS_CLI_TURN_INTERRUPT_H_
