// Storage: one device allocation, shared (refcounted) by the tensors that view
// it. CPU storage is 64-byte aligned host memory from runtime/cpu_allocator.h;
// CUDA storage comes from the caching allocator (native/runtime/gpu.h). Live counts per device type feed
// cudagrad.memory().
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "device.h"

namespace cg {

class Storage {
 public:
  // Allocates `bytes` on `device`; throws cg::Error (RangeError) when out of memory.
  Storage(Device device, size_t bytes);
  // Adopts memory owned elsewhere; `release(data)` is called instead of freeing.
  Storage(Device device, void* data, size_t bytes, void (*release)(void*));
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  Device device() const { return device_; }
  size_t bytes() const { return bytes_; }
  void* data() const { return data_; }

 private:
  Device device_;
  size_t bytes_;
  void* data_ = nullptr;
  void (*release_)(void*) = nullptr;
};

using StoragePtr = std::shared_ptr<Storage>;

struct MemoryStats {
  int64_t tensors = 0;   // live tensor handles
  int64_t storages = 0;  // live allocations
  int64_t bytes = 0;     // bytes held by live allocations
};

MemoryStats memory_stats(DeviceType type);

namespace detail {
// Counters indexed by DeviceType; updated by Storage and TensorImpl.
extern std::atomic<int64_t> live_tensors[2];
extern std::atomic<int64_t> live_storages[2];
extern std::atomic<int64_t> live_bytes[2];
}  // namespace detail

}  // namespace cg
