#include "engine/kernels/matmul_q8a8.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "engine/base/dtype.h"
#include "engine/kernels/float_convert.h"
#include "engine/kernels/simd_target.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace minimind {
namespace {

// Rows per group of a Q8A8 matrix (dtype.h): the outputs one 16-lane register holds.
constexpr int64_t kGroupRows = 16;
// Bytes per row and block: an f16 scale and 32 codes.
constexpr int64_t kBlockRowBytes = sizeof(uint16_t) + kQ8BlockSize;
// A quantized activation block: f32 step, int32 -128 * Σ codes, 32 codes.
constexpr int64_t kInputBlockBytes = 2 * sizeof(float) + kQ8BlockSize;
constexpr int64_t kInputCodesOffset = 2 * sizeof(float);
// Stored codes are q + 128: the unsigned operand of vpdpbusd.
constexpr int kCodeBias = 128;

int64_t NumBlocks(int64_t cols) { return (cols + kQ8BlockSize - 1) / kQ8BlockSize; }

// Where row `row`'s block `block` lives in a [rows, cols] Q8A8 matrix: the block of its group
// (`width` rows), and the row's index j in the group.
struct BlockPlace {
  int64_t offset;  // of the group's block: width scales, then 8 x 4 * width codes
  int64_t width;
  int64_t j;
};
BlockPlace PlaceOf(int64_t row, int64_t rows, int64_t cols, int64_t block) {
  const int64_t group = row / kGroupRows;
  const int64_t width = std::min(kGroupRows, rows - group * kGroupRows);
  return {.offset = (group * kGroupRows * NumBlocks(cols) + block * width) * kBlockRowBytes,
          .width = width,
          .j = row % kGroupRows};
}
int64_t ScaleOffset(const BlockPlace& place) {
  return place.offset + place.j * static_cast<int64_t>(sizeof(uint16_t));
}
int64_t CodeOffset(const BlockPlace& place, int64_t i) {
  return place.offset + place.width * static_cast<int64_t>(sizeof(uint16_t)) +
         i / 4 * 4 * place.width + 4 * place.j + i % 4;
}

float LoadFloat(const unsigned char* at) {
  float value;
  std::memcpy(&value, at, sizeof(value));
  return value;
}
int32_t LoadInt(const unsigned char* at) {
  int32_t value;
  std::memcpy(&value, at, sizeof(value));
  return value;
}

// A stored block's scale, widened from f16 (exactly).
float StoredScale(const unsigned char* matrix, const BlockPlace& place) {
  uint16_t bits;
  std::memcpy(&bits, matrix + ScaleOffset(place), sizeof(bits));
  return F16ToF32(bits);
}

// A quantized activation block's head: its step and -128 * the sum of its codes.
void WriteInputBlockHead(float step, int32_t code_sum, unsigned char* out) {
  const int32_t correction = -kCodeBias * code_sum;
  std::memcpy(out, &step, sizeof(step));
  std::memcpy(out + sizeof(float), &correction, sizeof(correction));
}

enum class Path { kPortable, kAvx2, kVnni };

Path ChoosePath() {
  ChooseSimdTargetOnce();
#if defined(__x86_64__)
  static const bool vnni = __builtin_cpu_supports("avx512vnni") &&
                           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
  const std::string_view target = SimdTargetName();
  if (target == "AVX3" && vnni) return Path::kVnni;
  if (target == "AVX3" || target == "AVX2") return Path::kAvx2;
#endif
  return Path::kPortable;
}

// The header's activation quantization of one block of `count` <= 32 values (the rest zero),
// written as a quantized input block at `out`.
void QuantizeActivationBlock(const float* x, int64_t count, unsigned char* out) {
  float amax = 0.0f;
  for (int64_t i = 0; i < count; ++i) amax = std::max(amax, std::fabs(x[i]));
  const float step = amax / 127.0f;
  const float inverse = step != 0.0f ? 1.0f / step : 0.0f;
  int32_t sum = 0;
  for (int64_t i = 0; i < kQ8BlockSize; ++i) {
    const float q = i < count ? std::nearbyint(x[i] * inverse) : 0.0f;
    const auto code = static_cast<int8_t>(std::clamp(q, -127.0f, 127.0f));
    out[kInputCodesOffset + i] = static_cast<unsigned char>(code);
    sum += code;
  }
  WriteInputBlockHead(step, sum, out);
}

void QuantizeActivationsPortable(const float* x, int64_t cols, unsigned char* row) {
  for (int64_t block = 0; block < NumBlocks(cols); ++block) {
    const int64_t start = block * kQ8BlockSize;
    QuantizeActivationBlock(x + start, std::min(kQ8BlockSize, cols - start),
                            row + block * kInputBlockBytes);
  }
}

// The header's definition, one output at a time.
float DotPortable(const unsigned char* x, const WeightMatrix& weight, int64_t o) {
  const unsigned char* w = static_cast<const unsigned char*>(weight.data);
  float acc = 0.0f;
  for (int64_t block = 0; block < NumBlocks(weight.cols); ++block) {
    const BlockPlace place = PlaceOf(o, weight.rows, weight.cols, block);
    const unsigned char* input = x + block * kInputBlockBytes;
    int32_t sum = 0;
    for (int64_t i = 0; i < kQ8BlockSize; ++i) {
      sum += static_cast<int8_t>(input[kInputCodesOffset + i]) *
             (static_cast<int32_t>(w[CodeOffset(place, i)]) - kCodeBias);
    }
    acc = std::fma(static_cast<float>(sum), LoadFloat(input) * StoredScale(w, place), acc);
  }
  return acc;
}

// The rows of one call: quantized activations and where their outputs go.
struct Rows {
  const unsigned char* x;  // row r at x + r * x_row_bytes
  int64_t x_row_bytes;
  float* out;  // output o of row r at out[r * out_stride + o]
  int64_t out_stride;
};

// The weight groups of one call: group g's blocks from `data` + g * group_bytes; all have
// `width` rows (only a matrix's last group is narrower, and it is run alone).
struct Groups {
  const unsigned char* data;
  int64_t group_bytes;
  int64_t width;
  int64_t blocks;
  int64_t first_output;  // of the first group
  int64_t out_begin;     // outputs outside [out_begin, out_end) are not stored
  int64_t out_end;
};

}  // namespace

#if defined(__x86_64__)
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
namespace q8a8_avx2 {

// The 32 codes of one block of `x` (32 values), as QuantizeActivationBlock computes them.
inline __m256i BlockCodes(const float* x, float* step_out) {
  const __m256 magnitude = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  __m256 values[4];
  __m256 amax = _mm256_setzero_ps();
  for (int g = 0; g < 4; ++g) {
    values[g] = _mm256_loadu_ps(x + 8 * g);
    amax = _mm256_max_ps(amax, _mm256_and_ps(values[g], magnitude));
  }
  float lanes[8];
  _mm256_storeu_ps(lanes, amax);
  float block_max = 0.0f;
  for (const float lane : lanes) block_max = std::max(block_max, lane);
  const float step = block_max / 127.0f;
  *step_out = step;
  const __m256 inverse = _mm256_set1_ps(step != 0.0f ? 1.0f / step : 0.0f);
  __m256i words[4];
  for (int g = 0; g < 4; ++g) {
    const __m256 rounded = _mm256_round_ps(_mm256_mul_ps(values[g], inverse),
                                           _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    words[g] = _mm256_cvtps_epi32(
        _mm256_min_ps(_mm256_max_ps(rounded, _mm256_set1_ps(-127.0f)), _mm256_set1_ps(127.0f)));
  }
  // 4 x 8 int32 to 32 int8: the packs interleave 128-bit halves, the permute restores order.
  const __m256i packed = _mm256_packs_epi16(_mm256_packs_epi32(words[0], words[1]),
                                            _mm256_packs_epi32(words[2], words[3]));
  return _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// QuantizeActivationsPortable, the same bytes, whole blocks 8 lanes at a time.
void QuantizeRow(const float* x, int64_t cols, unsigned char* row) {
  for (int64_t block = 0; block < NumBlocks(cols); ++block) {
    const int64_t start = block * kQ8BlockSize;
    unsigned char* out = row + block * kInputBlockBytes;
    if (cols - start < kQ8BlockSize) {
      QuantizeActivationBlock(x + start, cols - start, out);
      continue;
    }
    float step;
    const __m256i codes = BlockCodes(x + start, &step);
    // Σ codes: bytes times 1 summed in pairs, the pairs in 32-bit lanes, the lanes.
    const __m256i pairs = _mm256_maddubs_epi16(_mm256_set1_epi8(1), codes);
    const __m256i quads = _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
    const __m128i half =
        _mm_add_epi32(_mm256_castsi256_si128(quads), _mm256_extracti128_si256(quads, 1));
    const __m128i two = _mm_add_epi32(half, _mm_shuffle_epi32(half, 0x4e));
    const __m128i one = _mm_add_epi32(two, _mm_shuffle_epi32(two, 0xb1));
    WriteInputBlockHead(step, _mm_cvtsi128_si32(one), out);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + kInputCodesOffset), codes);
  }
}

// Rows [0, kRows) of `rows` by one group of 16 weight rows, 8 outputs per half register:
// |x| times the weights with x's signs (vpmaddubsw's pair sums stay within int16: 2 * 127 * 127).
template <int kRows>
void Tile(const Rows& rows, const Groups& groups) {
  const __m256i bias = _mm256_set1_epi8(static_cast<char>(kCodeBias));
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[kRows][2];
  for (auto& row : acc) row[0] = row[1] = _mm256_setzero_ps();
  for (int64_t block = 0; block < groups.blocks; ++block) {
    const unsigned char* w = groups.data + block * kGroupRows * kBlockRowBytes;
    __m256i sums[kRows][2];
    for (auto& row : sums) row[0] = row[1] = _mm256_setzero_si256();
    for (int k = 0; k < 8; ++k) {
      const unsigned char* codes = w + kGroupRows * sizeof(uint16_t) + k * 4 * kGroupRows;
      __m256i signed_w[2];
      for (int h = 0; h < 2; ++h) {
        signed_w[h] = _mm256_xor_si256(
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes + 32 * h)), bias);
      }
      for (int a = 0; a < kRows; ++a) {
        const __m256i x4 = _mm256_set1_epi32(LoadInt(
            rows.x + a * rows.x_row_bytes + block * kInputBlockBytes + kInputCodesOffset + 4 * k));
        const __m256i magnitude = _mm256_abs_epi8(x4);
        for (int h = 0; h < 2; ++h) {
          const __m256i products =
              _mm256_maddubs_epi16(magnitude, _mm256_sign_epi8(signed_w[h], x4));
          sums[a][h] = _mm256_add_epi32(sums[a][h], _mm256_madd_epi16(products, ones));
        }
      }
    }
    __m256 scale_w[2];
    for (int h = 0; h < 2; ++h) {
      scale_w[h] = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 16 * h)));
    }
    for (int a = 0; a < kRows; ++a) {
      const __m256 scale_x =
          _mm256_set1_ps(LoadFloat(rows.x + a * rows.x_row_bytes + block * kInputBlockBytes));
      for (int h = 0; h < 2; ++h) {
        acc[a][h] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums[a][h]),
                                    _mm256_mul_ps(scale_x, scale_w[h]), acc[a][h]);
      }
    }
  }
  for (int a = 0; a < kRows; ++a) {
    float lanes[kGroupRows];
    _mm256_storeu_ps(lanes, acc[a][0]);
    _mm256_storeu_ps(lanes + 8, acc[a][1]);
    for (int64_t j = 0; j < kGroupRows; ++j) {
      const int64_t o = groups.first_output + j;
      if (o >= groups.out_begin && o < groups.out_end) rows.out[a * rows.out_stride + o] = lanes[j];
    }
  }
}

}  // namespace q8a8_avx2
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512dq,avx512vnni")
// GCC 12's _mm512_cvtepi32_ps passes _mm512_undefined_ps() (a self-initialized variable) as the
// unused merge source, which -Wmaybe-uninitialized reports in every caller.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
namespace q8a8_vnni {

// Rows [0, kRows) of `rows` by kGroups consecutive groups: per block, vpdpbusd multiplies the
// stored codes (q + 128, unsigned) by 4 of x's codes broadcast to every lane, starting from
// -128 * Σ x's codes, so each lane ends with the exact S_b of its output; then one fma per
// block and lane. One row (decode) splits each sum in two chains (even and odd 4-value steps,
// added at the end of the block: integers, so exact) to keep vpdpbusd's latency hidden.
template <int kRows, int kGroups>
void Tile(const Rows& rows, const Groups& groups) {
  constexpr int kChains = kRows == 1 ? 2 : 1;
  const int64_t width = groups.width;
  const __mmask64 code_mask =
      width == kGroupRows ? ~__mmask64{0} : (__mmask64{1} << (4 * width)) - 1;
  const __mmask16 scale_mask = static_cast<__mmask16>((1u << width) - 1);
  __m512 acc[kRows][kGroups];
  for (auto& row : acc) {
    for (__m512& lanes : row) lanes = _mm512_setzero_ps();
  }
  for (int64_t block = 0; block < groups.blocks; ++block) {
    const unsigned char* x[kRows];
    for (int a = 0; a < kRows; ++a) {
      x[a] = rows.x + a * rows.x_row_bytes + block * kInputBlockBytes;
    }
    __m512i sums[kRows][kGroups][kChains];
    for (int a = 0; a < kRows; ++a) {
      const __m512i correction = _mm512_set1_epi32(LoadInt(x[a] + sizeof(float)));
      for (int g = 0; g < kGroups; ++g) {
        sums[a][g][0] = correction;
        if constexpr (kChains == 2) sums[a][g][1] = _mm512_setzero_si512();
      }
    }
    const unsigned char* w = groups.data + block * width * kBlockRowBytes;
    for (int k = 0; k < 8; ++k) {
      __m512i codes[kGroups];
      for (int g = 0; g < kGroups; ++g) {
        codes[g] = _mm512_maskz_loadu_epi8(
            code_mask, w + g * groups.group_bytes + width * sizeof(uint16_t) + k * 4 * width);
      }
      for (int a = 0; a < kRows; ++a) {
        const __m512i x4 = _mm512_set1_epi32(LoadInt(x[a] + kInputCodesOffset + 4 * k));
        for (int g = 0; g < kGroups; ++g) {
          __m512i& sum = sums[a][g][k % kChains];
          sum = _mm512_dpbusd_epi32(sum, codes[g], x4);
        }
      }
    }
    __m512 scale_w[kGroups];
    for (int g = 0; g < kGroups; ++g) {
      scale_w[g] =
          _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(scale_mask, w + g * groups.group_bytes));
    }
    for (int a = 0; a < kRows; ++a) {
      const __m512 scale_x = _mm512_set1_ps(LoadFloat(x[a]));
      for (int g = 0; g < kGroups; ++g) {
        __m512i sum = sums[a][g][0];
        if constexpr (kChains == 2) sum = _mm512_add_epi32(sum, sums[a][g][1]);
        acc[a][g] =
            _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), _mm512_mul_ps(scale_x, scale_w[g]), acc[a][g]);
      }
    }
  }
  for (int g = 0; g < kGroups; ++g) {
    const int64_t first = groups.first_output + g * kGroupRows;
    const int64_t begin = std::clamp<int64_t>(groups.out_begin - first, 0, width);
    const int64_t end = std::clamp<int64_t>(groups.out_end - first, 0, width);
    const auto store_mask = static_cast<__mmask16>(((1u << end) - 1) & ~((1u << begin) - 1));
    for (int a = 0; a < kRows; ++a) {
      _mm512_mask_storeu_ps(rows.out + a * rows.out_stride + first, store_mask, acc[a][g]);
    }
  }
}

}  // namespace q8a8_vnni
#pragma GCC diagnostic pop
#pragma GCC pop_options
#endif

namespace {

using TileFunction = void (*)(const Rows&, const Groups&);

// Tiles of one instruction set: `rows` activation rows by `groups` weight groups sharing each
// load, and one row (decode) by `single_groups` groups (independent accumulators keep the units
// busy); the `_one` forms take one group (the remainder, or a narrower last group).
struct Tiles {
  int rows;
  int groups;
  TileFunction tile;
  TileFunction tile_one;
  int single_groups;
  TileFunction single;
  TileFunction single_one;
  bool any_width;  // takes a narrower last group (else the portable code does it)
};

#if defined(__x86_64__)
constexpr Tiles kVnniTiles{.rows = 4,
                           .groups = 2,
                           .tile = q8a8_vnni::Tile<4, 2>,
                           .tile_one = q8a8_vnni::Tile<4, 1>,
                           .single_groups = 4,
                           .single = q8a8_vnni::Tile<1, 4>,
                           .single_one = q8a8_vnni::Tile<1, 1>,
                           .any_width = true};
constexpr Tiles kAvx2Tiles{.rows = 2,
                           .groups = 1,
                           .tile = q8a8_avx2::Tile<2>,
                           .tile_one = q8a8_avx2::Tile<2>,
                           .single_groups = 1,
                           .single = q8a8_avx2::Tile<1>,
                           .single_one = q8a8_avx2::Tile<1>,
                           .any_width = false};
#endif

void RunPortable(const unsigned char* input, int64_t num_rows, const WeightMatrix& weight,
                 int64_t out_begin, int64_t out_end, float* out) {
  const int64_t x_row_bytes = Q8A8InputRowBytes(weight.cols);
  for (int64_t r = 0; r < num_rows; ++r) {
    for (int64_t o = out_begin; o < out_end; ++o) {
      out[r * weight.rows + o] = DotPortable(input + r * x_row_bytes, weight, o);
    }
  }
}

void RunTiles(const Tiles& tiles, const unsigned char* input, int64_t num_rows,
              const WeightMatrix& weight, int64_t out_begin, int64_t out_end, float* out) {
  const int64_t blocks = NumBlocks(weight.cols);
  const int64_t group_bytes = kGroupRows * blocks * kBlockRowBytes;
  const int64_t first_group = out_begin / kGroupRows;
  const int64_t end_group = (out_end + kGroupRows - 1) / kGroupRows;
  // Full groups run in tiles; a narrower last group alone.
  const bool narrow_last = weight.rows % kGroupRows != 0 && end_group * kGroupRows > weight.rows;
  const int64_t full_end = narrow_last ? end_group - 1 : end_group;
  const Rows all_rows{.x = input,
                      .x_row_bytes = Q8A8InputRowBytes(weight.cols),
                      .out = out,
                      .out_stride = weight.rows};
  const auto run = [&](TileFunction tile, int64_t r, int64_t group) {
    const Rows rows{.x = all_rows.x + r * all_rows.x_row_bytes,
                    .x_row_bytes = all_rows.x_row_bytes,
                    .out = out + r * weight.rows,
                    .out_stride = weight.rows};
    const Groups groups{
        .data = static_cast<const unsigned char*>(weight.data) + group * group_bytes,
        .group_bytes = group_bytes,
        .width = std::min(kGroupRows, weight.rows - group * kGroupRows),
        .blocks = blocks,
        .first_output = group * kGroupRows,
        .out_begin = out_begin,
        .out_end = out_end};
    tile(rows, groups);
  };
  const auto run_groups = [&](TileFunction tile, TileFunction tile_one, int group_step, int64_t r) {
    int64_t group = first_group;
    for (; group + group_step <= full_end; group += group_step) run(tile, r, group);
    for (; group < full_end; ++group) run(tile_one, r, group);
  };
  int64_t r = 0;
  for (; r + tiles.rows <= num_rows; r += tiles.rows) {
    run_groups(tiles.tile, tiles.tile_one, tiles.groups, r);
  }
  for (; r < num_rows; ++r) run_groups(tiles.single, tiles.single_one, tiles.single_groups, r);
  if (!narrow_last) return;
  const int64_t last_begin = std::max(out_begin, full_end * kGroupRows);
  if (!tiles.any_width) {
    RunPortable(input, num_rows, weight, last_begin, out_end, out);
    return;
  }
  for (r = 0; r < num_rows; ++r) run(tiles.single_one, r, full_end);
}

}  // namespace

void QuantizeRowQ8A8(const float* values, int64_t row, int64_t rows, int64_t cols, void* matrix) {
  unsigned char* bytes = static_cast<unsigned char*>(matrix);
  for (int64_t block = 0; block < NumBlocks(cols); ++block) {
    const BlockPlace place = PlaceOf(row, rows, cols, block);
    const int64_t start = block * kQ8BlockSize;
    const int64_t count = std::min(kQ8BlockSize, cols - start);
    float amax = 0.0f;
    for (int64_t i = 0; i < count; ++i) amax = std::max(amax, std::fabs(values[start + i]));
    const uint16_t bits = F32ToF16(amax / 127.0f);
    std::memcpy(bytes + ScaleOffset(place), &bits, sizeof(bits));
    const float scale = F16ToF32(bits);
    for (int64_t i = 0; i < kQ8BlockSize; ++i) {
      const float q = i < count && scale != 0.0f ? std::nearbyint(values[start + i] / scale) : 0.0f;
      bytes[CodeOffset(place, i)] =
          static_cast<unsigned char>(static_cast<int>(std::clamp(q, -127.0f, 127.0f)) + kCodeBias);
    }
  }
}

void DequantizeRowQ8A8(const WeightMatrix& weight, int64_t row, float* out) {
  const unsigned char* bytes = static_cast<const unsigned char*>(weight.data);
  for (int64_t block = 0; block < NumBlocks(weight.cols); ++block) {
    const BlockPlace place = PlaceOf(row, weight.rows, weight.cols, block);
    const float scale = StoredScale(bytes, place);
    for (int64_t i = 0; i < std::min(kQ8BlockSize, weight.cols - block * kQ8BlockSize); ++i) {
      const int code = static_cast<int>(bytes[CodeOffset(place, i)]) - kCodeBias;
      out[block * kQ8BlockSize + i] = static_cast<float>(code) * scale;
    }
  }
}

std::string_view Q8A8PathName() {
  switch (ChoosePath()) {
    case Path::kVnni:
      return "vnni";
    case Path::kAvx2:
      return "avx2";
    case Path::kPortable:
      return "portable";
  }
  return "portable";
}

int64_t Q8A8InputRowBytes(int64_t cols) { return NumBlocks(cols) * kInputBlockBytes; }

void QuantizeQ8A8Input(const float* x, int64_t cols, int64_t row_begin, int64_t row_end,
                       unsigned char* input) {
  const int64_t row_bytes = Q8A8InputRowBytes(cols);
  const Path path = ChoosePath();
  for (int64_t r = row_begin; r < row_end; ++r) {
#if defined(__x86_64__)
    if (path != Path::kPortable) {
      q8a8_avx2::QuantizeRow(x + r * cols, cols, input + r * row_bytes);
      continue;
    }
#endif
    QuantizeActivationsPortable(x + r * cols, cols, input + r * row_bytes);
  }
}

void MatMulQ8A8Quantized(const unsigned char* input, int64_t num_rows, const WeightMatrix& weight,
                         const float* bias, int64_t out_begin, int64_t out_end, float* out) {
  const Path path = ChoosePath();
  if (path == Path::kPortable) RunPortable(input, num_rows, weight, out_begin, out_end, out);
#if defined(__x86_64__)
  if (path == Path::kVnni) {
    RunTiles(kVnniTiles, input, num_rows, weight, out_begin, out_end, out);
  } else if (path == Path::kAvx2) {
    RunTiles(kAvx2Tiles, input, num_rows, weight, out_begin, out_end, out);
  }
#endif
  if (bias != nullptr) {
    for (int64_t r = 0; r < num_rows; ++r) {
      for (int64_t o = out_begin; o < out_end; ++o) out[r * weight.rows + o] += bias[o];
    }
  }
}

void MatMulQ8A8Outputs(const float* x, int64_t num_rows, const WeightMatrix& weight,
                       int64_t out_begin, int64_t out_end, float* out) {
  thread_local std::vector<unsigned char> input;  // per thread: workers may share the weights
  input.resize(static_cast<size_t>(num_rows * Q8A8InputRowBytes(weight.cols)));
  QuantizeQ8A8Input(x, weight.cols, 0, num_rows, input.data());
  MatMulQ8A8Quantized(input.data(), num_rows, weight, nullptr, out_begin, out_end, out);
}

}  // namespace minimind
