// Matrix products through oneDNN matmul primitives, cached by shape (the most recently used: lru.h).
//
//   matmul(C, A, B, bias, batch, M, N, K, transA, transB, accumulate)
//     C (batch, M, N)  = or +=  op(A) (batch, M, K) . op(B) (batch, K, N)  [+ bias (N)]
//     A is stored (batch, M, K), or (batch, K, M) when transA;
//     B is stored (batch, K, N), or (batch, N, K) when transB (a PyTorch Linear weight [out, in]).
//   biasGrad(dbias, dY, M, N): dbias (N) += column sums of dY (M, N).
//
// With `bf16` set (mixed-precision training), A and B are rounded to bfloat16 and multiplied with
// fp32 accumulation into the fp32 C: the conversion is one pass over each operand, the GEMM runs
// at the bf16 rate (~2x fp32 on avx512_bf16). C, bias and the `+=` stay fp32.
//
// Transposes are expressed as strides of the memory descriptors, so no operand is ever copied.
// Accumulation (gradients use +=) is a `sum` post-op, fused into the GEMM's write-back.
#include <omp.h>

#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_map>
#include <vector>

#include "common.h"
#include "lru.h"
#include "lowp.h"

namespace distil {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

dnnl::engine& cpu_engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

dnnl::stream& cpu_stream() {
  static dnnl::stream s(cpu_engine());
  return s;
}

namespace {

struct MatmulKey {
  int64_t batch, M, N, K;
  bool ta, tb, bias, acc, bf16;
  bool operator==(const MatmulKey& o) const {
    return batch == o.batch && M == o.M && N == o.N && K == o.K && ta == o.ta && tb == o.tb &&
           bias == o.bias && acc == o.acc && bf16 == o.bf16;
  }
};

struct MatmulKeyHash {
  size_t operator()(const MatmulKey& k) const {
    size_t h = std::hash<int64_t>()(k.batch);
    for (int64_t v : {k.M, k.N, k.K}) h = h * 1000003u ^ std::hash<int64_t>()(v);
    return h * 31u + (k.ta | k.tb << 1 | k.bias << 2 | k.acc << 3 | k.bf16 << 4);
  }
};

struct MatmulPrim {
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul prim;
};

// Row-major (batch, rows, cols) descriptor, optionally describing the transpose of what is stored.
memory::desc plain_desc(int64_t batch, int64_t rows, int64_t cols, bool transposed_storage, dt type = dt::f32) {
  if (batch == 1) {
    return transposed_storage ? memory::desc({rows, cols}, type, memory::dims{1, rows})
                              : memory::desc({rows, cols}, type, memory::dims{cols, 1});
  }
  return transposed_storage ? memory::desc({batch, rows, cols}, type, memory::dims{rows * cols, 1, rows})
                            : memory::desc({batch, rows, cols}, type, memory::dims{rows * cols, cols, 1});
}

MatmulPrim& get_prim(const MatmulKey& k) {
  static LruCache<MatmulKey, MatmulPrim, MatmulKeyHash> cache;
  if (MatmulPrim* hit = cache.find(k)) return *hit;
  const dt in = k.bf16 ? dt::bf16 : dt::f32;
  memory::desc a = plain_desc(k.batch, k.M, k.K, k.ta, in);
  memory::desc b = plain_desc(k.batch, k.K, k.N, k.tb, in);
  memory::desc c = plain_desc(k.batch, k.M, k.N, false);
  dnnl::primitive_attr attr;
  if (k.acc) {
    dnnl::post_ops po;
    po.append_sum(1.0f);
    attr.set_post_ops(po);
  }
  std::unique_ptr<dnnl::matmul::desc> d;
  if (k.bias) {
    memory::desc bd = k.batch == 1 ? memory::desc({1, k.N}, dt::f32, tag::ab)
                                   : memory::desc({1, 1, k.N}, dt::f32, tag::abc);
    d = std::make_unique<dnnl::matmul::desc>(a, b, bd, c);
  } else {
    d = std::make_unique<dnnl::matmul::desc>(a, b, c);
  }
  auto pd = dnnl::matmul::primitive_desc(*d, attr, cpu_engine());
  auto p = std::make_unique<MatmulPrim>(MatmulPrim{pd, dnnl::matmul(pd)});
  return cache.insert(k, std::move(p));
}

Napi::Value Matmul(const Napi::CallbackInfo& info) {
  Args a(info, "matmul");
  MatmulKey k{};
  k.batch = a.dim(4, "batch");
  k.M = a.dim(5, "M");
  k.N = a.dim(6, "N");
  k.K = a.dim(7, "K");
  k.ta = a.flag(8, "transA");
  k.tb = a.flag(9, "transB");
  k.acc = a.flag(10, "accumulate");
  k.bf16 = info.Length() > 11 && a.flag(11, "bf16");
  float* C = a.f32(0, "C", k.batch * k.M * k.N);
  float* A = a.f32(1, "A", k.batch * k.M * k.K);
  float* B = a.f32(2, "B", k.batch * k.K * k.N);
  float* bias = a.f32_opt(3, "bias", k.N);
  k.bias = bias != nullptr;
  if (k.batch == 0 || k.M == 0 || k.N == 0) return info.Env().Undefined();
  if (k.K == 0) {
    if (!k.acc) std::fill(C, C + k.batch * k.M * k.N, 0.0f);
    return info.Env().Undefined();
  }
  MatmulPrim& p = get_prim(k);
  auto& eng = cpu_engine();
  void* src = A;
  void* wei = B;
  if (k.bf16) {
    static Scratch<uint16_t> a16, b16;
    src = a16.get(k.batch * k.M * k.K);
    wei = b16.get(k.batch * k.K * k.N);
    to_bf16(A, static_cast<uint16_t*>(src), k.batch * k.M * k.K);
    to_bf16(B, static_cast<uint16_t*>(wei), k.batch * k.K * k.N);
  }
  memory ma(p.pd.src_desc(), eng, src), mb(p.pd.weights_desc(), eng, wei), mc(p.pd.dst_desc(), eng, C);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}};
  if (bias) args.emplace(DNNL_ARG_BIAS, memory(p.pd.bias_desc(), eng, bias));
  p.prim.execute(cpu_stream(), args);
  cpu_stream().wait();
  return info.Env().Undefined();
}

// dbias (N) += sum over rows of dY (M, N). Threads own disjoint column blocks: no reduction races.
Napi::Value BiasGrad(const Napi::CallbackInfo& info) {
  Args a(info, "biasGrad");
  int64_t M = a.dim(2, "M"), N = a.dim(3, "N");
  float* db = a.f32(0, "dbias", N);
  const float* dy = a.f32(1, "dY", M * N);
  constexpr int64_t kBlock = 64;
#pragma omp parallel for schedule(static)
  for (int64_t j0 = 0; j0 < N; j0 += kBlock) {
    int64_t j1 = std::min(N, j0 + kBlock);
    float acc[kBlock] = {0};
    for (int64_t i = 0; i < M; ++i) {
      const float* row = dy + i * N;
      for (int64_t j = j0; j < j1; ++j) acc[j - j0] += row[j];
    }
    for (int64_t j = j0; j < j1; ++j) db[j] += acc[j - j0];
  }
  return info.Env().Undefined();
}

}  // namespace

void register_matmul(Napi::Env env, Napi::Object exports) {
  exports.Set("matmul", Napi::Function::New(env, Matmul));
  exports.Set("biasGrad", Napi::Function::New(env, BiasGrad));
}

}  // namespace distil
