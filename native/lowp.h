// Low-precision conversions shared by the bf16 and int8 matmul paths (matmul.cc, linear_packed.cc).
// All run over OpenMP threads and are memory bound: one read of the fp32 input, one narrow write.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common.h"

namespace distil {

// y (n) = bf16(x (n)), round to nearest even (as PyTorch's .to(torch.bfloat16)); NaN stays NaN.
void to_bf16(const float* x, uint16_t* y, int64_t n);

// Dynamic asymmetric uint8 quantization of a whole tensor, as onnxruntime's DynamicQuantizeLinear:
// the range [min(0, min x), max(0, max x)] maps onto [0, 255]; x ~= scale * (q - zero_point).
struct U8Quant {
  float scale;
  int32_t zero_point;
};
U8Quant quantize_u8(const float* x, uint8_t* q, int64_t n);

// Symmetric per-row int8 quantization of W (N, K): scale[n] = max_k |W[n, k]| / 127 (1 for a zero
// row), q = round(W / scale) in [-127, 127]; row_sum[n] = sum_k q[n, k] (for the zero-point term).
void quantize_rows_s8(const float* W, int8_t* q, float* scale, int32_t* row_sum, int64_t N, int64_t K);

// A grow-only scratch buffer of T on huge-page memory (alloc.cc), reused across calls on the
// (single) JS thread. Contents are unspecified after a growth.
template <typename T>
class Scratch {
 public:
  ~Scratch() { huge_free(data_, bytes_); }
  T* get(int64_t n) {
    const size_t need = static_cast<size_t>(n) * sizeof(T);
    if (need > bytes_) {
      huge_free(data_, bytes_);
      data_ = static_cast<T*>(huge_alloc(need, &bytes_));
    }
    return data_;
  }

 private:
  T* data_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace distil
