// CUDA activations (ops/activation.h): grid-stride loops over float4 (16-byte
// loads; tensors start 512-byte aligned) with a scalar tail; the formulas are
// in act.cuh, shared with the GEMM epilogue.
#include "../ops/activation.h"
#include "act.cuh"
#include "launch.h"

namespace cg::cuda {

// --- kernels

namespace {

__global__ void activation_forward_kernel(float* out, const float* inp, int64_t n, Act act) {
  int64_t stride = (int64_t)gridDim.x * blockDim.x;
  int64_t n4 = n / 4;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n4; i += stride) {
    float4 x = reinterpret_cast<const float4*>(inp)[i];
    reinterpret_cast<float4*>(out)[i] = make_float4(act_fwd(x.x, act), act_fwd(x.y, act), act_fwd(x.z, act), act_fwd(x.w, act));
  }
  for (int64_t i = n4 * 4 + blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += stride) out[i] = act_fwd(inp[i], act);
}

__global__ void activation_backward_kernel(float* dinp, const float* inp, const float* dout, int64_t n, Act act) {
  int64_t stride = (int64_t)gridDim.x * blockDim.x;
  int64_t n4 = n / 4;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n4; i += stride) {
    float4 x = reinterpret_cast<const float4*>(inp)[i];
    float4 d = reinterpret_cast<const float4*>(dout)[i];
    reinterpret_cast<float4*>(dinp)[i] =
        make_float4(act_bwd(x.x, d.x, act), act_bwd(x.y, d.y, act), act_bwd(x.z, d.z, act), act_bwd(x.w, d.w, act));
  }
  for (int64_t i = n4 * 4 + blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += stride)
    dinp[i] = act_bwd(inp[i], dout[i], act);
}

constexpr int kThreads = 256;

}  // namespace

// --- launchers

void activation_forward(float* out, const float* inp, int64_t n, Act act) {
  if (n <= 0) return;
  LAUNCH(activation_forward_kernel, grid_for((n + 3) / 4, kThreads), kThreads, 0, stream())(out, inp, n, act);
  gpu::check_last_launch("activation forward");
}

void activation_backward(float* dinp, const float* inp, const float* dout, int64_t n, Act act) {
  if (n <= 0) return;
  LAUNCH(activation_backward_kernel, grid_for((n + 3) / 4, kThreads), kThreads, 0, stream())(dinp, inp, dout, n, act);
  gpu::check_last_launch("activation backward");
}

}  // namespace cg::cuda
