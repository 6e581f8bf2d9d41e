// CUDA dtype conversion (ops/cast.h): a grid-stride kernel per (from, to) pair.
#include "../ops/cast.h"
#include "launch.h"

namespace cg::cuda {

template <typename Out, typename In>
__global__ void cast_kernel(Out* out, const In* in, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    cast_one(out + i, in[i]);
}

namespace {

constexpr int kThreads = 256;

template <typename Out, typename In>
void launch_cast(void* out, const void* in, int64_t n) {
  LAUNCH((cast_kernel<Out, In>), grid_for(n, kThreads), kThreads, 0, stream())(static_cast<Out*>(out), static_cast<const In*>(in), n);
}

template <typename In>
void cast_from(void* out, DType to, const void* in, int64_t n) {
  switch (to) {
    case DType::Float32: return launch_cast<float, In>(out, in, n);
    case DType::Int32: return launch_cast<int32_t, In>(out, in, n);
    case DType::BFloat16: return launch_cast<uint16_t, In>(out, in, n);
  }
}

}  // namespace

void cast(void* out, DType to, const void* in, DType from, int64_t n) {
  if (n <= 0) return;
  switch (from) {
    case DType::Float32: cast_from<float>(out, to, in, n); break;
    case DType::Int32: cast_from<int32_t>(out, to, in, n); break;
    case DType::BFloat16: cast_from<uint16_t>(out, to, in, n); break;
  }
  gpu::check_last_launch("cast");
}

}  // namespace cg::cuda
