// ServingModel and ModelSlot: the loaded model the RPCs serve, and where services find it.
//
// The server starts listening (health NOT_SERVING) before the model is loaded, so the services
// exist before the model does. They hold the ModelSlot; RPCs arriving before Publish fail with
// UNAVAILABLE "the model is still loading". Publish happens once; the ServingModel then lives
// until the server has shut down (it must outlive every call). Sessions live in the ServingModel
// too: their pin cap is a share of the model's KV pool.
//
// Draining (after SIGTERM): BeginDrain makes Get() refuse new calls with UNAVAILABLE "draining"
// while get() still serves the calls in flight (their sinks, Cancel).
//
// Thread-safety: Publish/get/BeginDrain are atomic (release/acquire); ServingModel is immutable
// except the Engine, which is itself thread-safe.
#ifndef MINIMIND_SERVICE_SERVING_MODEL_H_
#define MINIMIND_SERVICE_SERVING_MODEL_H_

#include <atomic>
#include <memory>
#include <utility>

#include "absl/status/statusor.h"
#include "engine/model/model_bundle.h"
#include "engine/scheduler/engine.h"
#include "service/generation/io_executor.h"
#include "service/request_conversion.h"
#include "service/sessions/kv_spill_store.h"
#include "service/sessions/session_reaper.h"
#include "service/sessions/session_store.h"

namespace minimind {

struct ServingModel {
  explicit ServingModel(ModelBundle loaded) : bundle(std::move(loaded)) {}

  ModelBundle bundle;
  std::unique_ptr<Engine> engine;          // References bundle.model and bundle.tokenizer.
  std::unique_ptr<PromptBuilder> prompts;  // References bundle.tokenizer and chat_template.
  // The KV spill tier (null when off). Uses the engine; destroyed after the store, which drops
  // KV into it.
  std::unique_ptr<KvSpillStore> kv_spill;
  // Created with the engine, since the pin cap is a share of the KV pool. Destroyed before the
  // engine (members are destroyed in reverse): released handles post to its release queue.
  std::unique_ptr<SessionStore> sessions;
  // Session turns' commits, off the engine thread. Destroyed before the store: it runs every
  // queued commit first (their leases belong to the store).
  std::unique_ptr<IoExecutor> commits;
  std::unique_ptr<SessionReaper> reaper;  // Last: stops before the store goes.
};

class ModelSlot {
 public:
  // `model` must stay alive and at the same address until the server stops.
  void Publish(ServingModel* model) { model_.store(model, std::memory_order_release); }
  ServingModel* get() const { return model_.load(std::memory_order_acquire); }
  // For a new call: UNAVAILABLE while nothing is published, or once the server drains.
  absl::StatusOr<ServingModel*> Get() const {
    if (draining()) {
      return absl::UnavailableError(
          "the server is draining (shutting down): it accepts no new calls; retry on another "
          "replica");
    }
    ServingModel* model = get();
    if (model == nullptr) return absl::UnavailableError("the model is still loading");
    return model;
  }

  void BeginDrain() { draining_.store(true, std::memory_order_release); }
  bool draining() const { return draining_.load(std::memory_order_acquire); }

 private:
  std::atomic<ServingModel*> model_{nullptr};
  std::atomic<bool> draining_{false};
};

}  // namespace minimind

#endif  // MINIMIND_SERVICE_SERVING_MODEL_H_
