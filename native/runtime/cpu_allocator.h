// Host memory for CPU tensors: 64-byte aligned, with a cache for large blocks.
// Freed blocks of 64 KiB and more go back on a free list of their size class
// and serve the next request of that class, so steady-state loops (a training
// step, a benchmark) reuse warm pages instead of faulting in fresh ones from
// the OS on every op. The cache holds at most CUDAGRAD_CPU_CACHE_MB (default
// 1024) MiB; beyond that, freed blocks return to the system.
#pragma once

#include <cstddef>

namespace cg::cpu_alloc {

void* alloc(size_t bytes);             // never null: throws RangeError when out of memory
void free(void* ptr, size_t bytes);    // bytes as passed to alloc
size_t cached_bytes();                 // held in the cache, not in use
void empty_cache();                    // returns every cached block to the system

}  // namespace cg::cpu_alloc
