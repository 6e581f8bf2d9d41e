// The caching CPU allocator: reuse of large blocks by size class, alignment,
// small blocks cached in power-of-two classes, and emptying the cache.
#include <cstdint>

#include "../../native/runtime/cpu_allocator.h"
#include "harness.h"

namespace ca = cg::cpu_alloc;

TEST(cpu_allocator_reuses_large_blocks_and_aligns) {
  ca::empty_cache();
  size_t big = (size_t(16) << 20) + 12;  // 16 MiB and a bit: one size class
  void* a = ca::alloc(big);
  CHECK(reinterpret_cast<uintptr_t>(a) % 64 == 0);
  ca::free(a, big);
  CHECK(ca::cached_bytes() >= big);
  void* b = ca::alloc(big - 8);  // same class: the cached block comes back
  CHECK(a == b);
  CHECK_EQ(ca::cached_bytes(), size_t(0));
  ca::free(b, big - 8);
  ca::empty_cache();
  CHECK_EQ(ca::cached_bytes(), size_t(0));
}

TEST(cpu_allocator_small_blocks_cached_by_power_of_two) {
  ca::empty_cache();
  void* p = ca::alloc(1000);
  CHECK(reinterpret_cast<uintptr_t>(p) % 64 == 0);
  ca::free(p, 1000);
  CHECK_EQ(ca::cached_bytes(), size_t(1024));  // class 1024
  void* q = ca::alloc(600);                      // 513..1024: the same class, the same block
  CHECK(q == p);
  CHECK_EQ(ca::cached_bytes(), size_t(0));
  void* r = ca::alloc(4);                        // class 64: another block
  CHECK(r != p && reinterpret_cast<uintptr_t>(r) % 64 == 0);
  ca::free(q, 600);
  ca::free(r, 4);
  CHECK_EQ(ca::cached_bytes(), size_t(1024 + 64));
  ca::empty_cache();
  CHECK_EQ(ca::cached_bytes(), size_t(0));
}
