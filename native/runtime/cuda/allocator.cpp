// Caching allocator for CUDA memory: blocks are rounded to a size class and
// kept on a per-device free list when released, so steady-state training does
// no cudaMalloc/cudaFree. All work of a device runs on its one stream, so a
// block freed by one op can be handed to the next op without synchronising.
#include <cuda_runtime_api.h>

#include <mutex>
#include <unordered_map>
#include <vector>

#include "../error.h"
#include "../gpu.h"
#include "check.h"

namespace cg::gpu {

namespace {

constexpr int kMaxDevices = 64;
constexpr size_t kSmallLimit = size_t(1) << 20;  // <= 1 MiB: 512-byte classes
constexpr size_t kSmallRound = 512;
constexpr size_t kLargeRound = size_t(2) << 20;  // larger: 2 MiB classes

size_t size_class(size_t bytes) {
  size_t r = bytes <= kSmallLimit ? kSmallRound : kLargeRound;
  return (bytes + r - 1) / r * r;
}

struct DeviceCache {
  std::unordered_map<size_t, std::vector<void*>> free_blocks;  // size class -> blocks
  size_t reserved = 0;                                          // bytes from cudaMalloc
};

// Never destroyed: tensors finalised during process exit may still free into it.
std::mutex& cache_mutex() {
  static std::mutex* m = new std::mutex;
  return *m;
}
DeviceCache& cache(int device) {
  static DeviceCache* caches = new DeviceCache[kMaxDevices];
  return caches[device];
}

// Releases every cached block of `device`; caller holds the mutex.
void release_cached(int device) {
  DeviceCache& c = cache(device);
  if (c.free_blocks.empty()) return;
  set_device(device);
  note_host_sync();
  CG_CUDA_CHECK(cudaDeviceSynchronize(), "cudagrad.cuda.emptyCache");
  for (auto& [cls, blocks] : c.free_blocks) {
    for (void* p : blocks) {
      cudaFree(p);
      c.reserved -= cls;
    }
  }
  c.free_blocks.clear();
}

}  // namespace

void* alloc(int device, size_t bytes) {
  size_t cls = size_class(bytes);
  std::lock_guard<std::mutex> lock(cache_mutex());
  DeviceCache& c = cache(device);
  auto it = c.free_blocks.find(cls);
  if (it != c.free_blocks.end() && !it->second.empty()) {
    void* p = it->second.back();
    it->second.pop_back();
    return p;
  }
  set_device(device);
  void* p = nullptr;
  cudaError_t err = cudaMalloc(&p, cls);
  if (err == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    release_cached(device);
    err = cudaMalloc(&p, cls);
  }
  if (err != cudaSuccess) {
    cudaGetLastError();
    size_t free_b = 0, total_b = 0;
    cudaMemGetInfo(&free_b, &total_b);
    throw_range_error("cudagrad: CUDA out of memory allocating ", bytes, " bytes on cuda:", device, " (",
                      cudaGetErrorString(err), "; cudagrad holds ", c.reserved, " bytes, device has ", free_b,
                      " free of ", total_b, ")");
  }
  c.reserved += cls;
  return p;
}

void free(int device, void* ptr, size_t bytes) {
  std::lock_guard<std::mutex> lock(cache_mutex());
  cache(device).free_blocks[size_class(bytes)].push_back(ptr);
}

size_t reserved_bytes(int device) {
  std::lock_guard<std::mutex> lock(cache_mutex());
  return cache(device).reserved;
}

void empty_cache() {
  const Status& s = status();
  std::lock_guard<std::mutex> lock(cache_mutex());
  for (int d = 0; d < s.device_count; ++d) release_cached(d);
}

}  // namespace cg::gpu
