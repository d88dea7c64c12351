// Argument validation for every kernel call (see common.h).
#include "common.h"

namespace distil {

namespace {
// Largest dimension accepted: keeps products of a few dims far from int64 overflow.
constexpr int64_t kMaxDim = int64_t(1) << 40;
}  // namespace

void Args::fail(const std::string& msg) const {
  throw Napi::Error::New(info_.Env(), std::string(fn_) + ": " + msg);
}

Napi::Value Args::arg(size_t i, const char* what) const {
  if (i >= info_.Length()) fail(std::string("missing argument '") + what + "'");
  return info_[i];
}

template <typename T, napi_typedarray_type Kind>
static T* typed(const Args& a, Napi::Value v, const char* what, int64_t expected, const char* tname) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != Kind)
    a.fail(std::string("'") + what + "' must be a " + tname);
  auto arr = v.As<Napi::TypedArrayOf<T>>();
  int64_t len = static_cast<int64_t>(arr.ElementLength());
  if (expected >= 0 && len != expected)
    a.fail(std::string("'") + what + "' has " + std::to_string(len) + " elements, expected " +
           std::to_string(expected));
  return arr.Data();
}

float* Args::f32(size_t i, const char* what, int64_t n) {
  return typed<float, napi_float32_array>(*this, arg(i, what), what, n, "Float32Array");
}

float* Args::f32_opt(size_t i, const char* what, int64_t n) {
  if (i >= info_.Length() || info_[i].IsNull() || info_[i].IsUndefined()) return nullptr;
  return f32(i, what, n);
}

int32_t* Args::i32(size_t i, const char* what, int64_t n) {
  return typed<int32_t, napi_int32_array>(*this, arg(i, what), what, n, "Int32Array");
}

int32_t* Args::i32_opt(size_t i, const char* what, int64_t n) {
  if (i >= info_.Length() || info_[i].IsNull() || info_[i].IsUndefined()) return nullptr;
  return i32(i, what, n);
}

uint8_t* Args::u8(size_t i, const char* what, int64_t n) {
  return typed<uint8_t, napi_uint8_array>(*this, arg(i, what), what, n, "Uint8Array");
}

int64_t Args::dim(size_t i, const char* what) {
  Napi::Value v = arg(i, what);
  if (!v.IsNumber()) fail(std::string("'") + what + "' must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d != static_cast<double>(static_cast<int64_t>(d)) || d > static_cast<double>(kMaxDim))
    fail(std::string("'") + what + "' must be a non-negative integer, got " + std::to_string(d));
  return static_cast<int64_t>(d);
}

double Args::num(size_t i, const char* what) {
  Napi::Value v = arg(i, what);
  if (!v.IsNumber()) fail(std::string("'") + what + "' must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

bool Args::flag(size_t i, const char* what) {
  Napi::Value v = arg(i, what);
  if (!v.IsBoolean()) fail(std::string("'") + what + "' must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

uint32_t Args::u32(size_t i, const char* what) {
  int64_t d = dim(i, what);
  if (d > 0xFFFFFFFFll) fail(std::string("'") + what + "' must fit in 32 bits");
  return static_cast<uint32_t>(d);
}

}  // namespace distil
