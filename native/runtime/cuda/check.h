// CUDA status checks: every runtime call and every launch goes through these,
// so a CUDA failure becomes a cg::Error carrying the CUDA message.
#pragma once

#include <cuda_runtime_api.h>

namespace cg::gpu {
[[noreturn]] void throw_cuda_error(cudaError_t err, const char* op, const char* call);
}

#define CG_CUDA_CHECK(call, op)                                        \
  do {                                                                 \
    cudaError_t cg_err_ = (call);                                      \
    if (cg_err_ != cudaSuccess) ::cg::gpu::throw_cuda_error(cg_err_, op, #call); \
  } while (0)
