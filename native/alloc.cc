// Transparent huge pages for large buffers (the arena's activations, parameters, gradients, AdamW
// moments, kernel scratch). On the 2-core VMs this project runs on, a first touch costs 10-20 us
// per 4 KiB page (2.6-5.7 s per GB, measured) and ~0.07 s per GB with 2 MiB pages once the host has
// backed the memory, so the first training step no longer spends most of its time in page faults.
//   adviseHugePages(typedArray): madvise(MADV_HUGEPAGE) over the array's memory.
//   huge_alloc / huge_free: scratch memory owned by C++ (lowp.h Scratch).
#include <sys/mman.h>

#include <new>

#include "common.h"

namespace distil {

constexpr size_t kHuge = size_t{2} << 20;

void* huge_alloc(size_t bytes, size_t* mapped) {
  *mapped = ((bytes + kHuge - 1) / kHuge) * kHuge;
  if (*mapped == 0) return nullptr;
  void* p = mmap(nullptr, *mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    *mapped = 0;
    throw std::bad_alloc();
  }
  // Advice only: where transparent huge pages are off, the mapping still works with 4 KiB pages.
  madvise(p, *mapped, MADV_HUGEPAGE);
  return p;
}

void huge_free(void* p, size_t mapped) {
  if (p) munmap(p, mapped);
}

namespace {

// adviseHugePages(a): ask for transparent huge pages under the 2 MiB-aligned interior of a's
// memory. V8 allocates large ArrayBuffers with calloc, which maps fresh zero pages that are touched
// only on first write, so the advice applies from the first touch. The buffer stays V8's: it is
// freed by the garbage collector as usual (external buffers would be freed only by finalizers,
// which need the event loop that a training run does not yield to).
Napi::Value AdviseHugePages(const Napi::CallbackInfo& info) {
  Args a(info, "adviseHugePages");
  Napi::Value v = info[0];
  if (!v.IsTypedArray()) a.fail("argument must be a typed array");
  Napi::TypedArray t = v.As<Napi::TypedArray>();
  auto begin = reinterpret_cast<uintptr_t>(static_cast<uint8_t*>(t.ArrayBuffer().Data()) + t.ByteOffset());
  uintptr_t lo = (begin + kHuge - 1) / kHuge * kHuge, hi = (begin + t.ByteLength()) / kHuge * kHuge;
  // Advice only: where transparent huge pages are off, nothing changes.
  if (hi > lo) madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_HUGEPAGE);
  return info.Env().Undefined();
}

}  // namespace

void register_alloc(Napi::Env env, Napi::Object exports) {
  exports.Set("adviseHugePages", Napi::Function::New(env, AdviseHugePages));
}

}  // namespace distil
