// Device-side activation formulas shared by the activation kernels and the
// GEMM epilogue: the same functions as the CPU kernels (ops/activation.h);
// GELU = x * sigmoid(2u) avoids cancellation for negative x; the exact GELU
// x Phi(x) takes Phi(x) = erfc(-x / sqrt 2) / 2 from erfcf, which keeps its
// relative accuracy for negative x (1 + erf would cancel).
#pragma once

#include <cuda_runtime.h>

#include "../ops/activation.h"

namespace cg::cuda {

constexpr float kGeluK = 0.7978845608028654f;  // sqrt(2 / pi)
constexpr float kGeluC = 0.044715f;

constexpr float kSqrtHalf = 0.70710678f;     // 1 / sqrt(2)
constexpr float kInvSqrt2Pi = 0.3989422804f;  // 1 / sqrt(2 pi)
// Beyond |x| = 32, Phi(x) is 0 or 1 and phi(x) is 0 in float32; clamping x
// there keeps x Phi(x) and x phi(x) from being inf * 0 = NaN at x = +-inf, as
// the CPU kernels do. Comparisons, not fminf/fmaxf, so that NaN stays NaN.
constexpr float kGeluExactClamp = 32.f;

__device__ __forceinline__ float sigmoidf_(float x) { return 1.f / (1.f + expf(-x)); }

__device__ __forceinline__ float gelu_exact_clamp(float x) {
  return x < -kGeluExactClamp ? -kGeluExactClamp : (x > kGeluExactClamp ? kGeluExactClamp : x);
}

__device__ __forceinline__ float act_fwd(float x, Act act) {
  switch (act) {
    case Act::ReLU: return x > 0.f || x != x ? x : 0.f;
    case Act::GELU: return x * sigmoidf_(2.f * kGeluK * (x + kGeluC * x * x * x));
    case Act::Tanh: return tanhf(x);
    case Act::GELUExact: return 0.5f * (x < -kGeluExactClamp ? -kGeluExactClamp : x) * erfcf(-x * kSqrtHalf);
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
    case Act::GELUExact: {
      // Phi(x) + x phi(x)
      float xc = gelu_exact_clamp(x);
      return d * (0.5f * erfcf(-x * kSqrtHalf) + xc * expf(-0.5f * xc * xc) * kInvSqrt2Pi);
    }
    default: {
      float s = sigmoidf_(x);
      return d * s * (1.f - s);
    }
  }
}

}  // namespace cg::cuda
