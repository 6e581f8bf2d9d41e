// Creation kernels: fill and arange. No gradient.
// out (n), contiguous, dtype float32 or int32 (values already validated to be
// representable by the dispatch layer). CUDA versions run on the current
// device's stream.
#pragma once

#include <cstdint>

#include "../runtime/dtype.h"

namespace cg::cpu {
// out[i] = value
void fill(void* out, int64_t n, DType dtype, double value);
// out[i] = start + i * step (computed in double, then converted)
void arange(void* out, int64_t n, DType dtype, double start, double step);
}  // namespace cg::cpu

namespace cg::cuda {
void fill(void* out, int64_t n, DType dtype, double value);
void arange(void* out, int64_t n, DType dtype, double start, double step);
}  // namespace cg::cuda
