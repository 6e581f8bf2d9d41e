// Reductions over one axis: sum, mean, max, argmax. float32 values, int32
// indices. The input is viewed as (outer, len, inner) with the reduced axis in
// the middle (inner == 1: the contiguous last axis; a full reduction is
// outer = inner = 1).
//   reduce_forward:  out (outer, inner) = sum / mean / max over len of inp (outer, len, inner)
//   argmax_forward:  out (outer, inner) int32 = first index of the maximum
//   reduce_backward: dinp (outer, len, inner) = dout (outer, inner) [/ len]  (sum, mean)
//   max_backward:    dinp (outer, len, inner) = dout at idx (outer, inner), 0 elsewhere
// Gradients are activation gradients: assigned (=), never accumulated.
// NaN: max returns NaN if any element is NaN; argmax counts NaN as the maximum
// (the first NaN wins), as PyTorch. len == 0: sum 0, mean NaN; max and argmax
// need len >= 1 (dispatch checks). Results do not depend on the thread count:
// sums use pairwise/blocked summation over fixed blocks.
#pragma once

#include <cstdint>

namespace cg {
enum class Reduce : int { Sum = 0, Mean = 1, Max = 2 };
}

namespace cg::cpu {
void reduce_forward(float* out, const float* inp, int64_t outer, int64_t len, int64_t inner, Reduce op);
void argmax_forward(int32_t* out, const float* inp, int64_t outer, int64_t len, int64_t inner);
void reduce_backward(float* dinp, const float* dout, int64_t outer, int64_t len, int64_t inner, Reduce op);
void max_backward(float* dinp, const float* dout, const int32_t* idx, int64_t outer, int64_t len, int64_t inner);
}  // namespace cg::cpu

namespace cg::cuda {
void reduce_forward(float* out, const float* inp, int64_t outer, int64_t len, int64_t inner, Reduce op);
void argmax_forward(int32_t* out, const float* inp, int64_t outer, int64_t len, int64_t inner);
void reduce_backward(float* dinp, const float* dout, int64_t outer, int64_t len, int64_t inner, Reduce op);
void max_backward(float* dinp, const float* dout, const int32_t* idx, int64_t outer, int64_t len, int64_t inner);
}  // namespace cg::cuda
