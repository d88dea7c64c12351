// Inference linear layer over pre-packed weights, in fp32, bf16 or int8.
//
//   linearPacked(Y, X, W, bias, M, N, K, version, precision, gelu)
//     Y (M, N) = X (M, K) . W^T + bias (N), W (N, K) as a PyTorch Linear weight; Y, X fp32;
//     with `gelu`, Y = GELU(X W^T + bias) in the same pass (a oneDNN post-op, or the int8 epilogue).
//     precision 0 = fp32, 1 = bf16 (X and W rounded to bf16, fp32 accumulation),
//               2 = int8 (dynamic quantization: X to uint8 per tensor, W to int8 per output row).
//
// The training matmul (matmul.cc) reads W in its plain layout, so oneDNN repacks it on every call;
// for the few rows of a batch-1 forward that repacking is most of the work. Here the primitive asks
// oneDNN for its preferred weight layout (format `any`) and W is converted and reordered into it
// once, cached by the weight's address; `version` (the model's parameter version, bumped on every
// update or load) invalidates the copy when the weights change.
//
// int8 follows onnxruntime's dynamic quantization (DynamicQuantizeLinear + MatMulInteger), so our
// int8 path and an int8 ONNX export agree: X ~= sx (Xq - zx), W[n] ~= sw[n] Wq[n], and
//   Y[m, n] = sx sw[n] (sum_k Xq[m, k] Wq[n, k] - zx sum_k Wq[n, k]) + bias[n],
// the integer sum coming from oneDNN's u8 x s8 -> s32 matmul (AVX-512 VNNI).
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_map>
#include <vector>

#include "common.h"
#include "lru.h"
#include "fastmath.h"
#include "lowp.h"

namespace distil {

dnnl::engine& cpu_engine();
dnnl::stream& cpu_stream();

namespace {

using dnnl::memory;
using dt = memory::data_type;
using tag = memory::format_tag;

enum Precision { kF32 = 0, kBF16 = 1, kInt8 = 2 };

struct PrimKey {
  int64_t M, N, K;
  bool bias;
  int precision;
  bool gelu;
  bool operator==(const PrimKey& o) const {
    return M == o.M && N == o.N && K == o.K && bias == o.bias && precision == o.precision && gelu == o.gelu;
  }
};
struct PrimKeyHash {
  size_t operator()(const PrimKey& k) const {
    size_t h = (std::hash<int64_t>()(k.M) * 1000003u ^ std::hash<int64_t>()(k.N)) * 1000003u ^ std::hash<int64_t>()(k.K);
    return h * 31u + (k.bias | k.precision << 1 | k.gelu << 3);
  }
};

struct Prim {
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul prim;
};

// A packed weight: the oneDNN memory, and for int8 the per-row scales and integer row sums.
struct Packed {
  double version;
  memory::desc desc;
  memory mem;
  std::vector<float> scale;
  std::vector<int32_t> row_sum;
};

Prim& get_prim(const PrimKey& k) {
  static LruCache<PrimKey, Prim, PrimKeyHash> cache;
  if (Prim* hit = cache.find(k)) return *hit;
  const dt src = k.precision == kInt8 ? dt::u8 : k.precision == kBF16 ? dt::bf16 : dt::f32;
  const dt wei = k.precision == kInt8 ? dt::s8 : src;
  const dt dst = k.precision == kInt8 ? dt::s32 : dt::f32;
  memory::desc a({k.M, k.K}, src, tag::ab);
  memory::desc w({k.K, k.N}, wei, tag::any);
  memory::desc c({k.M, k.N}, dst, tag::ab);
  // int8 adds the bias in its own epilogue (after dequantization), the others fuse it.
  std::unique_ptr<dnnl::matmul::desc> d;
  if (k.bias && k.precision != kInt8)
    d = std::make_unique<dnnl::matmul::desc>(a, w, memory::desc({1, k.N}, dt::f32, tag::ab), c);
  else d = std::make_unique<dnnl::matmul::desc>(a, w, c);
  dnnl::primitive_attr attr;
  if (k.gelu && k.precision != kInt8) {
    dnnl::post_ops po;
    po.append_eltwise(1.0f, dnnl::algorithm::eltwise_gelu_erf, 0.0f, 0.0f);
    attr.set_post_ops(po);
  }
  auto pd = dnnl::matmul::primitive_desc(*d, attr, cpu_engine());
  auto p = std::make_unique<Prim>(Prim{pd, dnnl::matmul(pd)});
  return cache.insert(k, std::move(p));
}

// Packed copies by weight address; one per (address, layout) since row counts and precisions pick layouts.
std::unordered_multimap<const float*, Packed>& packed_cache() {
  static std::unordered_multimap<const float*, Packed> cache;
  return cache;
}

Packed pack(const float* W, int64_t N, int64_t K, double version, const memory::desc& want, int precision) {
  Packed p{version, want, memory(want, cpu_engine()), {}, {}};
  if (precision == kInt8) {
    std::vector<int8_t> q(static_cast<size_t>(N * K));
    p.scale.resize(static_cast<size_t>(N));
    p.row_sum.resize(static_cast<size_t>(N));
    quantize_rows_s8(W, q.data(), p.scale.data(), p.row_sum.data(), N, K);
    memory plain(memory::desc({K, N}, dt::s8, tag::ba), cpu_engine(), q.data());
    dnnl::reorder(plain, p.mem).execute(cpu_stream(), plain, p.mem);
  } else {
    // W (N, K) row-major is the (K, N) weight matrix in format `ba`; the reorder also converts to bf16.
    memory plain(memory::desc({K, N}, dt::f32, tag::ba), cpu_engine(), const_cast<float*>(W));
    dnnl::reorder(plain, p.mem).execute(cpu_stream(), plain, p.mem);
  }
  cpu_stream().wait();
  return p;
}

Packed& packed_weights(const float* W, int64_t N, int64_t K, double version, const memory::desc& want, int precision) {
  auto& cache = packed_cache();
  auto range = cache.equal_range(W);
  for (auto it = range.first; it != range.second;) {
    if (it->second.version != version) {
      it = cache.erase(it);
      continue;
    }
    if (it->second.desc == want) return it->second;
    ++it;
  }
  return cache.emplace(W, pack(W, N, K, version, want, precision))->second;
}

// Y (M, N) = sx sw[n] (acc[m, n] - zx row_sum[n]) + bias[n]  (see the header comment), then GELU.
void dequantize(float* Y, const int32_t* acc, const U8Quant& xq, const Packed& w, const float* bias, bool gelu,
                int64_t M, int64_t N) {
#pragma omp parallel for schedule(static) if (M * N > 16384)
  for (int64_t m = 0; m < M; ++m) {
    const int32_t* a = acc + m * N;
    float* y = Y + m * N;
    for (int64_t n = 0; n < N; ++n) {
      float v = xq.scale * w.scale[n] * static_cast<float>(a[n] - xq.zero_point * w.row_sum[n]);
      y[n] = bias ? v + bias[n] : v;
    }
    if (gelu) {
#pragma omp simd
      for (int64_t n = 0; n < N; ++n) y[n] = gelu_erf(y[n]);
    }
  }
}

Napi::Value LinearPacked(const Napi::CallbackInfo& info) {
  Args a(info, "linearPacked");
  int64_t M = a.dim(4, "M"), N = a.dim(5, "N"), K = a.dim(6, "K");
  double version = a.num(7, "version");
  int precision = info.Length() > 8 ? static_cast<int>(a.u32(8, "precision")) : kF32;
  if (precision > kInt8) a.fail("precision must be 0 (fp32), 1 (bf16) or 2 (int8)");
  const bool gelu = info.Length() > 9 && a.flag(9, "gelu");
  float* Y = a.f32(0, "Y", M * N);
  const float* X = a.f32(1, "X", M * K);
  const float* W = a.f32(2, "W", N * K);
  const float* bias = a.f32_opt(3, "bias", N);
  if (M == 0 || N == 0) return info.Env().Undefined();
  if (K == 0) a.fail("K must be positive");
  Prim& p = get_prim({M, N, K, bias != nullptr, precision, gelu});
  Packed& w = packed_weights(W, N, K, version, p.pd.weights_desc(), precision);
  auto& eng = cpu_engine();
  static Scratch<uint16_t> x16;
  static Scratch<uint8_t> x8;
  static Scratch<int32_t> acc;
  void* src = const_cast<float*>(X);
  void* dst = Y;
  U8Quant xq{1.0f, 0};
  if (precision == kBF16) {
    src = x16.get(M * K);
    to_bf16(X, static_cast<uint16_t*>(src), M * K);
  } else if (precision == kInt8) {
    src = x8.get(M * K);
    xq = quantize_u8(X, static_cast<uint8_t*>(src), M * K);
    dst = acc.get(M * N);
  }
  memory mx(p.pd.src_desc(), eng, src), my(p.pd.dst_desc(), eng, dst);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, mx}, {DNNL_ARG_WEIGHTS, w.mem}, {DNNL_ARG_DST, my}};
  if (bias && precision != kInt8) args.emplace(DNNL_ARG_BIAS, memory(p.pd.bias_desc(), eng, const_cast<float*>(bias)));
  p.prim.execute(cpu_stream(), args);
  cpu_stream().wait();
  if (precision == kInt8) dequantize(Y, static_cast<int32_t*>(dst), xq, w, bias, gelu, M, N);
  return info.Env().Undefined();
}

// Drop every packed copy (frees their memory; they are rebuilt on next use).
Napi::Value ClearPacked(const Napi::CallbackInfo& info) {
  packed_cache().clear();
  return info.Env().Undefined();
}

}  // namespace

void register_linear_packed(Napi::Env env, Napi::Object exports) {
  exports.Set("linearPacked", Napi::Function::New(env, LinearPacked));
  exports.Set("clearPacked", Napi::Function::New(env, ClearPacked));
}

}  // namespace distil
