// Reduction dispatch: sum, mean, max, argmax of a float32 tensor over one
// axis (negative allowed) or over all elements (axis = nullopt), with keepdim;
// backward of sum/mean/max; sum_to_shape for broadcasting ops' gradients.
#pragma once

#include <optional>

#include "../ops/reduce.h"
#include "../runtime/tensor.h"

namespace cg::dispatch {

const char* reduce_name(Reduce op);  // "sum", "mean", "max"
TensorPtr reduce_forward(Reduce op, const TensorImpl& x, std::optional<int64_t> axis, bool keepdim);
TensorPtr argmax_forward(const TensorImpl& x, std::optional<int64_t> axis, bool keepdim);
// dout has the forward output's shape; max routes dout to the first argmax of x.
TensorPtr reduce_backward(Reduce op, const TensorImpl& dout, const TensorImpl& x, std::optional<int64_t> axis, bool keepdim);
// src (float32, contiguous) summed down to `target`, a shape that broadcasts to
// src's: over the leading dims src has in excess and the dims where target is 1.
TensorPtr sum_to_shape(const char* op, const TensorImpl& src, const Shape& target);

}  // namespace cg::dispatch
