// Device-side activation formulas shared by the activation kernels and the
// GEMM epilogue: the same functions as the CPU kernels (ops/activation.h);
// GELU = x * sigmoid(2u) avoids cancellation for negative x.
#pragma once

#include <cuda_runtime.h>

#include "../ops/activation.h"

namespace cg::cuda {

constexpr float kGeluK = 0.7978845608028654f;  // sqrt(2 / pi)
constexpr float kGeluC = 0.044715f;

__device__ __forceinline__ float sigmoidf_(float x) { return 1.f / (1.f + expf(-x)); }

__device__ __forceinline__ float act_fwd(float x, Act act) {
  switch (act) {
    case Act::ReLU: return x > 0.f || x != x ? x : 0.f;
    case Act::GELU: return x * sigmoidf_(2.f * kGeluK * (x + kGeluC * x * x * x));
    case Act::Tanh: return tanhf(x);
    default: return sigmoidf_(x);
  }
}

__device__ __forceinline__ float act_bwd(float x, float d, Act act) {
  switch (act) {
    case Act::ReLU: return x != x ? x : (x > 0.f ? d : 0.f);
    case Act::GELU: {
      float s = sigmoidf_(2.f * kGeluK * (x + kGeluC * x * x * x));
      float du = kGeluK * (1.f + 3.f * kGeluC * x * x);
      return d * (s + 2.f * x * s * (1.f - s) * du);
    }
    case Act::Tanh: {
      float t = tanhf(x);
      return d * (1.f - t * t);
    }
    default: {
      float s = sigmoidf_(x);
      return d * s * (1.f - s);
    }
  }
}

}  // namespace cg::cuda
