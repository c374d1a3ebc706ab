// minimind-server: serves one model over gRPC (package minimind.v1). Configuration by flags or
// MINIMIND_* environment variables (server_options.h, docs/service.md).
//
// Start-up: listen first (health NOT_SERVING), load the model, then SERVING. Prints
// "minimind-server listening on HOST:PORT" (the bound port, for --listen ...:0) and
// "minimind-server serving MODEL" on stdout. SIGTERM/SIGINT: drain (Server::Shutdown: health
// NOT_SERVING, new calls UNAVAILABLE, in-flight requests finish within --shutdown-grace, the rest
// end cancelled), print "minimind-server: drained ..." and exit 0 — or 3 if KV blocks were still
// in use after everything released its KV (a leak). SIGHUP: re-read --api-keys-file (TLS
// certificates are re-read from disk by themselves).
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "service/server.h"
#include "service/server_options.h"

namespace {

std::optional<std::string> GetEnv(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

int Run(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  for (const std::string& arg : args) {
    if (arg == "--help" || arg == "-h") {
      std::cout << minimind::ServerUsage();
      return 0;
    }
  }
  absl::StatusOr<minimind::ServerOptions> options = minimind::ParseServerOptions(args, GetEnv);
  if (!options.ok()) {
    std::cerr << "minimind-server: " << options.status().message() << "\n";
    return 2;
  }

  // Every thread started from here on inherits the mask, so only sigwait below sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::StatusOr<std::unique_ptr<minimind::Server>> server = minimind::Server::Start(*options);
  if (!server.ok()) {
    std::cerr << "minimind-server: " << server.status().message() << "\n";
    return 1;
  }
  const std::string host = options->listen.substr(0, options->listen.rfind(':'));
  std::cout << "minimind-server listening on " << host << ":" << (*server)->port() << std::endl;
  if ((*server)->http_port() != 0) {
    const std::string http_host = options->http_listen.substr(0, options->http_listen.rfind(':'));
    std::cout << "minimind-server HTTP API (OpenAI-compatible) on " << http_host << ":"
              << (*server)->http_port() << std::endl;
  }

  if (absl::Status loaded = (*server)->LoadModel(); !loaded.ok()) {
    std::cerr << "minimind-server: cannot serve " << options->model_path << ": " << loaded.message()
              << "\n";
    return 1;
  }
  std::cout << "minimind-server serving " << options->model_path << std::endl;

  int signal_number = 0;
  while (sigwait(&signals, &signal_number) == 0 && signal_number == SIGHUP) {
    // Reload the API keys; calls in flight keep their tenant, a bad file keeps the old keys.
    if (absl::Status reloaded = (*server)->ReloadApiKeys(); reloaded.ok()) {
      std::cout << "minimind-server: SIGHUP: API keys reloaded" << std::endl;
    } else {
      std::cerr << "minimind-server: SIGHUP: keeping the previous API keys: " << reloaded.message()
                << std::endl;
    }
  }
  std::cout << "minimind-server: signal " << signal_number << ", draining for "
            << absl::FormatDuration(options->shutdown_grace) << std::endl;
  const minimind::DrainReport report = (*server)->Shutdown(options->shutdown_grace);
  (*server)->Wait();
  std::cout << "minimind-server: drained in " << absl::FormatDuration(report.took) << ": "
            << report.in_flight << " requests in flight, " << report.in_flight - report.cancelled
            << " finished, " << report.cancelled
            << " cancelled at the grace limit; KV blocks in use " << report.kv_blocks_in_use
            << std::endl;
  if (report.sessions_saved >= 0) {
    std::cout << "minimind-server: saved " << report.sessions_saved << " sessions to "
              << options->session_state_file << std::endl;
  }
  return report.kv_blocks_in_use > 0 ? 3 : 0;
}

}  // namespace

int main(int argc, char** argv) { return Run(argc, argv); }
