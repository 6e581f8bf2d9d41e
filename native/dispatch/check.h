// Validation shared by every dispatch function. Each check names the op and
// the shapes involved and throws cg::Error (TypeError for a wrong kind of
// argument, RangeError for a wrong size or value).
#pragma once

#include <initializer_list>

#include "../runtime/device.h"
#include "../runtime/tensor.h"

namespace cg::dispatch {

// Largest element count a tensor may have (the largest exact JS integer).
constexpr int64_t kMaxNumel = (int64_t(1) << 53) - 1;

// Dimensions >= 0 and a product that fits; returns the element count.
int64_t check_shape(const char* op, const Shape& shape);
// The CPU always; a CUDA device only when present (else the CUDA reason).
void check_device(const char* op, Device device);
// All tensors on one device (returned).
Device check_same_device(const char* op, std::initializer_list<const TensorImpl*> tensors);
// t.dtype == want; `arg` names the argument in the message.
void check_dtype(const char* op, const TensorImpl& t, DType want, const char* arg);
// a.shape == b.shape; `an`, `bn` name the arguments.
void check_same_shape(const char* op, const TensorImpl& a, const char* an, const TensorImpl& b, const char* bn);
// `value` can be stored in `dtype` (int32: an integer in range; float32, bfloat16: a finite value rounds to a
// finite one; infinities and NaN pass).
void check_value(const char* op, double value, DType dtype, const char* what);

}  // namespace cg::dispatch
