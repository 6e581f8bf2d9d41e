// The one switch on the device: run cpu::OP or cuda::OP with the same
// arguments, making the tensor's CUDA device current first.
#pragma once

#include "../runtime/gpu.h"

#define CG_ON_DEVICE(device, OP, ...)           \
  do {                                          \
    if ((device).is_cpu()) {                    \
      ::cg::cpu::OP(__VA_ARGS__);               \
    } else {                                    \
      ::cg::gpu::set_device((device).index);    \
      ::cg::cuda::OP(__VA_ARGS__);              \
    }                                           \
  } while (0)
