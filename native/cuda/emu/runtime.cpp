// The emulated CUDA runtime (include/cuda_runtime_api.h): one pretend sm_90
// device backed by host memory; copies and launches complete before the call
// returns, so streams and events are trivially ordered.
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>

#include "include/cuda_runtime_api.h"
#include "simt.h"

struct CUstream_st {
  int unused;
};
struct CUevent_st {
  double ms;
};

namespace {

constexpr size_t kTotalMemory = size_t(16) << 30;  // what the pretend device reports

std::mutex mem_mutex;
std::unordered_map<void*, size_t> live;  // emulated device allocations
size_t live_bytes = 0;
int current_device = 0;
// The most dynamic shared memory a kernel may opt in to: sm_90's 227 KiB, or
// CUDAGRAD_EMU_SMEM_OPTIN_KB to play a smaller part (sm_86/89: 99, sm_80:
// 163, sm_75: 64) and see which kernels would not launch there.
size_t smem_optin_max() {
  static const size_t v = [] {
    const char* e = std::getenv("CUDAGRAD_EMU_SMEM_OPTIN_KB");
    long kb = e && *e ? std::strtol(e, nullptr, 10) : 227;
    return static_cast<size_t>(kb > 0 ? kb : 227) << 10;
  }();
  return v;
}
std::mutex attr_mutex;
std::unordered_map<const void*, size_t> smem_optin;  // kernel -> MaxDynamicSharedMemorySize

thread_local cudaError_t last_error = cudaSuccess;
thread_local std::string last_message;

cudaError_t set_error(cudaError_t e) {
  if (e != cudaSuccess) {
    last_error = e;
    last_message.clear();  // a runtime call's error: no launch message to add
  }
  return e;
}

double now_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

}  // namespace

namespace cg::emu {
size_t max_dynamic_smem(const void* fn) {
  std::lock_guard<std::mutex> lock(attr_mutex);
  auto it = smem_optin.find(fn);
  return it == smem_optin.end() ? size_t(48) << 10 : it->second;
}

void record_launch_error(int code, const std::string& msg) {
  last_error = static_cast<cudaError_t>(code);
  last_message = msg;
}
}  // namespace cg::emu

cudaError_t cudaGetDeviceCount(int* count) {
  *count = 1;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int device) {
  if (device != 0) return set_error(cudaErrorInvalidDevice);
  std::memset(p, 0, sizeof *p);
  std::strcpy(p->name, "cudagrad SIMT emulator (pretend sm_90)");
  p->totalGlobalMem = kTotalMemory;
  p->sharedMemPerBlock = 48 * 1024;
  p->sharedMemPerBlockOptin = smem_optin_max();
  p->regsPerBlock = 65536;
  p->warpSize = 32;
  p->maxThreadsPerBlock = 1024;
  p->maxThreadsDim[0] = p->maxThreadsDim[1] = 1024;
  p->maxThreadsDim[2] = 64;
  p->maxGridSize[0] = 2147483647;
  p->maxGridSize[1] = p->maxGridSize[2] = 65535;
  p->major = 9;
  p->minor = 0;
  p->multiProcessorCount = 132;
  p->l2CacheSize = 50 * 1024 * 1024;
  p->memoryBusWidth = 5120;
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
  if (device != 0) return set_error(cudaErrorInvalidDevice);
  current_device = device;
  return cudaSuccess;
}

cudaError_t cudaGetDevice(int* device) {
  *device = current_device;
  return cudaSuccess;
}

cudaError_t cudaRuntimeGetVersion(int* v) {
  *v = CUDART_VERSION;
  return cudaSuccess;
}

cudaError_t cudaDriverGetVersion(int* v) {
  *v = CUDART_VERSION;
  return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }

cudaError_t cudaGetLastError() {
  cudaError_t e = last_error;
  last_error = cudaSuccess;
  return e;
}

cudaError_t cudaPeekAtLastError() { return last_error; }

const char* cudaGetErrorName(cudaError_t err) {
  switch (err) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
    default: return "cudaErrorUnknown";
  }
}

const char* cudaGetErrorString(cudaError_t err) {
  static thread_local std::string text;
  switch (err) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: text = "invalid argument"; break;
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: text = "invalid configuration argument"; break;
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorLaunchFailure: text = "unspecified launch failure"; break;
    default: return "unknown error";
  }
  if (!last_message.empty()) text += " (SIMT emulator: " + last_message + ")";
  return text.c_str();
}

cudaError_t cudaMalloc(void** p, size_t bytes) {
  std::lock_guard<std::mutex> lock(mem_mutex);
  if (live_bytes + bytes > kTotalMemory) return set_error(cudaErrorMemoryAllocation);
  *p = std::aligned_alloc(256, (bytes + 255) / 256 * 256 + 256);
  if (!*p) return set_error(cudaErrorMemoryAllocation);
  std::memset(*p, 0xcd, bytes);  // device memory starts as garbage, not zeros
  live[*p] = bytes;
  live_bytes += bytes;
  return cudaSuccess;
}

cudaError_t cudaFree(void* p) {
  if (!p) return cudaSuccess;
  std::lock_guard<std::mutex> lock(mem_mutex);
  auto it = live.find(p);
  if (it == live.end()) return set_error(cudaErrorInvalidValue);
  live_bytes -= it->second;
  live.erase(it);
  std::free(p);
  return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes) {
  std::lock_guard<std::mutex> lock(mem_mutex);
  *free_bytes = kTotalMemory - live_bytes;
  *total_bytes = kTotalMemory;
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  if (kind > cudaMemcpyDefault) return set_error(cudaErrorInvalidMemcpyDirection);
  if (bytes) std::memmove(dst, src, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t) {
  return cudaMemcpy(dst, src, bytes, kind);
}

cudaError_t cudaMemset(void* p, int value, size_t bytes) {
  std::memset(p, value, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void* p, int value, size_t bytes, cudaStream_t) { return cudaMemset(p, value, bytes); }

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) {
  *s = new CUstream_st{0};
  return cudaSuccess;
}
cudaError_t cudaStreamCreate(cudaStream_t* s) { return cudaStreamCreateWithFlags(s, 0); }
cudaError_t cudaStreamDestroy(cudaStream_t s) {
  delete s;
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }

cudaError_t cudaEventCreate(cudaEvent_t* e) {
  *e = new CUevent_st{0};
  return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t e) {
  delete e;
  return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t) {
  e->ms = now_ms();
  return cudaSuccess;
}
cudaError_t cudaEventSynchronize(cudaEvent_t) { return cudaSuccess; }
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  *ms = static_cast<float>(end->ms - start->ms);
  return cudaSuccess;
}

cudaError_t cg_emu_func_set_attribute(const void* fn, cudaFuncAttribute attr, int value) {
  if (attr == cudaFuncAttributeMaxDynamicSharedMemorySize) {
    if (value < 0 || static_cast<size_t>(value) > smem_optin_max()) return set_error(cudaErrorInvalidValue);
    std::lock_guard<std::mutex> lock(attr_mutex);
    smem_optin[fn] = static_cast<size_t>(value);
  }
  return cudaSuccess;
}
