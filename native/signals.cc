// SIGINT and SIGTERM during training. A training step is one long synchronous call chain, so the
// event loop (and with it Node's own signal handling) does not run until the run ends: a signal
// would either kill the process mid-step (losing the steps since the last checkpoint) or wait. Here
// a handler records the signal, the trainer polls it after each optimizer step, writes a checkpoint
// and exits with 128 + the signal number. A second signal exits at once.
//   watchSignals()  install the handlers (idempotent)
//   pendingSignal() -> the signal received (SIGINT 2, SIGTERM 15), or 0
#include <csignal>
#include <unistd.h>

#include "common.h"

namespace distil {

namespace {

volatile std::sig_atomic_t g_signal = 0;

void on_signal(int sig) {
  if (g_signal != 0) _exit(128 + sig);  // asked twice: stop now
  g_signal = sig;
}

Napi::Value WatchSignals(const Napi::CallbackInfo& info) {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  return info.Env().Undefined();
}

Napi::Value PendingSignal(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<int>(g_signal));
}

}  // namespace

void register_signals(Napi::Env env, Napi::Object exports) {
  exports.Set("watchSignals", Napi::Function::New(env, WatchSignals));
  exports.Set("pendingSignal", Napi::Function::New(env, PendingSignal));
}

}  // namespace distil
