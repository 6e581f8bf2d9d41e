// CUDA devices and streams: probing (never throws), per-device streams, copies.
#include <cuda_runtime_api.h>

#include <atomic>
#include <mutex>

#include "../error.h"
#include "../gpu.h"
#include "check.h"

namespace cg::gpu {

namespace {

constexpr int kMaxDevices = 64;

std::string version_str(int v) { return cat(v / 1000, ".", (v % 1000) / 10); }

Status probe() {
  Status s;
  s.compiled = true;
  int rt = 0, drv = 0;
  cudaRuntimeGetVersion(&rt);
  cudaDriverGetVersion(&drv);
  s.runtime = cat("CUDA runtime ", version_str(rt), drv ? ", driver " + version_str(drv) : std::string(", no driver"));
  int n = 0;
  cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    cudaGetLastError();  // clear the sticky-free error so later probes start clean
    std::string detail = cat(cudaGetErrorString(err), " (", cudaGetErrorName(err), ", error ", static_cast<int>(err), ")");
    if (drv == 0) s.reason = "no NVIDIA driver found: cudaGetDeviceCount failed: " + detail;
    else s.reason = "cudaGetDeviceCount failed: " + detail;
    return s;
  }
  if (n == 0) {
    s.reason = "no CUDA device found";
    return s;
  }
  s.available = true;
  s.device_count = n < kMaxDevices ? n : kMaxDevices;
  return s;
}

std::mutex stream_mutex;
std::atomic<uint64_t> host_sync_count{0};
cudaStream_t streams[kMaxDevices] = {};
DeviceErrorRecord* error_records[kMaxDevices] = {};

// Raises and clears a recorded device-side error of `device` (call after a sync).
void raise_device_errors(int device) {
  DeviceErrorRecord* rec = error_records[device];
  if (!rec) return;
  DeviceErrorRecord host;
  CG_CUDA_CHECK(cudaMemcpy(&host, rec, sizeof host, cudaMemcpyDeviceToHost), "cudagrad");
  if (!host.set) return;
  CG_CUDA_CHECK(cudaMemset(rec, 0, sizeof host), "cudagrad");
  throw_range_error(device_error_op_name(static_cast<DeviceErrorOp>(host.op)), ": index ", host.value,
                    " is out of range [0, ", host.bound, ") at position ", host.pos, " (detected on the GPU)");
}

}  // namespace

void throw_cuda_error(cudaError_t err, const char* op, const char* call) {
  std::string msg = cat(op, ": CUDA error: ", cudaGetErrorString(err), " (", cudaGetErrorName(err), ") in ", call);
  if (err == cudaErrorMemoryAllocation) throw_range_error(msg);
  throw_error(msg);
}

const Status& status() {
  static const Status s = probe();
  return s;
}

std::vector<DeviceInfo> device_infos() {
  std::vector<DeviceInfo> out;
  const Status& s = status();
  for (int i = 0; i < s.device_count; ++i) {
    cudaDeviceProp p;
    CG_CUDA_CHECK(cudaGetDeviceProperties(&p, i), "cudagrad.devices");
    DeviceInfo d;
    d.index = i;
    d.name = p.name;
    d.major = p.major;
    d.minor = p.minor;
    d.total_memory = p.totalGlobalMem;
    d.multiprocessors = p.multiProcessorCount;
    out.push_back(d);
  }
  return out;
}

void require_device(int index, const char* op) {
  const Status& s = status();
  if (!s.available) throw_error(op, ": CUDA is not available: ", s.reason);
  if (index < 0 || index >= s.device_count)
    throw_range_error(op, ": device cuda:", index, " does not exist (", s.device_count, " CUDA device(s) present)");
}

void set_device(int index) { CG_CUDA_CHECK(cudaSetDevice(index), "cudagrad"); }

void* current_stream() {
  int dev = 0;
  CG_CUDA_CHECK(cudaGetDevice(&dev), "cudagrad");
  std::lock_guard<std::mutex> lock(stream_mutex);
  if (!streams[dev]) CG_CUDA_CHECK(cudaStreamCreateWithFlags(&streams[dev], cudaStreamNonBlocking), "cudagrad");
  return streams[dev];
}

static cudaStream_t stream_of(int device) {
  set_device(device);
  return static_cast<cudaStream_t>(current_stream());
}

void copy_h2d(int device, void* dst, const void* src, size_t bytes) {
  if (!bytes) return;
  // From pageable memory this returns once `src` is staged, so the caller may free it.
  CG_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream_of(device)), "copy to cuda");
}

void copy_d2h(int device, void* dst, const void* src, size_t bytes) {
  if (!bytes) return;
  cudaStream_t s = stream_of(device);
  CG_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, s), "copy to cpu");
  note_host_sync();
  CG_CUDA_CHECK(cudaStreamSynchronize(s), "copy to cpu");
  raise_device_errors(device);
}

void copy_d2d(int device, void* dst, const void* src, size_t bytes) {
  if (!bytes) return;
  CG_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_of(device)), "copy on cuda");
}

void note_host_sync() { host_sync_count++; }
uint64_t host_syncs() { return host_sync_count.load(); }

void synchronize(int device) {
  note_host_sync();
  CG_CUDA_CHECK(cudaStreamSynchronize(stream_of(device)), "cudagrad.cuda.synchronize");
  raise_device_errors(device);
}

DeviceErrorRecord* device_error_record() {
  int dev = 0;
  CG_CUDA_CHECK(cudaGetDevice(&dev), "cudagrad");
  std::lock_guard<std::mutex> lock(stream_mutex);
  if (!error_records[dev]) {
    void* p = nullptr;
    CG_CUDA_CHECK(cudaMalloc(&p, sizeof(DeviceErrorRecord)), "cudagrad");
    CG_CUDA_CHECK(cudaMemset(p, 0, sizeof(DeviceErrorRecord)), "cudagrad");
    error_records[dev] = static_cast<DeviceErrorRecord*>(p);
  }
  return error_records[dev];
}

const char* device_error_op_name(DeviceErrorOp op) {
  switch (op) {
    case DeviceErrorOp::Embedding: return "cudagrad.embedding";
    case DeviceErrorOp::CrossEntropy: return "cudagrad.crossEntropy";
    case DeviceErrorOp::Gather: return "cudagrad.gather";
    default: return "cudagrad";
  }
}

void check_last_launch(const char* op) { CG_CUDA_CHECK(cudaGetLastError(), op); }

}  // namespace cg::gpu
