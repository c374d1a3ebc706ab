// DType: the element types weights may be stored in (compute is always f32). Shared by the
// checkpoint readers (engine/model) and the kernels that read weights in place (engine/kernels),
// so neither depends on the other for it.
//
// F32, F16 and BF16 are element-wise: a row of `cols` values is cols * DTypeSize bytes. Q8 is
// blocked (like llama.cpp's Q8_0, with an f32 scale): each row is split into blocks of
// kQ8BlockSize = 32 consecutive values, the last one zero-padded, and each block is stored as
//   float scale;        // little-endian f32, max |w| over the block / 127 (+0 for an all-zero
//   block) int8_t values[32];  // q[i] = round_half_even(w[i] / scale), in [-127, 127]
// so a row takes RowBytes(kQ8, cols) = ceil(cols / 32) * 36 bytes, rows follow one another, and
// the value a weight stands for is float(q[i]) * scale (one f32 multiply). No file format stores
// Q8: it is made at load (engine/model/weight_conversion.h) and lives in memory only.
// Q8A8 holds blocks of 32 as llama.cpp's Q8_0 does — an f16 scale f16(amax / 127) and int8
// values q = round_half_even(w / scale) — arranged for int8 x int8 products with the outputs in
// vector lanes (its matmul quantizes the activations to 8 bits as well; matmul_q8a8.h). The rows
// go in groups of 16 (the last group may be narrower: its width is the rows left); a group of
// width W holds its blocks in order, each as
//   uint16_t scale[W];      // f16 bits, one per row of the group
//   uint8_t codes[8][4 W];  // codes[k][4 j + t] = q + 128 of row j, value 4 k + t of the block
// (the layout of AVX-512 VNNI's and AMX's byte operands: 4 consecutive values of one row per
// 32-bit lane), a partial last block padded with q = 0. Each row takes RowBytes(kQ8A8, cols) =
// ceil(cols / 32) * 34 bytes (1.0625 per weight) but rows are not contiguous: a group of W rows
// takes W rows' bytes.
#ifndef MINIMIND_ENGINE_BASE_DTYPE_H_
#define MINIMIND_ENGINE_BASE_DTYPE_H_

#include <cstddef>
#include <cstdint>

namespace minimind {

enum class DType : uint8_t { kF32, kF16, kBF16, kQ8, kQ8A8 };

inline constexpr int64_t kQ8BlockSize = 32;
inline constexpr int64_t kQ8BlockBytes = sizeof(float) + kQ8BlockSize;

// Stored in Q8 blocks (Q8 and Q8A8).
inline bool IsQ8Blocked(DType dtype) { return dtype == DType::kQ8 || dtype == DType::kQ8A8; }

// Bytes per element of the element-wise types; for Q8 the int8 value alone (1): its rows also
// hold the scales, so size Q8 data with RowBytes.
inline size_t DTypeSize(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return 4;
    case DType::kF16:
    case DType::kBF16:
      return 2;
    case DType::kQ8:
    case DType::kQ8A8:
      return 1;
  }
  return 4;
}

// Bytes of one stored row of `cols` values (a matrix holds rows * RowBytes).
inline int64_t RowBytes(DType dtype, int64_t cols) {
  if (dtype == DType::kQ8) return (cols + kQ8BlockSize - 1) / kQ8BlockSize * kQ8BlockBytes;
  if (dtype == DType::kQ8A8) {
    return (cols + kQ8BlockSize - 1) / kQ8BlockSize * (sizeof(uint16_t) + kQ8BlockSize);
  }
  return cols * static_cast<int64_t>(DTypeSize(dtype));
}

// "F32", "F16", "BF16" (safetensors spelling), "Q8", "Q8A8".
const char* DTypeName(DType dtype);

}  // namespace minimind

#endif  // MINIMIND_ENGINE_BASE_DTYPE_H_
