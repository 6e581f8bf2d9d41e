// Elementwise dispatch: float32 tensors; binary ops broadcast as NumPy and
// PyTorch (shapes aligned on the right, size-1 dims stretched). Backward
// returns each operand's gradient summed to that operand's shape.
#pragma once

#include <optional>
#include <utility>

#include "../ops/elementwise.h"
#include "../runtime/tensor.h"

namespace cg::dispatch {

const char* binary_name(Binary op);  // "add", "sub", "mul", "div", "pow"
const char* unary_name(Unary op);    // "neg", "exp", "log", "sqrt"

// The broadcast shape of a and b; RangeError naming both shapes if there is none.
Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b);
// The kernels' stride plan for a and b broadcast to `out` (= broadcast_shapes(a, b)):
// size-1 dims dropped, neighbours merged; RangeError beyond kMaxBcastDims merged dims.
Bcast make_bcast(const char* op, const Shape& out, const Shape& a, const Shape& b);

TensorPtr binary_forward(Binary op, const TensorImpl& a, const TensorImpl& b);
TensorPtr binary_scalar_forward(Binary op, const TensorImpl& a, double s);
// {da, db}; dout has the broadcast output's shape.
std::pair<TensorPtr, TensorPtr> binary_backward(Binary op, const TensorImpl& dout, const TensorImpl& a, const TensorImpl& b);
TensorPtr binary_scalar_backward(Binary op, const TensorImpl& dout, const TensorImpl& a, double s);

TensorPtr unary_forward(Unary op, const TensorImpl& x);
// `out` = the forward result, or null (recomputed where needed).
TensorPtr unary_backward(Unary op, const TensorImpl& dout, const TensorImpl& x, const TensorImpl* out);

// At least one bound; a missing bound is unbounded.
TensorPtr clamp_forward(const TensorImpl& x, std::optional<double> lo, std::optional<double> hi);
TensorPtr clamp_backward(const TensorImpl& dout, const TensorImpl& x, std::optional<double> lo, std::optional<double> hi);

}  // namespace cg::dispatch
