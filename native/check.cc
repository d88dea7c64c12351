// Argument validation for every kernel call (see common.h).
#include "common.h"

#include <cmath>

namespace distil {

namespace {
// Largest single dimension accepted.
constexpr int64_t kMaxDim = int64_t(1) << 40;
// Largest product of a call's dimensions: below int64 overflow (see Args::dim).
constexpr int64_t kMaxExtent = int64_t(1) << 62;
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

int64_t Args::whole(size_t i, const char* what, double lo, double hi) {
  Napi::Value v = arg(i, what);
  if (!v.IsNumber()) fail(std::string("'") + what + "' must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  // Range first: converting NaN, an infinity or a double beyond int64 to an integer is undefined.
  if (!(d >= lo && d <= hi) || d != std::trunc(d)) {
    const std::string range = lo == 0 ? "a non-negative integer <= " + std::to_string(static_cast<int64_t>(hi))
                                      : "an integer in [" + std::to_string(static_cast<int64_t>(lo)) + ", " +
                                            std::to_string(static_cast<int64_t>(hi)) + "]";
    fail(std::string("'") + what + "' must be " + range + ", got " + std::to_string(d));
  }
  return static_cast<int64_t>(d);
}

int64_t Args::dim(size_t i, const char* what) {
  int64_t d = whole(i, what, 0, static_cast<double>(kMaxDim));
  extent({d});
  return d;
}

void Args::extent(std::initializer_list<int64_t> dims) {
  for (int64_t d : dims) {
    int64_t f = d > 1 ? d : 1;
    if (extent_ > kMaxExtent / f) fail("dimensions too large: their product exceeds 2^62 elements");
    extent_ *= f;
  }
}

int64_t Args::integer(size_t i, const char* what) {
  constexpr double kMaxSafe = 9007199254740992.0;  // 2^53
  return whole(i, what, -kMaxSafe, kMaxSafe);
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
  return static_cast<uint32_t>(whole(i, what, 0, 4294967295.0));
}

}  // namespace distil
