// Branch-free float exp and erf that GCC vectorizes under `#pragma omp simd` (libm's expf/erff are
// scalar calls). Accuracy: exp ~2 ulp (Cephes expf polynomial); erf ~1e-7 absolute (rational
// minimax fit on [-4, 4], as in Eigen's generic_fast_erf_float; |erf| = 1 in float beyond 4).
#pragma once
#include <cstdint>

namespace distil {

#pragma omp declare simd
inline float fast_exp(float x) {
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  // x = n ln2 + r, |r| <= ln2 / 2; ln2 split in two parts for exact n * ln2_hi. Adding and
  // subtracting 1.5 * 2^23 rounds to the nearest integer without a libm call.
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  const float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float y = p * r * r + r + 1.0f;
  const float scale = __builtin_bit_cast(float, (static_cast<int32_t>(n) + 127) << 23);
  return y * scale;
}

#pragma omp declare simd
inline float fast_erf(float x) {
  x = x < -4.0f ? -4.0f : (x > 4.0f ? 4.0f : x);
  const float x2 = x * x;
  float p = -2.72614225801306e-10f;
  p = p * x2 + 2.77068142495902e-08f;
  p = p * x2 - 2.10102402082508e-06f;
  p = p * x2 - 5.69250639462346e-05f;
  p = p * x2 - 7.34990630326855e-04f;
  p = p * x2 - 2.95459980854025e-03f;
  p = p * x2 - 1.60960333262415e-02f;
  float q = -1.45660718464996e-05f;
  q = q * x2 - 2.13374055278905e-04f;
  q = q * x2 - 1.68282697438203e-03f;
  q = q * x2 - 7.37332916720468e-03f;
  q = q * x2 - 1.42647390514189e-02f;
  return x * p / q;
}

// GELU, exact erf form (HF "gelu"): 0.5 x (1 + erf(x / sqrt 2)).
#pragma omp declare simd
inline float gelu_erf(float x) { return 0.5f * x * (1.0f + fast_erf(x * 0.70710678118654752f)); }

}  // namespace distil
