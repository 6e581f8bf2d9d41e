// The offsets into a and b of element i of a broadcast output (ops/elementwise.h's
// Bcast: merged dims, per-operand element strides), for the grid-stride kernels
// of elementwise.cu and compare.cu. I: the index type (32-bit when it fits).
#pragma once

#include <cuda_runtime.h>

#include "../ops/elementwise.h"

namespace cg::cuda {

template <typename I>
__device__ __forceinline__ void bcast_offsets(const Bcast& bc, I i, I& ao, I& bo) {
  I rest = i;
  ao = 0;
  bo = 0;
  for (int d = bc.ndim - 1; d > 0; --d) {
    const I size = (I)bc.shape[d], q = rest / size, c = rest - q * size;
    ao += c * (I)bc.astride[d];
    bo += c * (I)bc.bstride[d];
    rest = q;
  }
  ao += rest * (I)bc.astride[0];
  bo += rest * (I)bc.bstride[0];
}

}  // namespace cg::cuda
