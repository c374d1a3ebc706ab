#include "service/sessions/kv_spill_store.h"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "engine/scheduler/kv_handle.h"
#include "service/sessions/file_io.h"

namespace minimind {
namespace {

constexpr absl::string_view kSuffix = ".kv";
constexpr absl::string_view kTemporarySuffix = ".kv.tmp";

}  // namespace

absl::StatusOr<std::unique_ptr<KvSpillStore>> KvSpillStore::Open(KvSpillOptions options) {
  if (options.dir.empty()) return absl::InvalidArgumentError("the KV spill directory is empty");
  if (options.budget_bytes <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("the KV spill budget must be positive, got ", options.budget_bytes));
  }
  if (!options.export_kv || !options.import_kv) {
    return absl::InvalidArgumentError("the KV spill store needs the engine's export and import");
  }
  std::error_code error;
  std::filesystem::create_directories(options.dir, error);
  if (error || !std::filesystem::is_directory(options.dir)) {
    return absl::UnavailableError(
        absl::StrCat("cannot create the KV spill directory ", options.dir, ": ", error.message()));
  }
  std::unique_ptr<KvSpillStore> store(new KvSpillStore(std::move(options)));
  store->Index();
  store->writer_ = std::thread([raw = store.get()] { raw->Write(); });
  return store;
}

KvSpillStore::KvSpillStore(KvSpillOptions options) : options_(std::move(options)) {
  stats_.budget_bytes = options_.budget_bytes;
}

KvSpillStore::~KvSpillStore() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  if (writer_.joinable()) writer_.join();
}

std::string KvSpillStore::PathOf(absl::string_view id) const {
  return (std::filesystem::path(options_.dir) / absl::StrCat(id, kSuffix)).string();
}

void KvSpillStore::Index() {
  struct Found {
    std::string id;
    int64_t bytes;
    std::filesystem::file_time_type time;
  };
  std::vector<Found> found;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(options_.dir, error)) {
    const std::string name = entry.path().filename().string();
    if (absl::EndsWith(name, kTemporarySuffix)) {  // a write that never finished
      std::filesystem::remove(entry.path(), error);
      continue;
    }
    if (!absl::EndsWith(name, kSuffix) || !entry.is_regular_file(error)) continue;
    found.push_back({name.substr(0, name.size() - kSuffix.size()),
                     static_cast<int64_t>(entry.file_size(error)), entry.last_write_time(error)});
  }
  std::sort(found.begin(), found.end(),
            [](const Found& a, const Found& b) { return a.time < b.time; });
  absl::MutexLock lock(&mutex_);
  for (const Found& file : found) {
    files_[file.id] = FileEntry{file.bytes, ++use_clock_};
    total_bytes_ += file.bytes;
  }
  EvictLocked();
}

void KvSpillStore::Spill(std::string id, std::shared_ptr<const KvHandle> kv) {
  if (kv == nullptr) return;
  absl::MutexLock lock(&mutex_);
  for (Job& job : jobs_) {
    if (job.id == id) {  // A newer KV of the same session replaces the queued one.
      job.kv = std::move(kv);
      return;
    }
  }
  jobs_.push_back({std::move(id), std::move(kv)});
}

void KvSpillStore::Write() {
  while (true) {
    Job job;
    {
      absl::MutexLock lock(&mutex_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
        return !jobs_.empty() || stopping_;
      };
      mutex_.Await(absl::Condition(&ready));
      if (jobs_.empty()) return;  // Stopping, and every queued write is done.
      job = std::move(jobs_.front());
      jobs_.pop_front();
      writing_ = true;
    }
    absl::StatusOr<KvSpill> spill = options_.export_kv(*job.kv);
    job.kv.reset();  // The blocks go back to the pool as soon as they are copied.
    absl::Status status = spill.status();
    std::string file;
    if (status.ok()) {
      file = EncodeKvSpill(options_.layout, spill->tokens, spill->blocks);
      if (static_cast<int64_t>(file.size()) > options_.budget_bytes) {
        status = absl::ResourceExhaustedError("the spill file is larger than the whole budget");
      }
    }
    if (status.ok()) status = WriteFileAtomically(PathOf(job.id), file);
    absl::MutexLock lock(&mutex_);
    writing_ = false;
    if (!status.ok()) {
      ++stats_.write_errors;
      continue;
    }
    FileEntry& entry = files_[job.id];
    total_bytes_ += static_cast<int64_t>(file.size()) - entry.bytes;
    entry = FileEntry{static_cast<int64_t>(file.size()), ++use_clock_};
    ++stats_.spilled_files;
    stats_.spilled_bytes += static_cast<int64_t>(file.size());
    EvictLocked();
  }
}

void KvSpillStore::EvictLocked() {
  while (total_bytes_ > options_.budget_bytes && !files_.empty()) {
    auto oldest = std::min_element(files_.begin(), files_.end(), [](const auto& a, const auto& b) {
      return a.second.last_use < b.second.last_use;
    });
    const std::string id = oldest->first;  // RemoveLocked erases the entry that holds the key
    RemoveLocked(id);
    ++stats_.evicted_files;
  }
}

void KvSpillStore::RemoveLocked(const std::string& id) {
  auto it = files_.find(id);
  if (it == files_.end()) return;
  total_bytes_ -= it->second.bytes;
  std::error_code error;
  std::filesystem::remove(PathOf(id), error);
  files_.erase(it);  // Last: `id` may be the erased entry's own key.
}

std::shared_ptr<const KvHandle> KvSpillStore::Restore(absl::string_view id,
                                                      absl::Span<const int32_t> tokens) {
  const absl::Time start = absl::Now();
  {
    absl::MutexLock lock(&mutex_);
    auto it = files_.find(id);
    if (it == files_.end()) {
      ++stats_.restore_misses;
      return nullptr;
    }
    it->second.last_use = ++use_clock_;
  }
  absl::StatusOr<std::string> file = ReadWholeFile(PathOf(id));
  absl::StatusOr<KvSpill> spill =
      file.ok() ? DecodeKvSpill(*file, options_.layout) : absl::StatusOr<KvSpill>(file.status());
  const std::string key(id);
  if (!spill.ok()) {
    absl::MutexLock lock(&mutex_);
    if (absl::IsFailedPrecondition(spill.status())) {
      ++stats_.foreign_files;  // Not ours to delete: another server's, or after a model change.
    } else {
      ++stats_.corrupt_files;
      RemoveLocked(key);
    }
    return nullptr;
  }
  if (spill->tokens.size() > tokens.size() ||
      !std::equal(spill->tokens.begin(), spill->tokens.end(), tokens.begin())) {
    absl::MutexLock lock(&mutex_);
    ++stats_.stale_files;
    RemoveLocked(key);
    return nullptr;
  }
  absl::StatusOr<std::shared_ptr<const KvHandle>> kv = options_.import_kv(*std::move(spill));
  absl::MutexLock lock(&mutex_);
  if (!kv.ok()) {  // The pool is full right now: recompute this time, keep the file.
    ++stats_.restore_misses;
    return nullptr;
  }
  ++stats_.restored_files;
  stats_.restored_bytes += static_cast<int64_t>(file->size());
  stats_.restore_seconds += absl::ToDoubleSeconds(absl::Now() - start);
  return *std::move(kv);
}

void KvSpillStore::Forget(absl::string_view id) {
  absl::MutexLock lock(&mutex_);
  for (auto it = jobs_.begin(); it != jobs_.end(); ++it) {
    if (it->id == id) {
      jobs_.erase(it);
      break;
    }
  }
  RemoveLocked(std::string(id));
}

bool KvSpillStore::Flush(absl::Duration timeout) {
  absl::MutexLock lock(&mutex_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return jobs_.empty() && !writing_; };
  return mutex_.AwaitWithTimeout(absl::Condition(&idle), timeout);
}

bool KvSpillStore::Holds(absl::string_view id) const {
  absl::MutexLock lock(&mutex_);
  return files_.contains(id);
}

KvSpillStats KvSpillStore::stats() const {
  absl::MutexLock lock(&mutex_);
  KvSpillStats stats = stats_;
  stats.files = static_cast<int64_t>(files_.size());
  stats.bytes = total_bytes_;
  return stats;
}

}  // namespace minimind
