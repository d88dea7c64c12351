// Row-wise and element-wise layers: layer norm, GELU (exact erf), tanh, ReLU, dropout, embedding
// gather / scatter-add, and element-wise adds. Backward kernels accumulate into their gradient
// outputs (+=), so a tensor used twice simply receives both contributions.
// Legend: N rows, C columns, V vocabulary (embedding rows), n elements.
#include <omp.h>

#include <cmath>
#include <vector>

#include "common.h"
#include "fastmath.h"

namespace distil {

namespace {

// One row of LayerNorm: out (C) = (r - mean) * rstd * w + b. Two passes in float over a row that
// sits in L1: the mean, then the centred variance.
inline void layernorm_row(float* out, float* mean, float* rstd, const float* r, const float* w, const float* b,
                          int64_t C, float eps) {
  float m = 0.0f;
#pragma omp simd reduction(+ : m)
  for (int64_t j = 0; j < C; ++j) m += r[j];
  m /= static_cast<float>(C);
  float var = 0.0f;
#pragma omp simd reduction(+ : var)
  for (int64_t j = 0; j < C; ++j) var += (r[j] - m) * (r[j] - m);
  var /= static_cast<float>(C);
  const float s = 1.0f / std::sqrt(var + eps);
#pragma omp simd
  for (int64_t j = 0; j < C; ++j) out[j] = (r[j] - m) * s * w[j] + b[j];
  *mean = m;
  *rstd = s;
}

// layernormForward(out, mean, rstd, inp, w, b, N, C, eps)
//   inp, out (N, C); w, b (C); mean, rstd (N) saved for backward.
Napi::Value LayernormForward(const Napi::CallbackInfo& info) {
  Args a(info, "layernormForward");
  int64_t N = a.dim(6, "N"), C = a.dim(7, "C");
  double eps = a.num(8, "eps");
  float* out = a.f32(0, "out", N * C);
  float* mean = a.f32(1, "mean", N);
  float* rstd = a.f32(2, "rstd", N);
  const float* x = a.f32(3, "inp", N * C);
  const float* w = a.f32(4, "weight", C);
  const float* b = a.f32(5, "bias", C);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < N; ++i)
    layernorm_row(out + i * C, mean + i, rstd + i, x + i * C, w, b, C, static_cast<float>(eps));
  return info.Env().Undefined();
}

// addLayernormForward(out, sum, mean, rstd, x, y, w, b, N, C, eps): the residual and the norm of a
// post-LN layer in one pass, LayerNorm(x + y). sum (N, C) receives x + y for the backward, or is
// null at inference (then the sum only lives in a per-thread row).
Napi::Value AddLayernormForward(const Napi::CallbackInfo& info) {
  Args a(info, "addLayernormForward");
  int64_t N = a.dim(8, "N"), C = a.dim(9, "C");
  double eps = a.num(10, "eps");
  float* out = a.f32(0, "out", N * C);
  float* sum = a.f32_opt(1, "sum", N * C);
  float* mean = a.f32(2, "mean", N);
  float* rstd = a.f32(3, "rstd", N);
  const float* x = a.f32(4, "x", N * C);
  const float* y = a.f32(5, "y", N * C);
  const float* w = a.f32(6, "weight", C);
  const float* b = a.f32(7, "bias", C);
#pragma omp parallel
  {
    std::vector<float> row(sum ? 0 : C);
#pragma omp for schedule(static)
    for (int64_t i = 0; i < N; ++i) {
      float* r = sum ? sum + i * C : row.data();
      const float* xi = x + i * C;
      const float* yi = y + i * C;
#pragma omp simd
      for (int64_t j = 0; j < C; ++j) r[j] = xi[j] + yi[j];
      layernorm_row(out + i * C, mean + i, rstd + i, r, w, b, C, static_cast<float>(eps));
    }
  }
  return info.Env().Undefined();
}

// The LayerNorm backward over rows, given xhat(i, j), the normalized input of row i, column j:
//   dinp (N, C) += rstd * (g * w - mean(g * w) - xhat * mean(g * w * xhat)); dw += g * xhat; db += g.
// Per-thread partial dw/db, reduced at the end.
template <typename Xhat>
void layernorm_backward_rows(float* dx, float* dw, float* db, const float* dout, const float* rstd, const float* w,
                             int64_t N, int64_t C, Xhat xhat) {
  int nthr = omp_get_max_threads();
  std::vector<float> pdw(static_cast<size_t>(nthr) * C, 0.0f), pdb(static_cast<size_t>(nthr) * C, 0.0f);
#pragma omp parallel
  {
    float* mdw = pdw.data() + static_cast<size_t>(omp_get_thread_num()) * C;
    float* mdb = pdb.data() + static_cast<size_t>(omp_get_thread_num()) * C;
#pragma omp for schedule(static)
    for (int64_t i = 0; i < N; ++i) {
      const float* g = dout + i * C;
      const float s = rstd[i];
      float sum_g = 0.0f, sum_gx = 0.0f;
#pragma omp simd reduction(+ : sum_g, sum_gx)
      for (int64_t j = 0; j < C; ++j) {
        float xh = xhat(i, j), gw = g[j] * w[j];
        sum_g += gw;
        sum_gx += gw * xh;
        mdw[j] += g[j] * xh;
        mdb[j] += g[j];
      }
      sum_g /= static_cast<float>(C);
      sum_gx /= static_cast<float>(C);
      float* d = dx + i * C;
#pragma omp simd
      for (int64_t j = 0; j < C; ++j) d[j] += s * (g[j] * w[j] - sum_g - xhat(i, j) * sum_gx);
    }
  }
  for (int t = 0; t < nthr; ++t)
    for (int64_t j = 0; j < C; ++j) {
      if (dw) dw[j] += pdw[static_cast<size_t>(t) * C + j];
      if (db) db[j] += pdb[static_cast<size_t>(t) * C + j];
    }
}

// The arguments both LayerNorm backwards share: dinp, dweight, dbias, dout (0-3) and N, C (8, 9).
struct LnGrads {
  int64_t N, C;
  float* dx;
  float* dw;
  float* db;
  const float* dout;
};

LnGrads read_ln_grads(Args& a) {
  const int64_t N = a.dim(8, "N"), C = a.dim(9, "C");
  return {N, C, a.f32(0, "dinp", N * C), a.f32_opt(1, "dweight", C), a.f32_opt(2, "dbias", C), a.f32(3, "dout", N * C)};
}

// layernormBackward(dinp, dw, db, dout, inp, mean, rstd, w, N, C)
//   dinp (N, C), dw, db (C) accumulate.
Napi::Value LayernormBackward(const Napi::CallbackInfo& info) {
  Args a(info, "layernormBackward");
  const LnGrads g = read_ln_grads(a);
  const int64_t N = g.N, C = g.C;
  const float* x = a.f32(4, "inp", N * C);
  const float* mean = a.f32(5, "mean", N);
  const float* rstd = a.f32(6, "rstd", N);
  const float* w = a.f32(7, "weight", C);
  layernorm_backward_rows(g.dx, g.dw, g.db, g.dout, rstd, w, N, C,
                          [=](int64_t i, int64_t j) { return (x[i * C + j] - mean[i]) * rstd[i]; });
  return info.Env().Undefined();
}

// layernormBackwardFromOutput(dinp, dw, db, dout, out, rstd, w, b, N, C)
//   The same gradients as layernormBackward, from the LayerNorm's output instead of its input:
//   xhat = (out - b) / w. A post-LN layer keeps its LayerNorm outputs anyway (the next sublayer's
//   input and residual), so the input (the residual sum) need not be kept at all. Callers use it
//   only when every |w| is well away from 0 (fused.ts), where the division stays accurate.
Napi::Value LayernormBackwardFromOutput(const Napi::CallbackInfo& info) {
  Args a(info, "layernormBackwardFromOutput");
  const LnGrads g = read_ln_grads(a);
  const int64_t N = g.N, C = g.C;
  const float* y = a.f32(4, "out", N * C);
  const float* rstd = a.f32(5, "rstd", N);
  const float* w = a.f32(6, "weight", C);
  const float* b = a.f32(7, "bias", C);
  std::vector<float> invw(C);
  for (int64_t j = 0; j < C; ++j) invw[j] = 1.0f / w[j];
  const float* iw = invw.data();
  layernorm_backward_rows(g.dx, g.dw, g.db, g.dout, rstd, w, N, C,
                          [=](int64_t i, int64_t j) { return (y[i * C + j] - b[j]) * iw[j]; });
  return info.Env().Undefined();
}

// Element-wise unary ops: forward(out, inp, n) and backward(dinp, inp_or_out, dout, n).
constexpr float kInvSqrt2 = 0.70710678118654752440f;
constexpr float kInvSqrt2Pi = 0.39894228040143267794f;

template <typename F>
Napi::Value unary_forward(const Napi::CallbackInfo& info, const char* name, F f) {
  Args a(info, name);
  int64_t n = a.dim(2, "n");
  float* out = a.f32(0, "out", n);
  const float* x = a.f32(1, "inp", n);
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = f(x[i]);
  return info.Env().Undefined();
}

template <typename F>
Napi::Value unary_backward(const Napi::CallbackInfo& info, const char* name, F dfdx) {
  Args a(info, name);
  int64_t n = a.dim(3, "n");
  float* dx = a.f32(0, "dinp", n);
  const float* saved = a.f32(1, "saved", n);
  const float* g = a.f32(2, "dout", n);
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) dx[i] += g[i] * dfdx(saved[i]);
  return info.Env().Undefined();
}

Napi::Value GeluForward(const Napi::CallbackInfo& info) {
  return unary_forward(info, "geluForward", [](float x) { return gelu_erf(x); });
}
// saved = the GELU input.
Napi::Value GeluBackward(const Napi::CallbackInfo& info) {
  return unary_backward(info, "geluBackward", [](float x) {
    return 0.5f * (1.0f + fast_erf(x * kInvSqrt2)) + x * kInvSqrt2Pi * fast_exp(-0.5f * x * x);
  });
}
Napi::Value TanhForward(const Napi::CallbackInfo& info) {
  return unary_forward(info, "tanhForward", [](float x) { return std::tanh(x); });
}
// saved = the tanh output.
Napi::Value TanhBackward(const Napi::CallbackInfo& info) {
  return unary_backward(info, "tanhBackward", [](float y) { return 1.0f - y * y; });
}
Napi::Value ReluForward(const Napi::CallbackInfo& info) {
  return unary_forward(info, "reluForward", [](float x) { return x > 0.0f ? x : 0.0f; });
}
// saved = the ReLU input.
Napi::Value ReluBackward(const Napi::CallbackInfo& info) {
  return unary_backward(info, "reluBackward", [](float x) { return x > 0.0f ? 1.0f : 0.0f; });
}

// dropoutForward(out, inp, n, p, seed) / dropoutBackward(dinp, dout, n, p, seed): inverted dropout
// whose mask is recomputed from the counter-based hash (common.h), never stored.
Napi::Value DropoutForward(const Napi::CallbackInfo& info) {
  Args a(info, "dropoutForward");
  int64_t n = a.dim(2, "n");
  double p = a.num(3, "p");
  uint32_t seed = a.u32(4, "seed");
  if (!(p >= 0.0 && p < 1.0)) a.fail("dropout probability must be in [0, 1)");
  float* out = a.f32(0, "out", n);
  const float* x = a.f32(1, "inp", n);
  const uint32_t thr = drop_threshold(p);
  const float s = static_cast<float>(1.0 / (1.0 - p));
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = hash_u32(seed, static_cast<uint64_t>(i)) < thr ? 0.0f : x[i] * s;
  return info.Env().Undefined();
}

Napi::Value DropoutBackward(const Napi::CallbackInfo& info) {
  Args a(info, "dropoutBackward");
  int64_t n = a.dim(2, "n");
  double p = a.num(3, "p");
  uint32_t seed = a.u32(4, "seed");
  if (!(p >= 0.0 && p < 1.0)) a.fail("dropout probability must be in [0, 1)");
  float* dx = a.f32(0, "dinp", n);
  const float* g = a.f32(1, "dout", n);
  const uint32_t thr = drop_threshold(p);
  const float s = static_cast<float>(1.0 / (1.0 - p));
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i)
    if (hash_u32(seed, static_cast<uint64_t>(i)) >= thr) dx[i] += g[i] * s;
  return info.Env().Undefined();
}

// embeddingForward(out, ids, weight, N, C, V): out (N, C) = weight (V, C) rows at ids (N).
// Also selects rows of any (V, C) matrix, e.g. hidden states at masked positions.
Napi::Value EmbeddingForward(const Napi::CallbackInfo& info) {
  Args a(info, "embeddingForward");
  int64_t N = a.dim(3, "N"), C = a.dim(4, "C"), V = a.dim(5, "V");
  float* out = a.f32(0, "out", N * C);
  const int32_t* ids = a.i32(1, "ids", N);
  const float* w = a.f32(2, "weight", V * C);
  for (int64_t i = 0; i < N; ++i)
    if (ids[i] < 0 || ids[i] >= V)
      a.fail("id " + std::to_string(ids[i]) + " at position " + std::to_string(i) + " is outside [0, " +
             std::to_string(V) + ")");
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < N; ++i) std::copy(w + ids[i] * C, w + (ids[i] + 1) * C, out + i * C);
  return info.Env().Undefined();
}

// embeddingBackward(dweight, dout, ids, N, C, V, padding_idx): dweight rows at ids += dout rows,
// except rows equal to padding_idx (-1: none), which get no gradient as with PyTorch's padding_idx.
// Threads own disjoint column ranges, so repeated ids never race.
Napi::Value EmbeddingBackward(const Napi::CallbackInfo& info) {
  Args a(info, "embeddingBackward");
  int64_t N = a.dim(3, "N"), C = a.dim(4, "C"), V = a.dim(5, "V");
  const int64_t pad = a.integer(6, "padding_idx");
  float* dw = a.f32(0, "dweight", V * C);
  const float* g = a.f32(1, "dout", N * C);
  const int32_t* ids = a.i32(2, "ids", N);
  for (int64_t i = 0; i < N; ++i)
    if (ids[i] < 0 || ids[i] >= V) a.fail("id " + std::to_string(ids[i]) + " is outside the table");
#pragma omp parallel
  {
    int nt = omp_get_num_threads(), t = omp_get_thread_num();
    int64_t c0 = C * t / nt, c1 = C * (t + 1) / nt;
    for (int64_t i = 0; i < N; ++i) {
      if (ids[i] == pad) continue;
      float* d = dw + ids[i] * C;
      const float* s = g + i * C;
      for (int64_t j = c0; j < c1; ++j) d[j] += s[j];
    }
  }
  return info.Env().Undefined();
}

// add(out, x, y, n): out = x + y.   addInto(dst, src, n, alpha): dst += alpha * src.
Napi::Value Add(const Napi::CallbackInfo& info) {
  Args a(info, "add");
  int64_t n = a.dim(3, "n");
  float* out = a.f32(0, "out", n);
  const float* x = a.f32(1, "x", n);
  const float* y = a.f32(2, "y", n);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] + y[i];
  return info.Env().Undefined();
}

Napi::Value AddInto(const Napi::CallbackInfo& info) {
  Args a(info, "addInto");
  int64_t n = a.dim(2, "n");
  double alpha = a.num(3, "alpha");
  float* dst = a.f32(0, "dst", n);
  const float* src = a.f32(1, "src", n);
  const float al = static_cast<float>(alpha);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) dst[i] += al * src[i];
  return info.Env().Undefined();
}

}  // namespace

void register_layers(Napi::Env env, Napi::Object exports) {
  exports.Set("layernormForward", Napi::Function::New(env, LayernormForward));
  exports.Set("addLayernormForward", Napi::Function::New(env, AddLayernormForward));
  exports.Set("layernormBackward", Napi::Function::New(env, LayernormBackward));
  exports.Set("layernormBackwardFromOutput", Napi::Function::New(env, LayernormBackwardFromOutput));
  exports.Set("geluForward", Napi::Function::New(env, GeluForward));
  exports.Set("geluBackward", Napi::Function::New(env, GeluBackward));
  exports.Set("tanhForward", Napi::Function::New(env, TanhForward));
  exports.Set("tanhBackward", Napi::Function::New(env, TanhBackward));
  exports.Set("reluForward", Napi::Function::New(env, ReluForward));
  exports.Set("reluBackward", Napi::Function::New(env, ReluBackward));
  exports.Set("dropoutForward", Napi::Function::New(env, DropoutForward));
  exports.Set("dropoutBackward", Napi::Function::New(env, DropoutBackward));
  exports.Set("embeddingForward", Napi::Function::New(env, EmbeddingForward));
  exports.Set("embeddingBackward", Napi::Function::New(env, EmbeddingBackward));
  exports.Set("add", Napi::Function::New(env, Add));
  exports.Set("addInto", Napi::Function::New(env, AddInto));
}

}  // namespace distil
