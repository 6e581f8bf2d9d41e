// CUDA random fills (ops/random.h): one thread per Philox block of four
// elements, the same stream layout as the CPU (runtime/philox.h).
#include "../ops/random.h"
#include "../runtime/philox.h"
#include "launch.h"

namespace cg::cuda {

// --- kernels

__global__ void uniform_kernel(float* out, int64_t n, uint64_t seed, uint64_t offset, float low, float high) {
  int64_t blocks = (n + 3) / 4;
  for (int64_t b = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; b < blocks; b += (int64_t)gridDim.x * blockDim.x) {
    philox::U32x4 w = philox::block(seed, offset, static_cast<uint64_t>(b));
    for (int k = 0; k < 4 && b * 4 + k < n; ++k) out[b * 4 + k] = philox::uniform(w.v[k], low, high);
  }
}

__global__ void normal_kernel(float* out, int64_t n, uint64_t seed, uint64_t offset, float mean, float stdev) {
  int64_t blocks = (n + 3) / 4;
  for (int64_t b = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; b < blocks; b += (int64_t)gridDim.x * blockDim.x) {
    philox::U32x4 w = philox::block(seed, offset, static_cast<uint64_t>(b));
    float z[4];
    philox::normal_pair(w.v[0], w.v[1], mean, stdev, &z[0], &z[1]);
    philox::normal_pair(w.v[2], w.v[3], mean, stdev, &z[2], &z[3]);
    for (int k = 0; k < 4 && b * 4 + k < n; ++k) out[b * 4 + k] = z[k];
  }
}

// --- launchers

namespace {
constexpr int kThreads = 256;
}

void uniform(float* out, int64_t n, uint64_t seed, uint64_t offset, float low, float high) {
  if (n <= 0) return;
  LAUNCH(uniform_kernel, grid_for((n + 3) / 4, kThreads), kThreads, 0, stream())(out, n, seed, offset, low, high);
  gpu::check_last_launch("uniform");
}

void normal(float* out, int64_t n, uint64_t seed, uint64_t offset, float mean, float stdev) {
  if (n <= 0) return;
  LAUNCH(normal_kernel, grid_for((n + 3) / 4, kThreads), kThreads, 0, stream())(out, n, seed, offset, mean, stdev);
  gpu::check_last_launch("normal");
}

}  // namespace cg::cuda
