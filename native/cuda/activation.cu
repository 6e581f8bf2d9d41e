// CUDA activations (ops/activation.h): grid-stride loops over float4 (16-byte
// loads; tensors start 512-byte aligned) with a scalar tail. Same formulas as
// the CPU kernels: GELU = x * sigmoid(2u) avoids cancellation for negative x.
#include "../ops/activation.h"
#include "launch.h"

namespace cg::cuda {

// --- kernels

namespace {

constexpr float kGeluK = 0.7978845608028654f;  // sqrt(2 / pi)
constexpr float kGeluC = 0.044715f;

__device__ __forceinline__ float sigmoidf(float x) { return 1.f / (1.f + expf(-x)); }

__device__ __forceinline__ float act_fwd(float x, Act act) {
  switch (act) {
    case Act::ReLU: return x > 0.f || x != x ? x : 0.f;
    case Act::GELU: return x * sigmoidf(2.f * kGeluK * (x + kGeluC * x * x * x));
    case Act::Tanh: return tanhf(x);
    default: return sigmoidf(x);
  }
}

__device__ __forceinline__ float act_bwd(float x, float d, Act act) {
  switch (act) {
    case Act::ReLU: return x != x ? x : (x > 0.f ? d : 0.f);
    case Act::GELU: {
      float s = sigmoidf(2.f * kGeluK * (x + kGeluC * x * x * x));
      float du = kGeluK * (1.f + 3.f * kGeluC * x * x);
      return d * (s + 2.f * x * s * (1.f - s) * du);
    }
    case Act::Tanh: {
      float t = tanhf(x);
      return d * (1.f - t * t);
    }
    default: {
      float s = sigmoidf(x);
      return d * s * (1.f - s);
    }
  }
}

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
