// Large buffers (the arena's activations, parameters, gradients, AdamW moments, kernel scratch):
// anonymous mappings that ask the kernel for transparent huge pages. On the 2-core VMs this project runs on, a first touch
// costs ~10 us per 4 KiB page (2.6 s per GB, measured) and ~0.07 s per GB with 2 MiB pages, so the
// first training step of a model no longer spends most of its time in page faults.
//   allocF32(n) -> Float32Array of n floats, zero-filled (fresh pages), unmapped when collected.
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

struct Mapping {
  void* addr;
  size_t bytes;
};

void Unmap(Napi::Env env, void* /*data*/, Mapping* m) {
  huge_free(m->addr, m->bytes);
  Napi::MemoryManagement::AdjustExternalMemory(env, -static_cast<int64_t>(m->bytes));
  delete m;
}

Napi::Value AllocF32(const Napi::CallbackInfo& info) {
  Args a(info, "allocF32");
  const int64_t n = a.dim(0, "n");
  if (n > (int64_t{1} << 40)) a.fail("n is too large");
  Napi::Env env = info.Env();
  if (n == 0) return Napi::Float32Array::New(env, 0);
  size_t bytes = 0;
  void* p = nullptr;
  try {
    p = huge_alloc(static_cast<size_t>(n) * sizeof(float), &bytes);
  } catch (const std::bad_alloc&) {
    a.fail("out of memory: cannot map " + std::to_string((static_cast<size_t>(n) * sizeof(float)) >> 20) + " MB");
  }
  Napi::MemoryManagement::AdjustExternalMemory(env, static_cast<int64_t>(bytes));
  auto* m = new Mapping{p, bytes};
  Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(env, p, bytes, Unmap, m);
  return Napi::Float32Array::New(env, static_cast<size_t>(n), buf, 0);
}

}  // namespace

void register_alloc(Napi::Env env, Napi::Object exports) {
  exports.Set("allocF32", Napi::Function::New(env, AllocF32));
}

}  // namespace distil
