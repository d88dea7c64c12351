// Shared helpers for the addon: argument access with validation, and the kernel registry.
// Every kernel validates each buffer length against the dimensions it is given before it touches
// memory, and reports a bad call as a JS exception (Napi::Error), never as a crash.
#pragma once
#include <napi.h>

#include <cstdint>
#include <initializer_list>
#include <string>

namespace distil {

// Argument reader: pulls positional arguments of a kernel call and checks their types.
class Args {
 public:
  Args(const Napi::CallbackInfo& info, const char* fn) : info_(info), fn_(fn) {}

  // A Float32Array argument; `what` names it in errors.
  float* f32(size_t i, const char* what, int64_t expected_len);
  // A Float32Array that may be null/undefined (returns nullptr).
  float* f32_opt(size_t i, const char* what, int64_t expected_len);
  int32_t* i32(size_t i, const char* what, int64_t expected_len);
  int32_t* i32_opt(size_t i, const char* what, int64_t expected_len);
  uint8_t* u8(size_t i, const char* what, int64_t expected_len);
  // A non-negative integer dimension. Dimensions multiply into buffer lengths, so the product of
  // every dimension read so far (zeros counted as 1) must stay below 2^62: then no product of a
  // subset of them can overflow int64 and wrap around to a length that a short buffer matches.
  int64_t dim(size_t i, const char* what);
  // Also keep the product of `dims` below 2^62, for lengths that use a dimension twice (T * T).
  void extent(std::initializer_list<int64_t> dims);
  double num(size_t i, const char* what);
  // An integral number within +-2^53 (indices such as ignore_index, counts such as the step).
  int64_t integer(size_t i, const char* what);
  bool flag(size_t i, const char* what);
  uint32_t u32(size_t i, const char* what);

  [[noreturn]] void fail(const std::string& msg) const;
  Napi::Env env() const { return info_.Env(); }

 private:
  Napi::Value arg(size_t i, const char* what) const;
  int64_t whole(size_t i, const char* what, double lo, double hi);
  const Napi::CallbackInfo& info_;
  const char* fn_;
  // Product of the dimensions read, each at least 1 (see dim()).
  int64_t extent_ = 1;
};

// Anonymous memory of at least `bytes`, rounded up to 2 MiB and advised to use transparent huge
// pages (alloc.cc); `*mapped` receives the size to pass to huge_free. Throws std::bad_alloc.
void* huge_alloc(size_t bytes, size_t* mapped);
void huge_free(void* p, size_t mapped);

// Registration functions, one per kernel file.
void register_alloc(Napi::Env env, Napi::Object exports);
void register_signals(Napi::Env env, Napi::Object exports);
void register_matmul(Napi::Env env, Napi::Object exports);
void register_linear_packed(Napi::Env env, Napi::Object exports);
void register_attention(Napi::Env env, Napi::Object exports);
void register_layers(Napi::Env env, Napi::Object exports);
void register_losses(Napi::Env env, Napi::Object exports);
void register_optim(Napi::Env env, Napi::Object exports);

// Counter-based hash used as the dropout RNG: the keep decision for element i under seed s is a
// pure function of (s, i), so backward recomputes the mask instead of storing it, and a resumed
// run reproduces it exactly.
inline uint32_t hash_u32(uint32_t seed, uint64_t i) {
  uint64_t z = (static_cast<uint64_t>(seed) << 32) ^ (i + 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<uint32_t>(z >> 32);
}

// Threshold such that hash < threshold drops the element with probability p.
inline uint32_t drop_threshold(double p) {
  double t = p * 4294967296.0;
  return t >= 4294967295.0 ? 0xFFFFFFFFu : static_cast<uint32_t>(t);
}

}  // namespace distil
