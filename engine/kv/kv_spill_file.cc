#include "engine/kv/kv_spill_file.h"

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/base/crc32.h"

namespace minimind {
namespace {

constexpr char kMagic[8] = {'M', 'M', 'K', 'V', 'S', 'P', 'I', 'L'};
constexpr uint32_t kVersion = 1;
// magic, version, fingerprint, element type, block size, layers, kv heads, head dim, bytes per
// block, token count, block count.
constexpr size_t kHeaderBytes = 8 + 4 + 8 + 4 * 5 + 8 * 3;

template <typename T>
void Put(std::string& out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));  // The build targets are little-endian (x86-64).
  out.append(bytes, sizeof(T));
}

// Reads little-endian values from a byte string; every read is bounds-checked by the caller's
// size checks before it.
class Reader {
 public:
  explicit Reader(absl::string_view data) : data_(data) {}
  template <typename T>
  T Get() {
    T value;
    std::memcpy(&value, data_.data() + offset_, sizeof(T));
    offset_ += sizeof(T);
    return value;
  }
  size_t offset() const { return offset_; }

 private:
  absl::string_view data_;
  size_t offset_ = 0;
};

}  // namespace

std::string EncodeKvSpill(const KvSpillLayout& layout, absl::Span<const int32_t> tokens,
                          absl::Span<const std::byte> blocks) {
  const uint64_t num_blocks =
      layout.bytes_per_block > 0 ? blocks.size() / layout.bytes_per_block : 0;
  std::string out;
  out.reserve(kHeaderBytes + tokens.size() * 4 + 4 + blocks.size() + num_blocks * 4);
  out.append(kMagic, sizeof(kMagic));
  Put<uint32_t>(out, kVersion);
  Put<uint64_t>(out, layout.model_fingerprint);
  Put<uint32_t>(out, static_cast<uint32_t>(layout.element_type));
  Put<uint32_t>(out, static_cast<uint32_t>(layout.block_size));
  Put<uint32_t>(out, static_cast<uint32_t>(layout.shape.num_layers));
  Put<uint32_t>(out, static_cast<uint32_t>(layout.shape.num_kv_heads));
  Put<uint32_t>(out, static_cast<uint32_t>(layout.shape.head_dim));
  Put<uint64_t>(out, static_cast<uint64_t>(layout.bytes_per_block));
  Put<uint64_t>(out, tokens.size());
  Put<uint64_t>(out, num_blocks);
  for (const int32_t token : tokens) Put<int32_t>(out, token);
  Put<uint32_t>(out, Crc32(out.data(), out.size()));
  for (uint64_t b = 0; b < num_blocks; ++b) {
    const std::byte* block = blocks.data() + b * layout.bytes_per_block;
    out.append(reinterpret_cast<const char*>(block), layout.bytes_per_block);
    Put<uint32_t>(out, Crc32(block, layout.bytes_per_block));
  }
  return out;
}

absl::StatusOr<KvSpill> DecodeKvSpill(absl::string_view file, const KvSpillLayout& layout) {
  if (file.size() < kHeaderBytes || std::memcmp(file.data(), kMagic, sizeof(kMagic)) != 0) {
    return absl::DataLossError(
        absl::StrCat("not a KV spill file (", file.size(), " bytes, no MMKVSPIL header)"));
  }
  Reader reader(file.substr(sizeof(kMagic)));
  const uint32_t version = reader.Get<uint32_t>();
  if (version != kVersion) {
    return absl::DataLossError(absl::StrCat("KV spill file version ", version,
                                            "; this server "
                                            "reads version ",
                                            kVersion));
  }
  KvSpillLayout found;
  found.model_fingerprint = reader.Get<uint64_t>();
  found.element_type = static_cast<KvElementType>(reader.Get<uint32_t>());
  found.block_size = reader.Get<uint32_t>();
  found.shape.num_layers = reader.Get<uint32_t>();
  found.shape.num_kv_heads = reader.Get<uint32_t>();
  found.shape.head_dim = reader.Get<uint32_t>();
  found.bytes_per_block = static_cast<int64_t>(reader.Get<uint64_t>());
  const uint64_t num_tokens = reader.Get<uint64_t>();
  const uint64_t num_blocks = reader.Get<uint64_t>();
  // Sizes first (a torn or hostile header must not make us read past the end or overflow).
  const uint64_t rest = file.size() - kHeaderBytes;
  if (num_tokens > rest / 4 || found.bytes_per_block < 0 ||
      (found.bytes_per_block > 0 && num_blocks > rest / (found.bytes_per_block + 4)) ||
      rest != num_tokens * 4 + 4 + num_blocks * (found.bytes_per_block + 4)) {
    return absl::DataLossError(
        absl::StrCat("KV spill file is torn: ", file.size(), " bytes do not hold ", num_tokens,
                     " tokens and ", num_blocks, " blocks of ", found.bytes_per_block, " bytes"));
  }
  const size_t tokens_end = kHeaderBytes + num_tokens * 4;
  uint32_t header_crc;
  std::memcpy(&header_crc, file.data() + tokens_end, 4);
  if (header_crc != Crc32(file.data(), tokens_end)) {
    return absl::DataLossError("KV spill file is corrupt: its header or token ids fail their CRC");
  }
  if (!(found == layout)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "KV spill file of another model or layout (fingerprint ",
        absl::Hex(found.model_fingerprint), ", element type ", static_cast<int>(found.element_type),
        ", block size ", found.block_size, ", ", found.shape.num_layers, "x",
        found.shape.num_kv_heads, "x", found.shape.head_dim, "); this server's is fingerprint ",
        absl::Hex(layout.model_fingerprint), ", element type ",
        static_cast<int>(layout.element_type), ", block size ", layout.block_size, ", ",
        layout.shape.num_layers, "x", layout.shape.num_kv_heads, "x", layout.shape.head_dim));
  }
  KvSpill spill;
  spill.tokens.resize(num_tokens);
  if (num_tokens > 0) {  // memcpy from or to null is undefined even for 0 bytes
    std::memcpy(spill.tokens.data(), file.data() + kHeaderBytes, num_tokens * 4);
  }
  spill.blocks.resize(num_blocks * layout.bytes_per_block);
  size_t offset = tokens_end + 4;
  for (uint64_t b = 0; b < num_blocks; ++b) {
    const char* block = file.data() + offset;
    uint32_t crc;
    std::memcpy(&crc, block + layout.bytes_per_block, 4);
    if (crc != Crc32(block, layout.bytes_per_block)) {
      return absl::DataLossError(absl::StrCat("KV spill file is corrupt: block ", b, " of ",
                                              num_blocks, " fails its CRC"));
    }
    std::memcpy(spill.blocks.data() + b * layout.bytes_per_block, block, layout.bytes_per_block);
    offset += layout.bytes_per_block + 4;
  }
  return spill;
}

}  // namespace minimind
