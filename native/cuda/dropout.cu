// CUDA dropout (ops/dropout.h): one thread per Philox block of four elements
// (grid-stride), the same stream layout as the CPU (runtime/philox.h:
// element i uses word i % 4 of block i / 4), so the keep mask is the CPU's bit
// for bit. The four elements move as one float4 (tensors start 16-byte
// aligned); the last partial block element by element. Forward and backward
// are the same masked scaling (the mask regenerated, never stored).
#include "../ops/dropout.h"
#include "../runtime/philox.h"
#include "launch.h"

namespace cg::cuda {

namespace {

constexpr int kThreads = 256;

__device__ __forceinline__ float keep(uint32_t word, uint32_t threshold, float x, float scale) {
  return (word >> 8) >= threshold ? x * scale : 0.f;  // dropped: 0 even for inf / NaN
}

__global__ void dropout_kernel(float* out, const float* inp, int64_t n, uint32_t threshold, float scale, uint64_t seed,
                               uint64_t offset, bool vec) {
  const int64_t blocks = (n + 3) / 4;
  for (int64_t b = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; b < blocks; b += (int64_t)gridDim.x * blockDim.x) {
    const philox::U32x4 w = philox::block(seed, offset, static_cast<uint64_t>(b));
    if (vec && b * 4 + 4 <= n) {
      float4 x = reinterpret_cast<const float4*>(inp)[b];
      reinterpret_cast<float4*>(out)[b] = make_float4(keep(w.v[0], threshold, x.x, scale), keep(w.v[1], threshold, x.y, scale),
                                                      keep(w.v[2], threshold, x.z, scale), keep(w.v[3], threshold, x.w, scale));
    } else {
      for (int k = 0; k < 4 && b * 4 + k < n; ++k) out[b * 4 + k] = keep(w.v[k], threshold, inp[b * 4 + k], scale);
    }
  }
}

void apply(float* out, const float* inp, int64_t n, uint32_t threshold, float scale, uint64_t seed, uint64_t offset,
           const char* op) {
  if (n <= 0) return;
  bool vec = (reinterpret_cast<uintptr_t>(out) & 15) == 0 && (reinterpret_cast<uintptr_t>(inp) & 15) == 0;
  LAUNCH(dropout_kernel, grid_for((n + 3) / 4, kThreads), kThreads, 0, stream())(out, inp, n, threshold, scale, seed,
                                                                                offset, vec);
  gpu::check_last_launch(op);
}

}  // namespace

// --- launchers

void dropout_forward(float* out, const float* inp, int64_t n, uint32_t threshold, float scale, uint64_t seed,
                     uint64_t offset) {
  apply(out, inp, n, threshold, scale, seed, offset, "dropout forward");
}

void dropout_backward(float* dinp, const float* dout, int64_t n, uint32_t threshold, float scale, uint64_t seed,
                      uint64_t offset) {
  apply(dinp, dout, n, threshold, scale, seed, offset, "dropout backward");
}

}  // namespace cg::cuda
