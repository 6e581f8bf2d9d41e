// The CPU allocator (runtime/cpu_allocator.h).
#include "cpu_allocator.h"

#include <cstdlib>
#include <unistd.h>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "error.h"

namespace cg::cpu_alloc {

namespace {

constexpr size_t kAlign = 64;
constexpr size_t kSmall = size_t(4) << 10;  // below: powers of two from 64 bytes

// Size classes: powers of two from 64 bytes below 4 KiB (small tensors: the
// per-op path of tiny ops, which glibc's aligned allocation slows), 4 KiB
// steps up to 4 MiB, 64 KiB steps above (<= 1.6% slack).
size_t size_class(size_t bytes) {
  if (bytes < kSmall) {
    size_t c = kAlign;
    while (c < bytes) c <<= 1;
    return c;
  }
  size_t step = bytes <= (size_t(4) << 20) ? 4096 : (size_t(64) << 10);
  return (bytes + step - 1) / step * step;
}

struct Cache {
  std::mutex mutex;
  std::unordered_map<size_t, std::vector<void*>> free_blocks;
  size_t cached = 0;
  size_t limit = 0;
};

Cache& cache() {
  // Never destroyed: tensors finalised during exit may still free into it.
  static Cache* c = [] {
    auto* k = new Cache;
    const char* env = std::getenv("CUDAGRAD_CPU_CACHE_MB");
    if (env) {
      long mb = std::strtol(env, nullptr, 10);
      k->limit = static_cast<size_t>(mb < 0 ? 0 : mb) << 20;
    } else {
      long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
      k->limit = pages > 0 && page > 0 ? static_cast<size_t>(pages) * static_cast<size_t>(page) / 2 : size_t(1) << 30;
    }
    return k;
  }();
  return *c;
}

}  // namespace

static void* system_alloc(size_t bytes) {
  size_t rounded = (bytes + kAlign - 1) / kAlign * kAlign;
  void* p = std::aligned_alloc(kAlign, rounded);
  if (!p && cached_bytes() > 0) {  // the cache may hold what the system lacks
    empty_cache();
    p = std::aligned_alloc(kAlign, rounded);
  }
  if (!p) throw_range_error("cudagrad: out of host memory allocating ", bytes, " bytes on cpu");
  return p;
}

void* alloc(size_t bytes) {
  size_t cls = size_class(bytes);
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    auto it = c.free_blocks.find(cls);
    if (it != c.free_blocks.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      c.cached -= cls;
      return p;
    }
  }
  return system_alloc(cls);
}

void free(void* ptr, size_t bytes) {
  if (!ptr) return;
  {
    size_t cls = size_class(bytes);
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    if (c.cached + cls <= c.limit) {
      c.free_blocks[cls].push_back(ptr);
      c.cached += cls;
      return;
    }
  }
  std::free(ptr);
}

size_t cached_bytes() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return c.cached;
}

void empty_cache() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  for (auto& [cls, blocks] : c.free_blocks)
    for (void* p : blocks) std::free(p);
  c.free_blocks.clear();
  c.cached = 0;
}

}  // namespace cg::cpu_alloc
