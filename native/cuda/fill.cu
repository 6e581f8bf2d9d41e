// CUDA creation kernels (ops/fill.h): grid-stride fill and arange.
#include "../ops/fill.h"
#include "../runtime/bf16.h"
#include "launch.h"

namespace cg::cuda {

// --- kernels

template <typename T>
__global__ void fill_kernel(T* out, int64_t n, T v) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    out[i] = v;
}

template <typename T>
__global__ void arange_kernel(T* out, int64_t n, double start, double step) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    out[i] = static_cast<T>(start + static_cast<double>(i) * step);
}

__global__ void arange_bf16_kernel(uint16_t* out, int64_t n, double start, double step) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    out[i] = bf16_from_float(static_cast<float>(start + static_cast<double>(i) * step));
}

// --- launchers

namespace {
constexpr int kThreads = 256;
}

void fill(void* out, int64_t n, DType dtype, double value) {
  if (n <= 0) return;
  if (dtype == DType::Float32)
    LAUNCH(fill_kernel<float>, grid_for(n, kThreads), kThreads, 0, stream())(static_cast<float*>(out), n, static_cast<float>(value));
  else if (dtype == DType::BFloat16)
    LAUNCH(fill_kernel<uint16_t>, grid_for(n, kThreads), kThreads, 0, stream())(static_cast<uint16_t*>(out), n,
                                                                                bf16_from_float(static_cast<float>(value)));
  else
    LAUNCH(fill_kernel<int32_t>, grid_for(n, kThreads), kThreads, 0, stream())(static_cast<int32_t*>(out), n, static_cast<int32_t>(value));
  gpu::check_last_launch("fill");
}

void arange(void* out, int64_t n, DType dtype, double start, double step) {
  if (n <= 0) return;
  if (dtype == DType::Float32)
    LAUNCH(arange_kernel<float>, grid_for(n, kThreads), kThreads, 0, stream())(static_cast<float*>(out), n, start, step);
  else if (dtype == DType::BFloat16)
    LAUNCH(arange_bf16_kernel, grid_for(n, kThreads), kThreads, 0, stream())(static_cast<uint16_t*>(out), n, start, step);
  else
    LAUNCH(arange_kernel<int32_t>, grid_for(n, kThreads), kThreads, 0, stream())(static_cast<int32_t*>(out), n, start, step);
  gpu::check_last_launch("arange");
}

}  // namespace cg::cuda
