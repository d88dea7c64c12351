// SIGINT and SIGTERM during training. A training step is one long synchronous call chain, so the
// event loop (and with it Node's own signal handling) does not run until the run ends: a signal
// would either kill the process mid-step (losing the steps since the last checkpoint) or wait. Here
// a handler records the signal, the trainer polls it after each optimizer step, writes a checkpoint
// and exits with 128 + the signal number. A second signal exits at once.
//   watchSignals()   install the handlers (idempotent), keeping the ones they replace
//   pendingSignal()  -> the signal received (SIGINT 2, SIGTERM 15), or 0
//   unwatchSignals() restore the replaced handlers and forget a received signal (a run ended, so a
//                    later run in the same process starts clean and Ctrl-C behaves as before)
#include <csignal>
#include <unistd.h>

#include "common.h"

namespace distil {

namespace {

volatile std::sig_atomic_t g_signal = 0;
bool g_watching = false;
struct sigaction g_old_int {}, g_old_term {};

void on_signal(int sig) {
  if (g_signal != 0) _exit(128 + sig);  // asked twice: stop now
  g_signal = sig;
}

Napi::Value WatchSignals(const Napi::CallbackInfo& info) {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  if (!g_watching) {
    sigaction(SIGINT, &sa, &g_old_int);
    sigaction(SIGTERM, &sa, &g_old_term);
    g_watching = true;
  }
  return info.Env().Undefined();
}

Napi::Value UnwatchSignals(const Napi::CallbackInfo& info) {
  if (g_watching) {
    sigaction(SIGINT, &g_old_int, nullptr);
    sigaction(SIGTERM, &g_old_term, nullptr);
    g_watching = false;
  }
  g_signal = 0;
  return info.Env().Undefined();
}

Napi::Value PendingSignal(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<int>(g_signal));
}

}  // namespace

void register_signals(Napi::Env env, Napi::Object exports) {
  exports.Set("watchSignals", Napi::Function::New(env, WatchSignals));
  exports.Set("pendingSignal", Napi::Function::New(env, PendingSignal));
  exports.Set("unwatchSignals", Napi::Function::New(env, UnwatchSignals));
}

}  // namespace distil
