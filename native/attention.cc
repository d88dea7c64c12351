// Fused multi-head self-attention: scores, key-padding mask, softmax, dropout and context in one
// pass per (batch, head), and the matching backward. Heads are read in place from the (B, T, C)
// projections with a leading dimension of C, so there is no split-heads transpose copy.
//
// Legend: B batch, T sequence, H heads, D head size, C = H * D.
//   attentionForward(ctx, probs, q, k, v, mask, B, T, H, D, dropout_p, seed)
//     q, k, v, ctx (B, T, C); probs (B, H, T, T) softmax before dropout, or null: not kept;
//     mask (B, T) Int32 1 = real token, 0 = padding (null: no padding).
//   attentionBackward(dq, dk, dv, dctx, probs, q, k, v, mask, B, T, H, D, dropout_p, seed)
//     dq, dk, dv (B, T, C) accumulate (+=). With probs null, each (batch, head)'s probabilities are
//     recomputed from q, k and mask (one T x T x D product and a softmax, as flash attention does):
//     training keeps q, k, v, which the backward needs anyway, instead of B * H * T * T floats.
// Semantics match Hugging Face BERT/DistilBERT: scores / sqrt(D), padded keys get probability 0,
// dropout on the probabilities with scale 1 / (1 - p). A row whose keys are all padding becomes
// uniform, as HF's finfo.min fill produces.
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>

#include <cmath>
#include <vector>

#include "common.h"
#include "fastmath.h"

namespace distil {

namespace {

void sgemm(char ta, char tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  // Called inside an OpenMP parallel region: oneDNN then runs it on the calling thread only.
  dnnl_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

// Padding as two per-key vectors, so the softmax loops have no branches and vectorize:
// bias 0 / -1e30 keeps padded keys out of the max, keep 1 / 0 makes their probability exactly 0.
struct KeyMask {
  std::vector<float> bias, keep;
  bool any_key = true;
  void set(const int32_t* mask, int64_t T) {
    bias.assign(T, 0.0f);
    keep.assign(T, 1.0f);
    any_key = !mask;
    for (int64_t j = 0; mask && j < T; ++j) {
      if (mask[j]) any_key = true;
      else bias[j] = -1e30f, keep[j] = 0.0f;
    }
  }
};

// probs row = softmax(scores row) over the unmasked keys; writes exact zeros at padded keys.
void masked_softmax_row(float* row, const KeyMask& km, int64_t T) {
  if (!km.any_key) {
    for (int64_t j = 0; j < T; ++j) row[j] = 1.0f / static_cast<float>(T);
    return;
  }
  const float* kb = km.bias.data();
  const float* keep = km.keep.data();
  float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
  for (int64_t j = 0; j < T; ++j) mx = std::max(mx, row[j] + kb[j]);
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (int64_t j = 0; j < T; ++j) {
    float e = fast_exp(row[j] + kb[j] - mx) * keep[j];
    row[j] = e;
    sum += e;
  }
  float inv = 1.0f / sum;
#pragma omp simd
  for (int64_t j = 0; j < T; ++j) row[j] *= inv;
}

// out = probs with dropout applied (element counter = offset + index within the (T, T) block).
void apply_dropout(float* out, const float* in, int64_t n, uint64_t offset, uint32_t seed, uint32_t thr,
                   float scale) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = hash_u32(seed, offset + static_cast<uint64_t>(i)) < thr ? 0.0f : in[i] * scale;
}

// P (T, T) = softmax(scale q_h k_h^T) over the unmasked keys, for one (batch, head).
void softmax_scores(float* P, const float* qh, const float* kh, const KeyMask& km, int64_t T, int64_t D, int64_t C,
                    float scale) {
  sgemm('N', 'T', T, T, D, scale, qh, C, kh, C, 0.0f, P, T);
  for (int64_t i = 0; i < T; ++i) masked_softmax_row(P + i * T, km, T);
}

struct Dims {
  int64_t B, T, H, D, C;
};

Dims read_dims(Args& a, size_t first) {
  Dims d{a.dim(first, "B"), a.dim(first + 1, "T"), a.dim(first + 2, "H"), a.dim(first + 3, "D"), 0};
  a.extent({d.T});  // probs hold B * H * T * T values: T counts twice
  if (d.D == 0 && d.B * d.H * d.T > 0) a.fail("D must be positive: attention scores are scaled by 1/sqrt(D)");
  d.C = d.H * d.D;
  return d;
}

// What both directions read after the buffers' dimensions: dropout probability and seed, and the
// constants derived from them and the head size.
struct Setup {
  Dims d;
  double p;
  uint32_t seed, thr;
  float scale, keep_scale;
};

Setup read_setup(Args& a, size_t first_dim) {
  Setup s{read_dims(a, first_dim), a.num(first_dim + 4, "dropout_p"), a.u32(first_dim + 5, "seed"), 0, 0.0f, 0.0f};
  if (!(s.p >= 0.0 && s.p < 1.0)) a.fail("dropout probability must be in [0, 1)");
  s.thr = drop_threshold(s.p);
  s.scale = 1.0f / std::sqrt(static_cast<float>(s.d.D));
  s.keep_scale = static_cast<float>(1.0 / (1.0 - s.p));
  return s;
}

Napi::Value AttentionForward(const Napi::CallbackInfo& info) {
  Args a(info, "attentionForward");
  const Setup st = read_setup(a, 6);
  const Dims d = st.d;
  const double p = st.p;
  const uint32_t seed = st.seed, thr = st.thr;
  const float scale = st.scale, keep_scale = st.keep_scale;
  const int64_t btc = d.B * d.T * d.C, T = d.T, D = d.D, C = d.C;
  float* ctx = a.f32(0, "ctx", btc);
  float* probs = a.f32_opt(1, "probs", d.B * d.H * T * T);
  const float* q = a.f32(2, "q", btc);
  const float* k = a.f32(3, "k", btc);
  const float* v = a.f32(4, "v", btc);
  const int32_t* mask = a.i32_opt(5, "mask", d.B * T);
  // Nothing to compute; returning here also skips the T * T scratch a zero B or H would not bound.
  if (d.B * d.H * T == 0) return info.Env().Undefined();
#pragma omp parallel
  {
    std::vector<float> dropped(p > 0 ? T * T : 0), scratch(probs ? 0 : T * T);
    KeyMask km;
    int64_t km_batch = -1;
#pragma omp for schedule(static)
    for (int64_t bh = 0; bh < d.B * d.H; ++bh) {
      const int64_t b = bh / d.H, h = bh % d.H, base = b * T * C + h * D;
      float* P = probs ? probs + bh * T * T : scratch.data();
      if (b != km_batch) km.set(mask ? mask + b * T : nullptr, T), km_batch = b;
      softmax_scores(P, q + base, k + base, km, T, D, C, scale);
      const float* Pd = P;
      if (p > 0) {
        apply_dropout(dropped.data(), P, T * T, static_cast<uint64_t>(bh) * T * T, seed, thr, keep_scale);
        Pd = dropped.data();
      }
      sgemm('N', 'N', T, D, T, 1.0f, Pd, T, v + base, C, 0.0f, ctx + base, C);
    }
  }
  return info.Env().Undefined();
}

Napi::Value AttentionBackward(const Napi::CallbackInfo& info) {
  Args a(info, "attentionBackward");
  const Setup st = read_setup(a, 9);
  const Dims d = st.d;
  const double p = st.p;
  const uint32_t seed = st.seed, thr = st.thr;
  const float scale = st.scale, keep_scale = st.keep_scale;
  const int64_t btc = d.B * d.T * d.C, T = d.T, D = d.D, C = d.C;
  float* dq = a.f32(0, "dq", btc);
  float* dk = a.f32(1, "dk", btc);
  float* dv = a.f32(2, "dv", btc);
  const float* dctx = a.f32(3, "dctx", btc);
  const float* probs = a.f32_opt(4, "probs", d.B * d.H * T * T);
  const float* q = a.f32(5, "q", btc);
  const float* k = a.f32(6, "k", btc);
  const float* v = a.f32(7, "v", btc);
  const int32_t* mask = a.i32_opt(8, "mask", d.B * T);
  if (d.B * d.H * T == 0) return info.Env().Undefined();
#pragma omp parallel
  {
    std::vector<float> dP(T * T), Pd(p > 0 ? T * T : 0), scratch(probs ? 0 : T * T);
    KeyMask km;
    int64_t km_batch = -1;
#pragma omp for schedule(static)
    for (int64_t bh = 0; bh < d.B * d.H; ++bh) {
      const int64_t b = bh / d.H, h = bh % d.H, base = b * T * C + h * D;
      const float* P = probs ? probs + bh * T * T : nullptr;
      if (!probs) {
        if (b != km_batch) km.set(mask ? mask + b * T : nullptr, T), km_batch = b;
        softmax_scores(scratch.data(), q + base, k + base, km, T, D, C, scale);
        P = scratch.data();
      }
      const uint64_t off = static_cast<uint64_t>(bh) * T * T;
      // dPd (T, T) = dctx_h (T, D) . v_h^T
      sgemm('N', 'T', T, T, D, 1.0f, dctx + base, C, v + base, C, 0.0f, dP.data(), T);
      const float* Pused = P;
      if (p > 0) {
        apply_dropout(Pd.data(), P, T * T, off, seed, thr, keep_scale);
        Pused = Pd.data();
        // Through the dropout: dP = dPd * keep * scale.
        for (int64_t i = 0; i < T * T; ++i)
          if (hash_u32(seed, off + static_cast<uint64_t>(i)) < thr) dP[i] = 0.0f; else dP[i] *= keep_scale;
      }
      // dv_h (T, D) += Pd^T . dctx_h
      sgemm('T', 'N', T, D, T, 1.0f, Pused, T, dctx + base, C, 1.0f, dv + base, C);
      // Softmax backward, in place: dS = P * (dP - sum_j dP * P).
      for (int64_t i = 0; i < T; ++i) {
        float* r = dP.data() + i * T;
        const float* pr = P + i * T;
        float dot = 0.0f;
        for (int64_t j = 0; j < T; ++j) dot += r[j] * pr[j];
        for (int64_t j = 0; j < T; ++j) r[j] = pr[j] * (r[j] - dot);
      }
      // Scores were scale * q k^T: dq_h += scale dS k_h, dk_h += scale dS^T q_h.
      sgemm('N', 'N', T, D, T, scale, dP.data(), T, k + base, C, 1.0f, dq + base, C);
      sgemm('T', 'N', T, D, T, scale, dP.data(), T, q + base, C, 1.0f, dk + base, C);
    }
  }
  return info.Env().Undefined();
}

}  // namespace

void register_attention(Napi::Env env, Napi::Object exports) {
  exports.Set("attentionForward", Napi::Function::New(env, AttentionForward));
  exports.Set("attentionBackward", Napi::Function::New(env, AttentionBackward));
}

}  // namespace distil
