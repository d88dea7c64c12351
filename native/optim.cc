// Optimizer kernels over the flat parameter buffer (params.ts): global gradient norm and a fused
// AdamW step that also applies gradient clipping, one pass over params, grads and both moments.
#include <omp.h>

#include <cmath>

#include "common.h"

namespace distil {

namespace {

// gradNorm(grad, n) -> sqrt(sum grad^2), accumulated in double.
Napi::Value GradNorm(const Napi::CallbackInfo& info) {
  Args a(info, "gradNorm");
  int64_t n = a.dim(1, "n");
  const float* g = a.f32(0, "grad", n);
  double sum = 0.0;
#pragma omp parallel for reduction(+ : sum) schedule(static)
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(g[i]) * g[i];
  return Napi::Number::New(info.Env(), std::sqrt(sum));
}

// adamwStep(param, grad, m, v, decay_mask, n, lr, beta1, beta2, eps, weight_decay, step, grad_scale)
//   PyTorch 1.13 AdamW, same operation order:
//     p *= 1 - lr * wd (where decay_mask[i] = 1, or everywhere when the mask is null)
//     m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2      with g = grad_scale * grad (clipping)
//     p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
Napi::Value AdamwStep(const Napi::CallbackInfo& info) {
  Args a(info, "adamwStep");
  int64_t n = a.dim(5, "n");
  double lr = a.num(6, "lr"), b1 = a.num(7, "beta1"), b2 = a.num(8, "beta2"), eps = a.num(9, "eps");
  double wd = a.num(10, "weight_decay");
  int64_t step = a.integer(11, "step");
  double gs = a.num(12, "grad_scale");
  if (step < 1) a.fail("step counts from 1");
  if (!(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1)) a.fail("betas must be in [0, 1)");
  float* p = a.f32(0, "param", n);
  const float* g = a.f32(1, "grad", n);
  float* m = a.f32(2, "exp_avg", n);
  float* v = a.f32(3, "exp_avg_sq", n);
  const uint8_t* mask = nullptr;
  if (!info[4].IsNull() && !info[4].IsUndefined()) mask = a.u8(4, "decay_mask", n);
  const float decay = static_cast<float>(1.0 - lr * wd);
  const float fb1 = static_cast<float>(b1), fb2 = static_cast<float>(b2);
  const float step_size = static_cast<float>(lr / (1.0 - std::pow(b1, static_cast<double>(step))));
  const float bc2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(b2, static_cast<double>(step))));
  const float feps = static_cast<float>(eps), fgs = static_cast<float>(gs);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    float gi = g[i] * fgs;
    if (!mask || mask[i]) p[i] *= decay;
    m[i] = fb1 * m[i] + (1.0f - fb1) * gi;
    v[i] = fb2 * v[i] + (1.0f - fb2) * gi * gi;
    p[i] -= step_size * m[i] / (std::sqrt(v[i]) / bc2_sqrt + feps);
  }
  return info.Env().Undefined();
}

}  // namespace

void register_optim(Napi::Env env, Napi::Object exports) {
  exports.Set("gradNorm", Napi::Function::New(env, GradNorm));
  exports.Set("adamwStep", Napi::Function::New(env, AdamwStep));
}

}  // namespace distil
