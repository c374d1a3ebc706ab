// The KV spill file: one sequence's KV blocks (KvCache::ExportBlocks) with what is needed to trust
// them again — which model and layout they belong to and which tokens they hold — so a session's
// KV can leave the pool (memory pressure, a restart) and come back bit for bit, or be refused.
//
// Layout (little-endian):
//   header  magic "MMKVSPIL" | u32 version (1) | u64 model fingerprint | u32 element type
//           | u32 block size | u32 layers | u32 kv heads | u32 head dim | u64 bytes per block
//           | u64 token count | u64 block count
//   tokens  i32 × token count
//   u32 CRC-32 (zlib) of header + tokens
//   blocks  per block: its bytes (bytes per block), then u32 CRC-32 of them
// The file ends there: a longer or shorter file is torn.
//
// Decoding never trusts the file: DataLoss for a file that is not one (magic, version), torn
// (sizes) or corrupt (a CRC, naming the part); FailedPrecondition for a sound file of another
// model, element type or layout (it is not ours to use). Pure functions; thread-safe.
#ifndef MINIMIND_ENGINE_KV_KV_SPILL_FILE_H_
#define MINIMIND_ENGINE_KV_KV_SPILL_FILE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "engine/kernels/attention.h"
#include "engine/model/kv_sequence.h"

namespace minimind {

// What a spill file must match to be used: the model (a fingerprint of its weights and config,
// chosen by the caller) and the KV layout of the pool it goes back into.
struct KvSpillLayout {
  uint64_t model_fingerprint = 0;
  KvElementType element_type = KvElementType::kF32;
  int64_t block_size = 0;
  KvShape shape;
  int64_t bytes_per_block = 0;  // KvCache::ExportedBlockBytes()

  friend bool operator==(const KvSpillLayout&, const KvSpillLayout&) = default;
};

struct KvSpill {
  std::vector<int32_t> tokens;    // whose KV the blocks hold, in order
  std::vector<std::byte> blocks;  // ExportBlocks' layout
};

// The file's bytes. `blocks` must be a whole number of layout.bytes_per_block.
std::string EncodeKvSpill(const KvSpillLayout& layout, absl::Span<const int32_t> tokens,
                          absl::Span<const std::byte> blocks);

// The tokens and blocks of `file` if it was written for `layout`; errors as above.
absl::StatusOr<KvSpill> DecodeKvSpill(absl::string_view file, const KvSpillLayout& layout);

}  // namespace minimind

#endif  // MINIMIND_ENGINE_KV_KV_SPILL_FILE_H_
