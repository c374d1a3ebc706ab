// KvSpillStore: the KV spill tier (--kv-spill-dir, --kv-spill-budget). A session whose KV the
// session store drops under its pin cap has the KV written to a file here instead of losing it;
// the session's next turn restores the blocks into the engine and prefills only its new tokens,
// with output bitwise the same as a recompute. Files outlive the process: a server restarted with
// the same model (and sessions that outlived it: --session-store redis://) resumes them too.
//
// Files: DIR/<session id>.kv in the spill file format (engine/kv/kv_spill_file.h), written to a
// temporary name and renamed, so a crash never leaves a half-written file under the real name.
// The total size stays within the byte budget: after each write the least recently used files
// (spilled or restored longest ago) are deleted. Restore checks everything before trusting a file:
// a torn or corrupt one (DataLoss) is counted and deleted, one of another model, KV element type or
// layout (FailedPrecondition) is counted and left alone, one whose tokens are not a prefix of the
// session's is stale and deleted; each answers null and the turn recomputes, never wrong KV.
//
// Threads: Spill never blocks (a writer thread copies the blocks out, without the engine, encodes
// and writes); Restore blocks its caller on a file read and an engine import, so callers run it
// off the engine thread and off gRPC's callback threads (the session-calls executor). Every method
// is thread-safe. The engine (through the export/import functions) must outlive the store.
#ifndef MINIMIND_SERVICE_SESSIONS_KV_SPILL_STORE_H_
#define MINIMIND_SERVICE_SESSIONS_KV_SPILL_STORE_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "engine/kv/kv_spill_file.h"

namespace minimind {

class KvHandle;

struct KvSpillOptions {
  std::string dir;           // created if missing
  int64_t budget_bytes = 0;  // > 0
  KvSpillLayout layout;      // this server's model and KV layout
  // Engine::ExportKv and Engine::ImportKv (tests inject fakes).
  std::function<absl::StatusOr<KvSpill>(const KvHandle&)> export_kv;
  std::function<absl::StatusOr<std::shared_ptr<const KvHandle>>(KvSpill)> import_kv;
};

// Counters since start; files/bytes are current values.
struct KvSpillStats {
  int64_t files = 0;
  int64_t bytes = 0;
  int64_t budget_bytes = 0;
  int64_t spilled_files = 0;
  int64_t spilled_bytes = 0;
  int64_t restored_files = 0;
  int64_t restored_bytes = 0;
  int64_t restore_misses = 0;  // no file for the session
  int64_t corrupt_files = 0;   // torn or CRC mismatch: deleted
  int64_t foreign_files = 0;   // another model or layout: ignored
  int64_t stale_files = 0;     // tokens no longer a prefix of the session's: deleted
  int64_t write_errors = 0;    // e.g. ENOSPC: nothing kept
  int64_t evicted_files = 0;   // deleted to stay within the budget
  double restore_seconds = 0;  // sum over restored files (read, check, import)
};

class KvSpillStore {
 public:
  // InvalidArgument for an empty dir, a non-positive budget or missing functions; Unavailable when
  // the directory cannot be created. Indexes the files already there (a restart).
  static absl::StatusOr<std::unique_ptr<KvSpillStore>> Open(KvSpillOptions options);

  KvSpillStore(const KvSpillStore&) = delete;
  KvSpillStore& operator=(const KvSpillStore&) = delete;
  // Finishes the writes already queued, then stops.
  ~KvSpillStore();

  // Queues `kv` of session `id` to be written (replacing the session's older file). Never blocks.
  void Spill(std::string id, std::shared_ptr<const KvHandle> kv);

  // The session's spilled KV, imported into the engine, if its file is sound, of this model and
  // layout, and holds a prefix of `tokens`; null otherwise (see the class comment). The file stays
  // (a later drop may need it again; the budget bounds it).
  std::shared_ptr<const KvHandle> Restore(absl::string_view id, absl::Span<const int32_t> tokens);

  // Deletes the session's file (the session is gone).
  void Forget(absl::string_view id);

  // A file for session `id` is in the directory (written, not yet removed). What the chat page's
  // cache view shows as "on disk"; Restore may still refuse it (another model, torn).
  bool Holds(absl::string_view id) const;

  // Waits until every queued write is done, or `timeout` passed; true when done.
  bool Flush(absl::Duration timeout);

  KvSpillStats stats() const;

 private:
  explicit KvSpillStore(KvSpillOptions options);
  void Index();
  void Write();
  std::string PathOf(absl::string_view id) const;
  // Deletes the least recently used files until the total fits the budget (mutex_ held).
  void EvictLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void RemoveLocked(const std::string& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  struct FileEntry {
    int64_t bytes = 0;
    uint64_t last_use = 0;  // larger = more recent
  };
  struct Job {
    std::string id;
    std::shared_ptr<const KvHandle> kv;
  };

  const KvSpillOptions options_;
  mutable absl::Mutex mutex_;
  absl::flat_hash_map<std::string, FileEntry> files_ ABSL_GUARDED_BY(mutex_);
  int64_t total_bytes_ ABSL_GUARDED_BY(mutex_) = 0;
  uint64_t use_clock_ ABSL_GUARDED_BY(mutex_) = 0;
  std::deque<Job> jobs_ ABSL_GUARDED_BY(mutex_);
  bool writing_ ABSL_GUARDED_BY(mutex_) = false;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  KvSpillStats stats_ ABSL_GUARDED_BY(mutex_);
  std::thread writer_;  // last: started once everything else exists
};

}  // namespace minimind

#endif  // MINIMIND_SERVICE_SESSIONS_KV_SPILL_STORE_H_
