// Storage allocation per device and the live-memory counters.
#include "storage.h"

#include "cpu_allocator.h"
#include "error.h"
#include "gpu.h"

namespace cg {

namespace detail {
std::atomic<int64_t> live_tensors[2];
std::atomic<int64_t> live_storages[2];
std::atomic<int64_t> live_bytes[2];
}  // namespace detail

Storage::Storage(Device device, size_t bytes) : device_(device), bytes_(bytes) {
  if (bytes > 0) {
    if (device.is_cpu()) {
      data_ = cpu_alloc::alloc(bytes);
    } else {
      data_ = gpu::alloc(device.index, bytes);
    }
  }
  int t = static_cast<int>(device.type);
  detail::live_storages[t]++;
  detail::live_bytes[t] += static_cast<int64_t>(bytes);
}

Storage::Storage(Device device, void* data, size_t bytes, void (*release)(void*))
    : device_(device), bytes_(bytes), data_(data), release_(release) {
  int t = static_cast<int>(device.type);
  detail::live_storages[t]++;
  detail::live_bytes[t] += static_cast<int64_t>(bytes);
}

Storage::~Storage() {
  if (release_) {
    release_(data_);
  } else if (data_) {
    if (device_.is_cpu()) cpu_alloc::free(data_, bytes_);
    else gpu::free(device_.index, data_, bytes_);
  }
  int t = static_cast<int>(device_.type);
  detail::live_storages[t]--;
  detail::live_bytes[t] -= static_cast<int64_t>(bytes_);
}

MemoryStats memory_stats(DeviceType type) {
  int t = static_cast<int>(type);
  MemoryStats s;
  s.tensors = detail::live_tensors[t].load();
  s.storages = detail::live_storages[t].load();
  s.bytes = detail::live_bytes[t].load();
  return s;
}

}  // namespace cg
