#include "engine/kernels/matmul_q8a8.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "engine/base/dtype.h"
#include "engine/kernels/float_convert.h"
#include "engine/kernels/reduction.h"
#include "engine/kernels/simd_target.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace minimind {
namespace {

// One pair of blocks in a Q8A8 weight row (dtype.h): two f16 scales, then 64 interleaved codes.
// Quantized activation rows hold their pairs alike but with f32 scales.
constexpr int64_t kWeightPairBytes = 2 * sizeof(uint16_t) + 2 * kQ8BlockSize;
constexpr int64_t kInputPairBytes = 2 * sizeof(float) + 2 * kQ8BlockSize;

// Where block b's code i is in a row whose pairs are `pair_bytes` long with `scale_bytes` of
// scales first.
int64_t CodeOffset(int64_t pair_bytes, int64_t scale_bytes, int64_t block, int64_t i) {
  return block / 2 * pair_bytes + scale_bytes + i / 4 * 8 + block % 2 * 4 + i % 4;
}
int64_t WeightCodeOffset(int64_t block, int64_t i) {
  return CodeOffset(kWeightPairBytes, 2 * sizeof(uint16_t), block, i);
}
int64_t InputCodeOffset(int64_t block, int64_t i) {
  return CodeOffset(kInputPairBytes, 2 * sizeof(float), block, i);
}
int64_t WeightScaleOffset(int64_t block) { return block / 2 * kWeightPairBytes + block % 2 * 2; }
int64_t InputScaleOffset(int64_t block) { return block / 2 * kInputPairBytes + block % 2 * 4; }

float WeightScale(const unsigned char* row, int64_t block) {
  uint16_t bits;
  std::memcpy(&bits, row + WeightScaleOffset(block), sizeof(bits));
  return F16ToF32(bits);
}

int64_t NumPairs(int64_t cols) { return (cols + 2 * kQ8BlockSize - 1) / (2 * kQ8BlockSize); }

float LoadFloat(const unsigned char* at) {
  float value;
  std::memcpy(&value, at, sizeof(value));
  return value;
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
// written to block `block` of a Q8A8 row.
void QuantizeActivationBlock(const float* x, int64_t count, int64_t block, unsigned char* row) {
  float amax = 0.0f;
  for (int64_t i = 0; i < count; ++i) amax = std::max(amax, std::fabs(x[i]));
  const float step = amax / 127.0f;
  const float inverse = step != 0.0f ? 1.0f / step : 0.0f;
  std::memcpy(row + InputScaleOffset(block), &step, sizeof(step));
  for (int64_t i = 0; i < kQ8BlockSize; ++i) {
    const float q = i < count ? std::nearbyint(x[i] * inverse) : 0.0f;
    row[InputCodeOffset(block, i)] =
        static_cast<unsigned char>(static_cast<int8_t>(std::clamp(q, -127.0f, 127.0f)));
  }
}

void QuantizeActivationsPortable(const float* x, int64_t cols, unsigned char* row) {
  for (int64_t block = 0; block < 2 * NumPairs(cols); ++block) {
    const int64_t start = block * kQ8BlockSize;
    const int64_t count = std::clamp<int64_t>(cols - start, 0, kQ8BlockSize);
    QuantizeActivationBlock(count > 0 ? x + start : nullptr, count, block, row);
  }
}

// The header's definition, one output at a time.
float DotPortable(const unsigned char* x, const unsigned char* w, int64_t cols) {
  float sets[2][kDotLanes] = {};
  for (int64_t block = 0; block < 2 * NumPairs(cols); ++block) {
    const float scale = LoadFloat(x + InputScaleOffset(block)) * WeightScale(w, block);
    float* lanes = sets[block % 2];
    for (int j = 0; j < kDotLanes; ++j) {
      int32_t sum = 0;
      for (int k = 0; k < 4; ++k) {
        sum += static_cast<int32_t>(static_cast<int8_t>(x[InputCodeOffset(block, 4 * j + k)])) *
               static_cast<int32_t>(static_cast<int8_t>(w[WeightCodeOffset(block, 4 * j + k)]));
      }
      lanes[j] = std::fma(static_cast<float>(sum), scale, lanes[j]);
    }
  }
  float lanes[kDotLanes];
  for (int j = 0; j < kDotLanes; ++j) lanes[j] = sets[0][j] + sets[1][j];
  return CombineLanes(lanes);
}

// Accumulated pairs hold (even, odd) sums side by side per lane j: 16 floats, E_j at 2j and O_j
// at 2j + 1. The output: CombineLanes(E_j + O_j).
float FinishInterleaved(const float (&pairs)[2 * kDotLanes]) {
  float lanes[kDotLanes];
  for (int j = 0; j < kDotLanes; ++j) lanes[j] = pairs[2 * j] + pairs[2 * j + 1];
  return CombineLanes(lanes);
}

}  // namespace

#if defined(__x86_64__)
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
namespace q8a8_avx2 {

// [scale(even), scale(odd)] repeated: an input pair's f32 scales in one 64-bit load, a weight
// pair's f16 ones widened (exactly) first.
inline __m256 InputPairScales(const unsigned char* pair) {
  double both;
  std::memcpy(&both, pair, sizeof(both));
  return _mm256_castpd_ps(_mm256_set1_pd(both));
}
inline __m256 WeightPairScales(const unsigned char* pair) {
  int32_t both;
  std::memcpy(&both, pair, sizeof(both));
  const __m128 widened = _mm_cvtph_ps(_mm_cvtsi32_si128(both));
  return _mm256_castpd_ps(_mm256_broadcastsd_pd(_mm_castps_pd(widened)));
}

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

// QuantizeActivationsPortable, the same bytes, a pair of whole blocks at a time.
void QuantizeRow(const float* x, int64_t cols, unsigned char* row) {
  for (int64_t pair = 0; pair < NumPairs(cols); ++pair) {
    const int64_t start = pair * 2 * kQ8BlockSize;
    unsigned char* out = row + pair * kInputPairBytes;
    if (cols - start < 2 * kQ8BlockSize) {  // a partial or padded pair
      for (int64_t block = 2 * pair; block < 2 * pair + 2; ++block) {
        const int64_t count = std::clamp<int64_t>(cols - block * kQ8BlockSize, 0, kQ8BlockSize);
        QuantizeActivationBlock(count > 0 ? x + block * kQ8BlockSize : nullptr, count, block, row);
      }
      continue;
    }
    float steps[2];
    const __m256i even = BlockCodes(x + start, &steps[0]);
    const __m256i odd = BlockCodes(x + start + kQ8BlockSize, &steps[1]);
    std::memcpy(out, steps, sizeof(steps));
    // 4-byte groups interleaved: even 0, odd 0, even 1, odd 1, ...
    const __m256i low = _mm256_unpacklo_epi32(even, odd);   // groups 0,1 | 4,5
    const __m256i high = _mm256_unpackhi_epi32(even, odd);  // groups 2,3 | 6,7
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 2 * sizeof(float)),
                        _mm256_permute2x128_si256(low, high, 0x20));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 2 * sizeof(float) + 32),
                        _mm256_permute2x128_si256(low, high, 0x31));
  }
}

// out[a * out_stride + b] for kRows activation rows and kOuts weight rows, a pair of blocks at a
// time: each 32-byte half holds 4 groups of both blocks, so its int32 lanes are (E, O) pairs.
template <int kRows, int kOuts>
void Tile(const unsigned char* x, int64_t x_row_bytes, const unsigned char* w, int64_t w_row_bytes,
          int64_t pairs, float* out, int64_t out_stride) {
  __m256 sums[2][kRows][kOuts];  // lanes j 0-3, 4-7
  for (auto& half : sums) {
    for (auto& row : half) {
      for (__m256& sum : row) sum = _mm256_setzero_ps();
    }
  }
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t pair = 0; pair < pairs; ++pair) {
    __m256i codes_x[kRows][2];
    __m256i abs_x[kRows][2];
    __m256 scale_x[kRows];
    for (int a = 0; a < kRows; ++a) {
      const unsigned char* block = x + a * x_row_bytes + pair * kInputPairBytes;
      for (int h = 0; h < 2; ++h) {
        codes_x[a][h] = _mm256_loadu_si256(
            reinterpret_cast<const __m256i*>(block + 2 * sizeof(float) + 32 * h));
        abs_x[a][h] = _mm256_abs_epi8(codes_x[a][h]);
      }
      scale_x[a] = InputPairScales(block);
    }
    for (int b = 0; b < kOuts; ++b) {
      const unsigned char* block = w + b * w_row_bytes + pair * kWeightPairBytes;
      const __m256 scale_w = WeightPairScales(block);
      for (int h = 0; h < 2; ++h) {
        const __m256i codes_w = _mm256_loadu_si256(
            reinterpret_cast<const __m256i*>(block + 2 * sizeof(uint16_t) + 32 * h));
        for (int a = 0; a < kRows; ++a) {
          // |pair sums| <= 2 * 127 * 127 < 32767: vpmaddubsw never saturates here.
          const __m256i products = _mm256_madd_epi16(
              _mm256_maddubs_epi16(abs_x[a][h], _mm256_sign_epi8(codes_w, codes_x[a][h])), ones);
          sums[h][a][b] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(products),
                                          _mm256_mul_ps(scale_x[a], scale_w), sums[h][a][b]);
        }
      }
    }
  }
  for (int a = 0; a < kRows; ++a) {
    for (int b = 0; b < kOuts; ++b) {
      float pairs_out[2 * kDotLanes];
      _mm256_storeu_ps(pairs_out, sums[0][a][b]);
      _mm256_storeu_ps(pairs_out + 8, sums[1][a][b]);
      out[a * out_stride + b] = FinishInterleaved(pairs_out);
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

inline __m512 InputPairScales(const unsigned char* pair) {
  double both;
  std::memcpy(&both, pair, sizeof(both));
  return _mm512_castpd_ps(_mm512_set1_pd(both));
}
inline __m512 WeightPairScales(const unsigned char* pair) {
  int32_t both;
  std::memcpy(&both, pair, sizeof(both));
  const __m128 widened = _mm_cvtph_ps(_mm_cvtsi32_si128(both));
  return _mm512_castpd_ps(_mm512_broadcastsd_pd(_mm_castps_pd(widened)));
}

// As q8a8_avx2::Tile, a whole pair of blocks per instruction: vpdpbusd multiplies |x| (bytes) by
// the weights negated where x < 0, summing each lane's 4 products.
template <int kRows, int kOuts>
void Tile(const unsigned char* x, int64_t x_row_bytes, const unsigned char* w, int64_t w_row_bytes,
          int64_t pairs, float* out, int64_t out_stride) {
  __m512 sums[kRows][kOuts];
  for (auto& row : sums) {
    for (__m512& sum : row) sum = _mm512_setzero_ps();
  }
  for (int64_t pair = 0; pair < pairs; ++pair) {
    __m512i abs_x[kRows];
    __mmask64 negative_x[kRows];
    __m512 scale_x[kRows];
    for (int a = 0; a < kRows; ++a) {
      const unsigned char* block = x + a * x_row_bytes + pair * kInputPairBytes;
      const __m512i codes = _mm512_loadu_si512(block + 2 * sizeof(float));
      abs_x[a] = _mm512_abs_epi8(codes);
      negative_x[a] = _mm512_movepi8_mask(codes);
      scale_x[a] = InputPairScales(block);
    }
    for (int b = 0; b < kOuts; ++b) {
      const unsigned char* block = w + b * w_row_bytes + pair * kWeightPairBytes;
      const __m512i codes_w = _mm512_loadu_si512(block + 2 * sizeof(uint16_t));
      const __m512 scale_w = WeightPairScales(block);
      for (int a = 0; a < kRows; ++a) {
        const __m512i signed_w =
            _mm512_mask_sub_epi8(codes_w, negative_x[a], _mm512_setzero_si512(), codes_w);
        const __m512i products = _mm512_dpbusd_epi32(_mm512_setzero_si512(), abs_x[a], signed_w);
        sums[a][b] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(products),
                                     _mm512_mul_ps(scale_x[a], scale_w), sums[a][b]);
      }
    }
  }
  for (int a = 0; a < kRows; ++a) {
    for (int b = 0; b < kOuts; ++b) {
      float pairs_out[2 * kDotLanes];
      _mm512_storeu_ps(pairs_out, sums[a][b]);
      out[a * out_stride + b] = FinishInterleaved(pairs_out);
    }
  }
}

}  // namespace q8a8_vnni
#pragma GCC diagnostic pop
#pragma GCC pop_options
#endif

namespace {

using TileFunction = void (*)(const unsigned char*, int64_t, const unsigned char*, int64_t, int64_t,
                              float*, int64_t);

// Tiles of one instruction set: rows in groups of `rows` sharing each weight load; a single row
// (decode) `single_outs` weight rows at a time (independent accumulators keep the units busy).
struct Tiles {
  int rows;
  int outs;
  TileFunction tile;      // rows x outs
  TileFunction tile_one;  // rows x 1
  int single_outs;
  TileFunction single;      // 1 x single_outs
  TileFunction single_one;  // 1 x 1
};

#if defined(__x86_64__)
constexpr Tiles kVnniTiles{.rows = 4,
                           .outs = 4,
                           .tile = q8a8_vnni::Tile<4, 4>,
                           .tile_one = q8a8_vnni::Tile<4, 1>,
                           .single_outs = 8,
                           .single = q8a8_vnni::Tile<1, 8>,
                           .single_one = q8a8_vnni::Tile<1, 1>};
constexpr Tiles kAvx2Tiles{.rows = 2,
                           .outs = 2,
                           .tile = q8a8_avx2::Tile<2, 2>,
                           .tile_one = q8a8_avx2::Tile<2, 1>,
                           .single_outs = 4,
                           .single = q8a8_avx2::Tile<1, 4>,
                           .single_one = q8a8_avx2::Tile<1, 1>};
#endif

void RunTiles(const Tiles& tiles, const unsigned char* x, int64_t num_rows,
              const WeightMatrix& weight, int64_t out_begin, int64_t out_end, float* out) {
  const int64_t x_row_bytes = Q8A8InputRowBytes(weight.cols);
  const int64_t w_row_bytes = RowBytes(DType::kQ8A8, weight.cols);
  const int64_t pairs = NumPairs(weight.cols);
  const unsigned char* w = static_cast<const unsigned char*>(weight.data);
  const auto run = [&](TileFunction tile, int64_t r, int64_t o) {
    tile(x + r * x_row_bytes, x_row_bytes, w + o * w_row_bytes, w_row_bytes, pairs,
         out + r * weight.rows + o, weight.rows);
  };
  int64_t r = 0;
  for (; r + tiles.rows <= num_rows; r += tiles.rows) {
    int64_t o = out_begin;
    for (; o + tiles.outs <= out_end; o += tiles.outs) run(tiles.tile, r, o);
    for (; o < out_end; ++o) run(tiles.tile_one, r, o);
  }
  for (; r < num_rows; ++r) {
    int64_t o = out_begin;
    for (; o + tiles.single_outs <= out_end; o += tiles.single_outs) run(tiles.single, r, o);
    for (; o < out_end; ++o) run(tiles.single_one, r, o);
  }
}

}  // namespace

void QuantizeRowQ8A8(const float* row, int64_t cols, void* out) {
  unsigned char* bytes = static_cast<unsigned char*>(out);
  std::memset(bytes, 0, RowBytes(DType::kQ8A8, cols));
  for (int64_t block = 0; block * kQ8BlockSize < cols; ++block) {
    const int64_t start = block * kQ8BlockSize;
    const int64_t count = std::min(kQ8BlockSize, cols - start);
    float amax = 0.0f;
    for (int64_t i = 0; i < count; ++i) amax = std::max(amax, std::fabs(row[start + i]));
    const uint16_t bits = F32ToF16(amax / 127.0f);
    std::memcpy(bytes + WeightScaleOffset(block), &bits, sizeof(bits));
    const float scale = F16ToF32(bits);
    if (scale == 0.0f) continue;  // codes stay 0
    for (int64_t i = 0; i < count; ++i) {
      const float q = std::nearbyint(row[start + i] / scale);
      bytes[WeightCodeOffset(block, i)] =
          static_cast<unsigned char>(static_cast<int8_t>(std::clamp(q, -127.0f, 127.0f)));
    }
  }
}

void DequantizeRowQ8A8(const void* row, int64_t cols, float* out) {
  const unsigned char* bytes = static_cast<const unsigned char*>(row);
  for (int64_t c = 0; c < cols; ++c) {
    const int64_t block = c / kQ8BlockSize;
    const auto code = static_cast<int8_t>(bytes[WeightCodeOffset(block, c % kQ8BlockSize)]);
    out[c] = static_cast<float>(code) * WeightScale(bytes, block);
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

int64_t Q8A8InputRowBytes(int64_t cols) { return NumPairs(cols) * kInputPairBytes; }

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
  if (path == Path::kPortable) {
    const int64_t x_row_bytes = Q8A8InputRowBytes(weight.cols);
    const int64_t w_row_bytes = RowBytes(DType::kQ8A8, weight.cols);
    const unsigned char* w = static_cast<const unsigned char*>(weight.data);
    for (int64_t r = 0; r < num_rows; ++r) {
      for (int64_t o = out_begin; o < out_end; ++o) {
        out[r * weight.rows + o] =
            DotPortable(input + r * x_row_bytes, w + o * w_row_bytes, weight.cols);
      }
    }
  }
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
