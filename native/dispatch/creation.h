// Tensor creation and movement: validate once, then run the cpu:: or cuda::
// kernel for the target device. Every function names its op in errors.
#pragma once

#include "../runtime/rng.h"
#include "../runtime/tensor.h"

namespace cg::dispatch {

// Uninitialised tensor.
TensorPtr empty(const char* op, const Shape& shape, DType dtype, Device device);
// Copy of `src_bytes` host bytes, which must be exactly numel * dtype_size(dtype).
TensorPtr from_host(const char* op, const void* src, size_t src_bytes, const Shape& shape, DType dtype, Device device);
TensorPtr full(const char* op, const Shape& shape, DType dtype, double value, Device device);
// n values start, start + step, ... (n >= 0; every value representable in dtype)
TensorPtr arange(const char* op, double start, double step, int64_t n, DType dtype, Device device);
// float32 random tensors from generator state `rs` (see runtime/philox.h)
TensorPtr uniform(const char* op, const Shape& shape, rng::State rs, double low, double high, Device device);
TensorPtr normal(const char* op, const Shape& shape, rng::State rs, double mean, double stdev, Device device);

// A new tensor on `device` (a view of the same storage when already there).
TensorPtr to_device(const char* op, const TensorImpl& t, Device device);
// A copy in new storage on the same device (stream-ordered on CUDA).
TensorPtr clone(const char* op, const TensorImpl& t);
// `t` converted to dtype `to` in new storage (ops/cast.h; a copy when the dtypes match).
TensorPtr cast(const char* op, const TensorImpl& t, DType to);
// A view with another shape and the same element count.
TensorPtr reshape(const char* op, const TensorImpl& t, const Shape& shape);
// Copies the tensor's bytes to host memory `dst` of `dst_bytes` (must equal nbytes).
// Blocks the calling thread until the data is there.
void copy_to_host(const char* op, const TensorImpl& t, void* dst, size_t dst_bytes);

}  // namespace cg::dispatch
