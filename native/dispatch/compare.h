// Comparison dispatch: eq, ne, lt, le, gt, ge of two tensors of one dtype
// (float32 or int32), broadcast as NumPy, or of a tensor and a number. The
// result is a float32 tensor of 1 / 0 on the inputs' device.
#pragma once

#include "../ops/compare.h"
#include "../runtime/tensor.h"

namespace cg::dispatch {

const char* compare_name(Cmp op);  // "eq", "ne", "lt", "le", "gt", "ge"

TensorPtr compare_forward(Cmp op, const TensorImpl& a, const TensorImpl& b);
// Any number s, NaN and infinities included (float32 tensors: s rounded to float32).
TensorPtr compare_scalar_forward(Cmp op, const TensorImpl& a, double s);

}  // namespace cg::dispatch
