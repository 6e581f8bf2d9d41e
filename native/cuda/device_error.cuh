// Recording bad input found on the device (runtime/gpu.h DeviceErrorRecord):
// the first error wins; the host raises it at its next synchronising call.
#pragma once

#include "../runtime/gpu.h"

namespace cg::cuda {

__device__ __forceinline__ void report_index_error(gpu::DeviceErrorRecord* rec, gpu::DeviceErrorOp op, int64_t pos,
                                                   int64_t value, int64_t bound) {
  if (atomicCAS(reinterpret_cast<int*>(&rec->set), 0, 1) == 0) {
    rec->op = static_cast<int32_t>(op);
    rec->pos = pos;
    rec->value = value;
    rec->bound = bound;
  }
}

}  // namespace cg::cuda
