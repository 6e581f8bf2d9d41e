// Activations, elementwise. ReLU, GELU (tanh approximation, as GPT-2), tanh,
// sigmoid, and the exact GELU 0.5 x (1 + erf(x / sqrt 2)) (PyTorch's default,
// computed through erfc so that negative x keeps its relative accuracy).
// No parameters.
//   forward:  out (n) = f(inp (n))
//   backward: dinp (n) = dout (n) * f'(inp (n))   (activation gradient: =)
// NaN inputs give NaN outputs (also for ReLU).
#pragma once

#include <cstdint>

namespace cg {
// The values are fixed (GELU = the tanh form, GELUExact = the erf form).
enum class Act : int { ReLU = 0, GELU = 1, Tanh = 2, Sigmoid = 3, GELUExact = 4 };
}

namespace cg::cpu {
void activation_forward(float* out, const float* inp, int64_t n, Act act);
void activation_backward(float* dinp, const float* inp, const float* dout, int64_t n, Act act);
}  // namespace cg::cpu

namespace cg::cuda {
void activation_forward(float* out, const float* inp, int64_t n, Act act);
void activation_backward(float* dinp, const float* inp, const float* dout, int64_t n, Act act);
}  // namespace cg::cuda
