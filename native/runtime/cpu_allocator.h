// Host memory for CPU tensors: 64-byte aligned, with a cache of freed blocks.
// A freed block goes back on a free list of its size class and serves the
// next request of that class, so steady-state loops (a training step, a
// benchmark) reuse warm pages instead of faulting in fresh ones from the OS on
// every op, and tiny ops skip glibc's aligned allocation (relu on one element
// plus dispose: 1.50 -> 1.38-1.40 us, `npm run bench -- --filter relu_dispatch`). The cache holds at most CUDAGRAD_CPU_CACHE_MB MiB
// (default: half the physical memory, so that a training step's activations,
// gigabytes for a mid-sized GPT, come back from the cache instead of being
// unmapped and faulted in again each step: 1.6x on the shakespeare_char GPT
// step); beyond that, freed blocks return to the system. cudagrad.emptyCache()
// empties it, and an allocation the system refuses empties it and retries.
#pragma once

#include <cstddef>

namespace cg::cpu_alloc {

void* alloc(size_t bytes);             // never null: throws RangeError when out of memory
void free(void* ptr, size_t bytes);    // bytes as passed to alloc
size_t cached_bytes();                 // held in the cache, not in use
void empty_cache();                    // returns every cached block to the system

}  // namespace cg::cpu_alloc
