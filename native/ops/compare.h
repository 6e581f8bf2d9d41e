// Comparison ops eq, ne, lt, le, gt, ge with NumPy broadcasting (the Bcast
// plan of ops/elementwise.h, built by dispatch) and a scalar variant. Inputs
// float32 or int32 (both operands one dtype); the output is float32 1 (true)
// or 0 (false). NaN compares as IEEE: false for everything but ne.
//
//   compare_forward:        out (bc.shape) = a (strided) op b (strided)
//   compare_scalar_forward: out (n) = a (n) op s. float32: compared in float32
//                           (dispatch has rounded s to float32, as PyTorch);
//                           int32: compared exactly in double (2 < 2.5 is true).
// Not differentiable: no backward.
#pragma once

#include <cstdint>

#include "../runtime/dtype.h"
#include "elementwise.h"

namespace cg {

enum class Cmp : int { Eq = 0, Ne = 1, Lt = 2, Le = 3, Gt = 4, Ge = 5 };

}  // namespace cg

namespace cg::cpu {
void compare_forward(float* out, const void* a, const void* b, const Bcast& bc, DType dtype, Cmp op);
void compare_scalar_forward(float* out, const void* a, double s, int64_t n, DType dtype, Cmp op);
}  // namespace cg::cpu

namespace cg::cuda {
void compare_forward(float* out, const void* a, const void* b, const Bcast& bc, DType dtype, Cmp op);
void compare_scalar_forward(float* out, const void* a, double s, int64_t n, DType dtype, Cmp op);
}  // namespace cg::cuda
