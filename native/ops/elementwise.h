// Elementwise ops: binary add/sub/mul/div/pow with NumPy broadcasting (and
// scalar variants), unary neg/exp/log/sqrt, clamp. float32.
//
// Broadcasting is described by `Bcast` (built by dispatch/elementwise.cpp):
// the output shape with size-1 dims dropped and adjacent dims merged, and for
// each operand the element stride per output dim (0 on broadcast dims). After
// merging the innermost operand strides are 0 or 1 (kernels rely on this).
//
//   binary_forward:   out (shape) = a (strided) op b (strided)
//   binary_scalar_forward: out (n) = a (n) op s
//   binary_backward:  dinp (shape, the OUTPUT shape, contiguous) =
//                     dout (shape) * d(a op b) / d(a) for which == 0, / d(b) for which == 1.
//                     The caller sums dinp down to the operand's own shape.
//   binary_scalar_backward: dinp (n) = dout (n) * d(a op s) / d(a)
//   unary_forward:    out (n) = f(inp (n))
//   unary_backward:   dinp (n) = dout (n) * f'(inp (n)); `out` = f(inp) may be
//                     given (exp, sqrt use it) or null (recomputed).
//   clamp_forward:    out (n) = min(max(inp, lo), hi) (lo > hi gives hi; NaN stays NaN)
//   clamp_backward:   dinp (n) = dout where lo <= inp <= hi, else 0 (NaN inp: 0), as PyTorch.
// All gradients here are activation gradients: assigned (=), never accumulated.
// Pow follows PyTorch: d/da = 0 where the exponent is 0; d/db = 0 where a == 0
// and the exponent >= 0.
#pragma once

#include <cstdint>

namespace cg {

enum class Binary : int { Add = 0, Sub = 1, Mul = 2, Div = 3, Pow = 4 };
enum class Unary : int { Neg = 0, Exp = 1, Log = 2, Sqrt = 3 };

// Most merged dims a broadcast may have (dispatch raises a RangeError beyond).
constexpr int kMaxBcastDims = 16;

struct Bcast {
  int ndim = 0;                       // >= 1
  int64_t shape[kMaxBcastDims] = {};  // output sizes, innermost last
  int64_t astride[kMaxBcastDims] = {};
  int64_t bstride[kMaxBcastDims] = {};
};

// Elements of the broadcast output.
inline int64_t bcast_numel(const Bcast& bc) {
  int64_t n = 1;
  for (int d = 0; d < bc.ndim; ++d) n *= bc.shape[d];
  return n;
}

}  // namespace cg

namespace cg::cpu {
void binary_forward(float* out, const float* a, const float* b, const Bcast& bc, Binary op);
void binary_scalar_forward(float* out, const float* a, float s, int64_t n, Binary op);
void binary_backward(float* dinp, const float* dout, const float* a, const float* b, const Bcast& bc, Binary op, int which);
void binary_scalar_backward(float* dinp, const float* dout, const float* a, float s, int64_t n, Binary op);
void unary_forward(float* out, const float* inp, int64_t n, Unary op);
void unary_backward(float* dinp, const float* dout, const float* inp, const float* out, int64_t n, Unary op);
void clamp_forward(float* out, const float* inp, int64_t n, float lo, float hi);
void clamp_backward(float* dinp, const float* dout, const float* inp, int64_t n, float lo, float hi);
}  // namespace cg::cpu

namespace cg::cuda {
void binary_forward(float* out, const float* a, const float* b, const Bcast& bc, Binary op);
void binary_scalar_forward(float* out, const float* a, float s, int64_t n, Binary op);
void binary_backward(float* dinp, const float* dout, const float* a, const float* b, const Bcast& bc, Binary op, int which);
void binary_scalar_backward(float* dinp, const float* dout, const float* a, float s, int64_t n, Binary op);
void unary_forward(float* out, const float* inp, int64_t n, Unary op);
void unary_backward(float* dinp, const float* dout, const float* inp, const float* out, int64_t n, Unary op);
void clamp_forward(float* out, const float* inp, int64_t n, float lo, float hi);
void clamp_backward(float* dinp, const float* dout, const float* inp, int64_t n, float lo, float hi);
}  // namespace cg::cuda
