// The CUDA runtime as the rest of cudagrad sees it: device discovery, one
// stream per device, a caching allocator and copies. Implemented with the CUDA
// runtime in native/runtime/cuda/ when nvcc is found at build time, and by
// native/cuda/stub.cpp otherwise (every call then reports "built without CUDA").
// All work for a device is ordered on its one stream, so memory returned to the
// cache can be reused by the next allocation without synchronising.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace cg::gpu {

struct DeviceInfo {
  int index = 0;
  std::string name;
  int major = 0, minor = 0;       // compute capability
  size_t total_memory = 0;        // bytes
  int multiprocessors = 0;
};

struct Status {
  bool compiled = false;   // the addon contains CUDA kernels
  bool available = false;  // a driver and at least one device answered
  int device_count = 0;
  std::string reason;      // why not available (empty when available)
  std::string runtime;     // e.g. "CUDA runtime 13.0, driver 13.0"
};

// Probed once, on first call; never throws.
const Status& status();
std::vector<DeviceInfo> device_infos();

// Throws cg::Error naming `op` unless CUDA device `index` is usable.
void require_device(int index, const char* op);
// Makes `index` the current device of the calling thread.
void set_device(int index);
// The current device's stream, as a cudaStream_t.
void* current_stream();

// Caching allocator: alloc never returns null (throws RangeError on OOM after
// releasing the cache and retrying); free returns the block to the cache.
void* alloc(int device, size_t bytes);
void free(int device, void* ptr, size_t bytes);
size_t reserved_bytes(int device);  // bytes obtained from cudaMalloc and not released
void empty_cache();

// Copies on the device's stream. copy_d2h returns when the data is on the host.
void copy_h2d(int device, void* dst, const void* src, size_t bytes);
void copy_d2h(int device, void* dst, const void* src, size_t bytes);
void copy_d2d(int device, void* dst, const void* src, size_t bytes);
void synchronize(int device);
// How many times the host has waited for a GPU since load (copy_d2h,
// synchronize, releasing the cache): a training step that reads nothing back
// must not add to it.
uint64_t host_syncs();
void note_host_sync();  // counts one (for the runtime's own waits)
// GEMM kernel launches since load, per path (native/cuda/gemm.cu): the float32
// SIMT kernel, the mma.sync tensor-core kernel, the sm_90a wgmma kernel. Tests
// and benches use it to see which path ran.
struct GemmLaunches {
  uint64_t simt = 0, mma = 0, wgmma = 0;
};
GemmLaunches gemm_launches();
// Attention calls (forward or backward) since load, per kernel path
// (native/cuda/attention.cu): the general kernels, the float32 SIMT kernels,
// the tensor-core kernels on float32 tensors, and on bf16 tensors read directly.
struct AttentionLaunches {
  uint64_t general = 0, simt = 0, mma = 0, mma_bf16 = 0;
};
AttentionLaunches attention_launches();
// Whether the wgmma GEMM can run here (an sm_90 device and sm_90a code in this
// binary; the emulator counts): CUDAGRAD_GEMM_WGMMA=1 then selects it.
bool gemm_wgmma_available();

// Throws cg::Error with the CUDA message if the last launch on this thread failed.
void check_last_launch(const char* op);

// Device-side input errors without host syncs: a kernel that finds bad input
// (an index out of range) records the first such error in the device's record
// (native/cuda/device_error.cuh) and carries on safely; copy_d2h and
// synchronize read the record after their sync and raise it as a RangeError
// naming the op ("... (detected on the GPU)"), then clear it.
enum class DeviceErrorOp : int { None = 0, Embedding = 1, CrossEntropy = 2, Gather = 3 };
struct DeviceErrorRecord {
  int32_t set;    // 0 until an error is recorded
  int32_t op;     // DeviceErrorOp
  int64_t pos;    // position of the bad element in its tensor
  int64_t value;  // the bad value
  int64_t bound;  // valid values are [0, bound)
};
// The record of the current device (device memory, zeroed at creation).
DeviceErrorRecord* device_error_record();
const char* device_error_op_name(DeviceErrorOp op);

}  // namespace cg::gpu
