// The one switch on the device: run cpu::OP or cuda::OP with the same
// arguments, making the tensor's CUDA device current first. In builds without
// CUDA (binding.gyp) no cuda:: symbol is referenced.
#pragma once

#include "../runtime/error.h"
#include "../runtime/gpu.h"

#if defined(CUDAGRAD_HAS_CUDA) || defined(CG_EMULATE_CUDA)
#define CG_ON_DEVICE(device, OP, ...)           \
  do {                                          \
    if ((device).is_cpu()) {                    \
      ::cg::cpu::OP(__VA_ARGS__);               \
    } else {                                    \
      ::cg::gpu::set_device((device).index);    \
      ::cg::cuda::OP(__VA_ARGS__);              \
    }                                           \
  } while (0)
#else
// Built without CUDA: no cuda:: kernels exist (gpu::require_device has already
// refused any CUDA tensor, so the else branch is unreachable).
#define CG_ON_DEVICE(device, OP, ...)                                                 \
  do {                                                                                \
    if ((device).is_cpu()) ::cg::cpu::OP(__VA_ARGS__);                                \
    else ::cg::throw_error(#OP, ": cudagrad was built without CUDA");                  \
  } while (0)
#endif

// For ops whose CUDA kernels are not written yet: the CPU kernel, or a clear
// error naming the op on a CUDA tensor (never a silent host round trip).
#define CG_CPU_ONLY(op_name, device, OP, ...)                                                         \
  do {                                                                                                \
    if ((device).is_cpu()) {                                                                          \
      ::cg::cpu::OP(__VA_ARGS__);                                                                     \
    } else {                                                                                          \
      ::cg::throw_error(op_name, ": not implemented on CUDA yet (tensor on ", (device).str(), ")");   \
    }                                                                                                 \
  } while (0)
