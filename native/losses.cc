// Loss functions of the triple loss (docs/method.md §6) and of fine-tuning, forward and backward.
// Forward returns the loss as a JS number; backward accumulates g * dLoss/dInput into the
// gradient buffers, where g is the upstream gradient of the scalar loss.
// Legend: N rows (positions), V vocabulary / classes, C hidden size.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "common.h"
#include "fastmath.h"

namespace distil {

namespace {

// log-sum-exp of x / T over one (30k-wide) vocabulary row. The exponentials are the vectorized
// fast_exp; the sum runs in 16 float lanes, well inside the 1e-5 tolerance of the PyTorch fixtures.
float row_lse(const float* x, int64_t V, float invT) {
  float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
  for (int64_t j = 0; j < V; ++j) mx = std::max(mx, x[j]);
  float s = 0.0f;
#pragma omp simd reduction(+ : s)
  for (int64_t j = 0; j < V; ++j) s += fast_exp((x[j] - mx) * invT);
  return mx * invT + std::log(s);
}

void check_targets(Args& a, const int32_t* t, int64_t N, int64_t V, int64_t ignore) {
  for (int64_t i = 0; i < N; ++i)
    if (t[i] != ignore && (t[i] < 0 || t[i] >= V))
      a.fail("target " + std::to_string(t[i]) + " at row " + std::to_string(i) + " is outside [0, " +
             std::to_string(V) + ") and is not the ignore index");
}

// crossEntropyForward(logits, targets, N, V, ignore_index) -> mean over non-ignored rows
//   logits (N, V); targets (N) Int32. Returns 0 when every row is ignored.
Napi::Value CrossEntropyForward(const Napi::CallbackInfo& info) {
  Args a(info, "crossEntropyForward");
  int64_t N = a.dim(2, "N"), V = a.dim(3, "V");
  int64_t ignore = a.integer(4, "ignore_index");
  const float* x = a.f32(0, "logits", N * V);
  const int32_t* t = a.i32(1, "targets", N);
  check_targets(a, t, N, V, ignore);
  double sum = 0.0;
  int64_t count = 0;
#pragma omp parallel for reduction(+ : sum, count) schedule(static)
  for (int64_t i = 0; i < N; ++i) {
    if (t[i] == ignore) continue;
    const float* r = x + i * V;
    sum += static_cast<double>(row_lse(r, V, 1.0f)) - r[t[i]];
    ++count;
  }
  return Napi::Number::New(info.Env(), count ? sum / static_cast<double>(count) : 0.0);
}

// crossEntropyBackward(dlogits, logits, targets, N, V, ignore_index, scale)
//   dlogits += scale * (softmax(logits) - onehot(target)) on non-ignored rows; scale = g / count.
Napi::Value CrossEntropyBackward(const Napi::CallbackInfo& info) {
  Args a(info, "crossEntropyBackward");
  int64_t N = a.dim(3, "N"), V = a.dim(4, "V");
  int64_t ignore = a.integer(5, "ignore_index");
  double scale = a.num(6, "scale");
  float* dx = a.f32(0, "dlogits", N * V);
  const float* x = a.f32(1, "logits", N * V);
  const int32_t* t = a.i32(2, "targets", N);
  check_targets(a, t, N, V, ignore);
  // dlogits may be the logits buffer itself: the logits are then consumed and replaced by their
  // gradient (as if it started at zero), which saves an (N, V) buffer; ignored rows become 0.
  const bool in_place = dx == x;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < N; ++i) {
    float* d = dx + i * V;
    if (t[i] == ignore) {
      if (in_place) std::fill(d, d + V, 0.0f);
      continue;
    }
    const float* r = x + i * V;
    const float lse = row_lse(r, V, 1.0f), sc = static_cast<float>(scale);
    if (in_place) {
#pragma omp simd
      for (int64_t j = 0; j < V; ++j) d[j] = sc * fast_exp(d[j] - lse);
    } else {
#pragma omp simd
      for (int64_t j = 0; j < V; ++j) d[j] += sc * fast_exp(r[j] - lse);
    }
    d[t[i]] -= sc;
  }
  return info.Env().Undefined();
}

// klDivForward(s, t, N, V, T) -> KL(softmax(t/T) || softmax(s/T)) summed over V, averaged over
//   the N rows ("batchmean"), times T^2 (Hinton et al.; distiller.py). s, t (N, V).
Napi::Value KlDivForward(const Napi::CallbackInfo& info) {
  Args a(info, "klDivForward");
  int64_t N = a.dim(2, "N"), V = a.dim(3, "V");
  double T = a.num(4, "temperature");
  if (!(T > 0)) a.fail("temperature must be positive");
  if (N > 0 && V == 0) a.fail("V must be positive: a softmax over no classes is undefined");
  const float* s = a.f32(0, "student_logits", N * V);
  const float* t = a.f32(1, "teacher_logits", N * V);
  const float invT = static_cast<float>(1.0 / T);
  double sum = 0.0;
#pragma omp parallel for reduction(+ : sum) schedule(static)
  for (int64_t i = 0; i < N; ++i) {
    const float* sr = s + i * V;
    const float* tr = t + i * V;
    const float ls = row_lse(sr, V, invT), lt = row_lse(tr, V, invT);
    float kl = 0.0f;
#pragma omp simd reduction(+ : kl)
    for (int64_t j = 0; j < V; ++j) {
      const float logpt = tr[j] * invT - lt, logps = sr[j] * invT - ls;
      kl += fast_exp(logpt) * (logpt - logps);
    }
    sum += kl;
  }
  return Napi::Number::New(info.Env(), N ? sum / static_cast<double>(N) * T * T : 0.0);
}

// klDivBackward(ds, s, t, N, V, T, g): ds += g * T / N * (softmax(s/T) - softmax(t/T)).
Napi::Value KlDivBackward(const Napi::CallbackInfo& info) {
  Args a(info, "klDivBackward");
  int64_t N = a.dim(3, "N"), V = a.dim(4, "V");
  double T = a.num(5, "temperature"), g = a.num(6, "g");
  if (!(T > 0)) a.fail("temperature must be positive");
  if (N > 0 && V == 0) a.fail("V must be positive: a softmax over no classes is undefined");
  float* ds = a.f32(0, "dstudent", N * V);
  const float* s = a.f32(1, "student_logits", N * V);
  const float* t = a.f32(2, "teacher_logits", N * V);
  if (N == 0) return info.Env().Undefined();
  const float invT = static_cast<float>(1.0 / T), c = static_cast<float>(g * T / static_cast<double>(N));
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < N; ++i) {
    const float* sr = s + i * V;
    const float* tr = t + i * V;
    float* d = ds + i * V;
    const float ls = row_lse(sr, V, invT), lt = row_lse(tr, V, invT);
#pragma omp simd
    for (int64_t j = 0; j < V; ++j) d[j] += c * (fast_exp(sr[j] * invT - ls) - fast_exp(tr[j] * invT - lt));
  }
  return info.Env().Undefined();
}

// PyTorch's cosine_embedding_loss adds this to each squared norm.
constexpr double kCosEps = 1e-12;

// cosineEmbeddingForward(x, y, N, C) -> mean over rows of 1 - cos(x_i, y_i) (target +1).
Napi::Value CosineForward(const Napi::CallbackInfo& info) {
  Args a(info, "cosineEmbeddingForward");
  int64_t N = a.dim(2, "N"), C = a.dim(3, "C");
  if (N > 0 && C == 0) a.fail("C must be positive: the cosine of empty vectors is undefined");
  const float* x = a.f32(0, "x", N * C);
  const float* y = a.f32(1, "y", N * C);
  double sum = 0.0;
#pragma omp parallel for reduction(+ : sum) schedule(static)
  for (int64_t i = 0; i < N; ++i) {
    double xy = 0, xx = kCosEps, yy = kCosEps;
    for (int64_t j = 0; j < C; ++j) {
      double p = x[i * C + j], q = y[i * C + j];
      xy += p * q;
      xx += p * p;
      yy += q * q;
    }
    sum += 1.0 - xy / std::sqrt(xx * yy);
  }
  return Napi::Number::New(info.Env(), N ? sum / static_cast<double>(N) : 0.0);
}

// cosineEmbeddingBackward(dx, dy, x, y, N, C, g): dx, dy (nullable) accumulate.
//   d(1 - cos)/dx = -(y / (|x||y|) - cos * x / |x|^2).
Napi::Value CosineBackward(const Napi::CallbackInfo& info) {
  Args a(info, "cosineEmbeddingBackward");
  int64_t N = a.dim(4, "N"), C = a.dim(5, "C");
  double g = a.num(6, "g");
  if (N > 0 && C == 0) a.fail("C must be positive: the cosine of empty vectors is undefined");
  float* dx = a.f32_opt(0, "dx", N * C);
  float* dy = a.f32_opt(1, "dy", N * C);
  const float* x = a.f32(2, "x", N * C);
  const float* y = a.f32(3, "y", N * C);
  if (N == 0) return info.Env().Undefined();
  const double c = -g / static_cast<double>(N);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < N; ++i) {
    const float* xr = x + i * C;
    const float* yr = y + i * C;
    double xy = 0, xx = kCosEps, yy = kCosEps;
    for (int64_t j = 0; j < C; ++j) {
      xy += static_cast<double>(xr[j]) * yr[j];
      xx += static_cast<double>(xr[j]) * xr[j];
      yy += static_cast<double>(yr[j]) * yr[j];
    }
    double nxy = std::sqrt(xx * yy), cos = xy / nxy;
    for (int64_t j = 0; j < C; ++j) {
      if (dx) dx[i * C + j] += static_cast<float>(c * (yr[j] / nxy - cos * xr[j] / xx));
      if (dy) dy[i * C + j] += static_cast<float>(c * (xr[j] / nxy - cos * yr[j] / yy));
    }
  }
  return info.Env().Undefined();
}

// mseForward(x, y, n) -> sum of (x - y)^2 (reduction "sum"; callers divide as docs/method.md §6 says).
Napi::Value MseForward(const Napi::CallbackInfo& info) {
  Args a(info, "mseForward");
  int64_t n = a.dim(2, "n");
  const float* x = a.f32(0, "x", n);
  const float* y = a.f32(1, "y", n);
  double sum = 0.0;
#pragma omp parallel for reduction(+ : sum) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    double d = static_cast<double>(x[i]) - y[i];
    sum += d * d;
  }
  return Napi::Number::New(info.Env(), sum);
}

// mseBackward(dx, dy, x, y, n, g): dx += 2 g (x - y); dy -= 2 g (x - y) (each nullable).
Napi::Value MseBackward(const Napi::CallbackInfo& info) {
  Args a(info, "mseBackward");
  int64_t n = a.dim(4, "n");
  double g = a.num(5, "g");
  float* dx = a.f32_opt(0, "dx", n);
  float* dy = a.f32_opt(1, "dy", n);
  const float* x = a.f32(2, "x", n);
  const float* y = a.f32(3, "y", n);
  const float c = static_cast<float>(2.0 * g);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    float d = c * (x[i] - y[i]);
    if (dx) dx[i] += d;
    if (dy) dy[i] -= d;
  }
  return info.Env().Undefined();
}

}  // namespace

void register_losses(Napi::Env env, Napi::Object exports) {
  exports.Set("crossEntropyForward", Napi::Function::New(env, CrossEntropyForward));
  exports.Set("crossEntropyBackward", Napi::Function::New(env, CrossEntropyBackward));
  exports.Set("klDivForward", Napi::Function::New(env, KlDivForward));
  exports.Set("klDivBackward", Napi::Function::New(env, KlDivBackward));
  exports.Set("cosineEmbeddingForward", Napi::Function::New(env, CosineForward));
  exports.Set("cosineEmbeddingBackward", Napi::Function::New(env, CosineBackward));
  exports.Set("mseForward", Napi::Function::New(env, MseForward));
  exports.Set("mseBackward", Napi::Function::New(env, MseBackward));
}

}  // namespace distil
