// Inference linear layer over pre-packed weights.
//
//   linearPacked(Y, X, W, bias, M, N, K, version)
//     Y (M, N) = X (M, K) . W^T + bias (N), W (N, K) as a PyTorch Linear weight.
//
// The training matmul (matmul.cc) reads W in its plain layout, so oneDNN repacks it on every call;
// for the few rows of a batch-1 forward that repacking is most of the work. Here the primitive asks
// oneDNN for its preferred weight layout (format `any`) and W is reordered into it once, cached by
// the weight's address; `version` (the model's parameter version, bumped on every update or load)
// invalidates the copy when the weights change.
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_map>

#include "common.h"

namespace distil {

dnnl::engine& cpu_engine();
dnnl::stream& cpu_stream();

namespace {

using dnnl::memory;
using dt = memory::data_type;
using tag = memory::format_tag;

struct PrimKey {
  int64_t M, N, K;
  bool bias;
  bool operator==(const PrimKey& o) const { return M == o.M && N == o.N && K == o.K && bias == o.bias; }
};
struct PrimKeyHash {
  size_t operator()(const PrimKey& k) const {
    return (std::hash<int64_t>()(k.M) * 1000003u ^ std::hash<int64_t>()(k.N)) * 1000003u ^ std::hash<int64_t>()(k.K) ^ k.bias;
  }
};

struct Prim {
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul prim;
};

struct Packed {
  double version;
  memory::desc desc;
  memory mem;
};

Prim& get_prim(const PrimKey& k) {
  static std::unordered_map<PrimKey, std::unique_ptr<Prim>, PrimKeyHash> cache;
  auto it = cache.find(k);
  if (it != cache.end()) return *it->second;
  memory::desc a({k.M, k.K}, dt::f32, tag::ab);
  memory::desc w({k.K, k.N}, dt::f32, tag::any);
  memory::desc c({k.M, k.N}, dt::f32, tag::ab);
  std::unique_ptr<dnnl::matmul::desc> d;
  if (k.bias) d = std::make_unique<dnnl::matmul::desc>(a, w, memory::desc({1, k.N}, dt::f32, tag::ab), c);
  else d = std::make_unique<dnnl::matmul::desc>(a, w, c);
  auto pd = dnnl::matmul::primitive_desc(*d, cpu_engine());
  auto p = std::make_unique<Prim>(Prim{pd, dnnl::matmul(pd)});
  return *cache.emplace(k, std::move(p)).first->second;
}

// Packed copies by weight address; one per (address, layout) since row counts may pick layouts.
std::unordered_multimap<const float*, Packed>& packed_cache() {
  static std::unordered_multimap<const float*, Packed> cache;
  return cache;
}

memory& packed_weights(const float* W, int64_t N, int64_t K, double version, const memory::desc& want) {
  auto& cache = packed_cache();
  auto range = cache.equal_range(W);
  for (auto it = range.first; it != range.second;) {
    if (it->second.version != version) {
      it = cache.erase(it);
      continue;
    }
    if (it->second.desc == want) return it->second.mem;
    ++it;
  }
  // W (N, K) row-major is the (K, N) weight matrix in format `ba`.
  memory plain(memory::desc({K, N}, dt::f32, tag::ba), cpu_engine(), const_cast<float*>(W));
  memory mem(want, cpu_engine());
  dnnl::reorder(plain, mem).execute(cpu_stream(), plain, mem);
  cpu_stream().wait();
  return cache.emplace(W, Packed{version, want, mem})->second.mem;
}

Napi::Value LinearPacked(const Napi::CallbackInfo& info) {
  Args a(info, "linearPacked");
  int64_t M = a.dim(4, "M"), N = a.dim(5, "N"), K = a.dim(6, "K");
  double version = a.num(7, "version");
  float* Y = a.f32(0, "Y", M * N);
  const float* X = a.f32(1, "X", M * K);
  const float* W = a.f32(2, "W", N * K);
  const float* bias = a.f32_opt(3, "bias", N);
  if (M == 0 || N == 0) return info.Env().Undefined();
  if (K == 0) a.fail("K must be positive");
  Prim& p = get_prim({M, N, K, bias != nullptr});
  memory& w = packed_weights(W, N, K, version, p.pd.weights_desc());
  auto& eng = cpu_engine();
  memory mx(p.pd.src_desc(), eng, const_cast<float*>(X)), my(p.pd.dst_desc(), eng, Y);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, mx}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, my}};
  if (bias) args.emplace(DNNL_ARG_BIAS, memory(p.pd.bias_desc(), eng, const_cast<float*>(bias)));
  p.prim.execute(cpu_stream(), args);
  cpu_stream().wait();
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
