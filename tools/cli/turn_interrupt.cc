#include "tools/cli/turn_interrupt.h"

#include <chrono>

namespace minimind::cli {
namespace {

std::atomic<bool> g_interrupted{false};

void OnInterrupt(int) { g_interrupted.store(true, std::memory_order_relaxed); }

}  // namespace

TurnInterrupt::TurnInterrupt(grpc::ClientContext& context) {
  g_interrupted.store(false, std::memory_order_relaxed);
  struct sigaction action {};
  action.sa_handler = OnInterrupt;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, &previous_);
  watcher_ = std::thread([this, &context] {
    while (!stop_.load(std::memory_order_relaxed)) {
      if (g_interrupted.load(std::memory_order_relaxed)) {
        context.TryCancel();
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
}

TurnInterrupt::~TurnInterrupt() {
  stop_.store(true, std::memory_order_relaxed);
  watcher_.join();
  sigaction(SIGINT, &previous_, nullptr);
}

bool TurnInterrupt::interrupted() const { return g_interrupted.load(std::memory_order_relaxed); }

}  // namespace minimind::cli
