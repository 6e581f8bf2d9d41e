// Shared helpers for the CUDA kernel files: the one launch macro (the SIMT
// emulator of the CUDA issue redefines it), grid sizing, and the stream.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "../runtime/cuda/check.h"
#include "../runtime/gpu.h"

// LAUNCH(kernel, grid, block, smem, stream)(args...) in place of <<<>>>; under
// the SIMT emulator (CUDAGRAD_EMULATE_CUDA builds) it runs the grid on fibers.
// CG_DYNAMIC_SMEM(T, name) declares the dynamic shared memory as a T*.
#if defined(CG_EMULATE_CUDA)
#define LAUNCH(kernel, grid, block, smem, stream) ::cg::emu::launcher(#kernel, kernel, dim3(grid), dim3(block), (smem))
#define CG_DYNAMIC_SMEM(T, name) T* name = reinterpret_cast<T*>(::cg::emu::dynamic_smem())
#else
#define LAUNCH(kernel, grid, block, smem, stream) kernel<<<(grid), (block), (smem), (stream)>>>
#define CG_DYNAMIC_SMEM(T, name)                          \
  extern __shared__ __align__(16) unsigned char cg_dyn_smem_[]; \
  T* name = reinterpret_cast<T*>(cg_dyn_smem_)
#endif

namespace cg::cuda {

inline cudaStream_t stream() { return static_cast<cudaStream_t>(gpu::current_stream()); }

// Blocks for a grid-stride loop over n items: enough to fill the device, capped.
inline unsigned grid_for(int64_t n, int threads) {
  int64_t blocks = (n + threads - 1) / threads;
  if (blocks > 65535) blocks = 65535;
  return static_cast<unsigned>(blocks < 1 ? 1 : blocks);
}

}  // namespace cg::cuda
