// Low-precision conversions (see lowp.h).
#include "lowp.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace distil {

namespace {

inline uint16_t bf16_scalar(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest, ties to even
  return static_cast<uint16_t>(u >> 16);
}

}  // namespace

void to_bf16(const float* x, uint16_t* y, int64_t n) {
  constexpr int64_t kChunk = 1 << 14;
#pragma omp parallel for schedule(static) if (n > kChunk)
  for (int64_t c0 = 0; c0 < n; c0 += kChunk) {
    int64_t c1 = std::min(n, c0 + kChunk), i = c0;
#ifdef __AVX512BF16__
    for (; i + 16 <= c1; i += 16) {
      __m256bh v = _mm512_cvtneps_pbh(_mm512_loadu_ps(x + i));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i), reinterpret_cast<__m256i&>(v));
    }
#endif
    for (; i < c1; ++i) y[i] = bf16_scalar(x[i]);
  }
}

U8Quant quantize_u8(const float* x, uint8_t* q, int64_t n) {
  float lo = 0.0f, hi = 0.0f;
#pragma omp parallel for reduction(min : lo) reduction(max : hi) schedule(static) if (n > 16384)
  for (int64_t i = 0; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  U8Quant r{(hi - lo) / 255.0f, 0};
  if (!(r.scale > 0.0f) || !std::isfinite(r.scale)) r.scale = 1.0f;
  r.zero_point = static_cast<int32_t>(std::clamp(std::nearbyint(-lo / r.scale), 0.0f, 255.0f));
  const float inv = 1.0f / r.scale, zp = static_cast<float>(r.zero_point);
#pragma omp parallel for schedule(static) if (n > 16384)
  for (int64_t i = 0; i < n; ++i)
    q[i] = static_cast<uint8_t>(std::clamp(std::nearbyint(x[i] * inv) + zp, 0.0f, 255.0f));
  return r;
}

void quantize_rows_s8(const float* W, int8_t* q, float* scale, int32_t* row_sum, int64_t N, int64_t K) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < N; ++r) {
    const float* w = W + r * K;
    float m = 0.0f;
    for (int64_t k = 0; k < K; ++k) m = std::max(m, std::fabs(w[k]));
    float s = m > 0.0f ? m / 127.0f : 1.0f, inv = 1.0f / s;
    int32_t sum = 0;
    for (int64_t k = 0; k < K; ++k) {
      int8_t v = static_cast<int8_t>(std::clamp(std::nearbyint(w[k] * inv), -127.0f, 127.0f));
      q[r * K + k] = v;
      sum += v;
    }
    scale[r] = s;
    row_sum[r] = sum;
  }
}

}  // namespace distil
