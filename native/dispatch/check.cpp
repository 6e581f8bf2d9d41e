// Validation helpers (dispatch/check.h).
#include "check.h"

#include <cmath>
#include <limits>

#include "../runtime/bf16.h"
#include "../runtime/error.h"
#include "../runtime/gpu.h"

namespace cg::dispatch {

int64_t check_shape(const char* op, const Shape& shape) {
  int64_t n = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] < 0) throw_range_error(op, ": shape ", shape_str(shape), " has a negative size at dim ", i);
    if (shape[i] > 0 && n > kMaxNumel / shape[i])
      throw_range_error(op, ": shape ", shape_str(shape), " has more than 2^53 elements");
    n *= shape[i];
  }
  return n;
}

void check_device(const char* op, Device device) {
  if (device.is_cuda()) gpu::require_device(device.index, op);
}

Device check_same_device(const char* op, std::initializer_list<const TensorImpl*> tensors) {
  const TensorImpl* first = *tensors.begin();
  for (const TensorImpl* t : tensors) {
    if (t->device() != first->device()) {
      std::string desc;
      for (const TensorImpl* u : tensors) desc += cat(desc.empty() ? "" : ", ", shape_str(u->shape()), " on ", u->device().str());
      throw_type_error(op, ": expected all tensors on one device, got ", desc);
    }
  }
  return first->device();
}

void check_dtype(const char* op, const TensorImpl& t, DType want, const char* arg) {
  if (t.dtype() != want)
    throw_type_error(op, ": ", arg, " must be ", dtype_name(want), ", got ", dtype_name(t.dtype()), " tensor of shape ",
                     shape_str(t.shape()));
}

void check_same_shape(const char* op, const TensorImpl& a, const char* an, const TensorImpl& b, const char* bn) {
  if (a.shape() != b.shape())
    throw_range_error(op, ": ", an, " has shape ", shape_str(a.shape()), " but ", bn, " has shape ", shape_str(b.shape()));
}

void check_value(const char* op, double value, DType dtype, const char* what) {
  if (dtype == DType::Int32) {
    if (!std::isfinite(value) || std::trunc(value) != value || value < -2147483648.0 || value > 2147483647.0)
      throw_range_error(op, ": ", what, " ", value, " is not an int32 value");
  } else if (std::isfinite(value) && std::fabs(value) > static_cast<double>(std::numeric_limits<float>::max())) {
    throw_range_error(op, ": ", what, " ", value, " overflows float32");
  } else if (dtype == DType::BFloat16 && std::isfinite(value) && std::isinf(bf16_to_float(bf16_from_float(static_cast<float>(value))))) {
    throw_range_error(op, ": ", what, " ", value, " overflows bfloat16");
  }
}

}  // namespace cg::dispatch
