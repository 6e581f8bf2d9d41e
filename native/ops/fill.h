// Creation kernels: fill and arange. No gradient.
// out (n), contiguous, dtype float32, int32 or bfloat16 (rounded from the float32 value; values already validated to be
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
