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
#include <type_traits>

#include "../runtime/dtype.h"
#include "../runtime/hd.h"
#include "elementwise.h"

namespace cg {

enum class Cmp : int { Eq = 0, Ne = 1, Lt = 2, Le = 3, Gt = 4, Ge = 5 };

// x OP y with the C++ operators (IEEE for NaN), on the host and in kernels.
template <Cmp OP, class X, class Y>
CG_HD bool compare_values(X x, Y y) {
  if constexpr (OP == Cmp::Eq) return x == y;
  else if constexpr (OP == Cmp::Ne) return x != y;
  else if constexpr (OP == Cmp::Lt) return x < y;
  else if constexpr (OP == Cmp::Le) return x <= y;
  else if constexpr (OP == Cmp::Gt) return x > y;
  else return x >= y;
}

// Calls f(std::integral_constant<Cmp, op>{}): the run-time op as a template argument.
template <class F>
void visit_cmp(Cmp op, F&& f) {
  switch (op) {
    case Cmp::Eq: return f(std::integral_constant<Cmp, Cmp::Eq>{});
    case Cmp::Ne: return f(std::integral_constant<Cmp, Cmp::Ne>{});
    case Cmp::Lt: return f(std::integral_constant<Cmp, Cmp::Lt>{});
    case Cmp::Le: return f(std::integral_constant<Cmp, Cmp::Le>{});
    case Cmp::Gt: return f(std::integral_constant<Cmp, Cmp::Gt>{});
    default: return f(std::integral_constant<Cmp, Cmp::Ge>{});
  }
}

}  // namespace cg

namespace cg::cpu {
void compare_forward(float* out, const void* a, const void* b, const Bcast& bc, DType dtype, Cmp op);
void compare_scalar_forward(float* out, const void* a, double s, int64_t n, DType dtype, Cmp op);
}  // namespace cg::cpu

namespace cg::cuda {
void compare_forward(float* out, const void* a, const void* b, const Bcast& bc, DType dtype, Cmp op);
void compare_scalar_forward(float* out, const void* a, double s, int64_t n, DType dtype, Cmp op);
}  // namespace cg::cuda
