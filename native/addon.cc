// Entry point of the native addon: sets the thread count and registers every kernel.
// DISTIL_THREADS sets the OpenMP (and so oneDNN) thread count; the default is all cores.
#include <omp.h>

#include <cstdlib>

#include "common.h"

namespace distil {

namespace {

Napi::Value Threads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), omp_get_max_threads());
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  Args a(info, "setThreads");
  int64_t n = a.dim(0, "threads");
  if (n < 1 || n > 1024) a.fail("threads must be between 1 and 1024");
  omp_set_num_threads(static_cast<int>(n));
  return info.Env().Undefined();
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  if (const char* t = std::getenv("DISTIL_THREADS")) {
    int n = std::atoi(t);
    if (n > 0) omp_set_num_threads(n);
  }
  exports.Set("threads", Napi::Function::New(env, Threads));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  register_alloc(env, exports);
  register_signals(env, exports);
  register_matmul(env, exports);
  register_linear_packed(env, exports);
  register_attention(env, exports);
  register_layers(env, exports);
  register_losses(env, exports);
  register_optim(env, exports);
  return exports;
}

}  // namespace distil

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return distil::Init(env, exports); }

NODE_API_MODULE(distil, InitAddon)
