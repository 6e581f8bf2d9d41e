// Shape-op dispatch: permute/transpose, slice, concat, gather and the
// backward of slice and gather. Forward ops take float32, int32 or bfloat16
// tensors and return contiguous copies of the same dtype (exact). Backward ops
// take a float32 or bfloat16 dout and return dinp of dout's dtype; gather's
// scatter-add sums bfloat16 in float32 and rounds once.
#pragma once

#include <optional>
#include <vector>

#include "../ops/shape.h"
#include "../runtime/tensor.h"

namespace cg::dispatch {

// dims: a permutation of the axes (negative allowed). `op` names the caller.
TensorPtr permute(const TensorImpl& x, const std::vector<int64_t>& dims, const char* op = "cudagrad.permute");
TensorPtr transpose(const TensorImpl& x, int64_t dim0, int64_t dim1);
// Python slicing along `axis`: negative start/end count from the end, both clamped to [0, size];
// no end: to the end.
TensorPtr slice(const TensorImpl& x, int64_t axis, double start, std::optional<double> end);
TensorPtr slice_backward(const TensorImpl& dout, const Shape& input_shape, int64_t axis, double start, std::optional<double> end);
TensorPtr concat(const std::vector<const TensorImpl*>& xs, int64_t axis);
// Pieces of `sizes[k]` along `axis` (sizes >= 0 summing to the axis size): concat's backward.
std::vector<TensorPtr> split(const TensorImpl& x, const std::vector<int64_t>& sizes, int64_t axis, const char* op = "cudagrad.split");
// torch.gather: out[i][j] = x[index[i][j]][j] for axis 0; index int32 of x's rank.
TensorPtr gather(const TensorImpl& x, int64_t axis, const TensorImpl& index);
TensorPtr gather_backward(const TensorImpl& dout, const TensorImpl& index, int64_t axis, const Shape& input_shape);

}  // namespace cg::dispatch
