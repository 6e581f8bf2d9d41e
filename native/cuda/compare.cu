// CUDA comparison ops (ops/compare.h): grid-stride kernels over the output,
// templated on the op, the element type and the index type (32-bit when the
// output has < 2^31 elements). Same-shape and single-element operands (one
// merged dim) take the flat kernel; any other broadcast computes each
// operand's offset from the output index and the merged strides, as
// elementwise.cu's bcast_kernel. NaN compares as IEEE (the C++ operators).
#include "../ops/compare.h"
#include "bcast.cuh"
#include "launch.h"

#include <climits>

namespace cg::cuda {

namespace {

constexpr int kThreads = 256;

// 1 / 0 as float32.
template <Cmp OP, class X, class Y>
__device__ __forceinline__ float cmp(X x, Y y) {
  return compare_values<OP>(x, y) ? 1.f : 0.f;
}

// out[i] = a[i * sa] op b[i * sb] with sa, sb in {0, 1} (0: a single-element operand).
template <Cmp OP, class T, typename I>
__global__ void flat_kernel(float* out, const T* a, int sa, const T* b, int sb, I n) {
  const I stride = (I)gridDim.x * blockDim.x;
  for (I i = (I)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) out[i] = cmp<OP>(a[sa ? i : 0], b[sb ? i : 0]);
}

template <Cmp OP, class T, typename I>
__global__ void bcast_kernel(float* out, const T* a, const T* b, Bcast bc, I n) {
  const I stride = (I)gridDim.x * blockDim.x;
  for (I i = (I)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
    I ao, bo;
    bcast_offsets(bc, i, ao, bo);
    out[i] = cmp<OP>(a[ao], b[bo]);
  }
}

// float32 against a float32 value; int32 against the exact double.
template <Cmp OP, class T, class S, typename I>
__global__ void scalar_kernel(float* out, const T* a, S s, I n) {
  const I stride = (I)gridDim.x * blockDim.x;
  for (I i = (I)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) out[i] = cmp<OP>(static_cast<S>(a[i]), s);
}

template <Cmp OP, class T, typename I>
void tensors(float* out, const T* a, const T* b, const Bcast& bc, int64_t n) {
  if (bc.ndim == 1) {
    auto kernel = &flat_kernel<OP, T, I>;
    LAUNCH(kernel, grid_for(n, kThreads), kThreads, 0, stream())(out, a, bc.astride[0] ? 1 : 0, b, bc.bstride[0] ? 1 : 0, (I)n);
  } else {
    auto kernel = &bcast_kernel<OP, T, I>;
    LAUNCH(kernel, grid_for(n, kThreads), kThreads, 0, stream())(out, a, b, bc, (I)n);
  }
  gpu::check_last_launch("compare forward");
}

template <Cmp OP>
void tensors_of(float* out, const void* a, const void* b, const Bcast& bc, DType dtype) {
  const int64_t n = bcast_numel(bc);
  if (n <= 0) return;
  const bool small = n <= INT_MAX;
  if (dtype == DType::Float32) {
    auto pa = static_cast<const float*>(a), pb = static_cast<const float*>(b);
    if (small) tensors<OP, float, uint32_t>(out, pa, pb, bc, n);
    else tensors<OP, float, int64_t>(out, pa, pb, bc, n);
  } else {
    auto pa = static_cast<const int32_t*>(a), pb = static_cast<const int32_t*>(b);
    if (small) tensors<OP, int32_t, uint32_t>(out, pa, pb, bc, n);
    else tensors<OP, int32_t, int64_t>(out, pa, pb, bc, n);
  }
}

template <Cmp OP, class T, class S>
void scalar(float* out, const T* a, S s, int64_t n) {
  if (n <= INT_MAX) {
    auto kernel = &scalar_kernel<OP, T, S, uint32_t>;
    LAUNCH(kernel, grid_for(n, kThreads), kThreads, 0, stream())(out, a, s, (uint32_t)n);
  } else {
    auto kernel = &scalar_kernel<OP, T, S, int64_t>;
    LAUNCH(kernel, grid_for(n, kThreads), kThreads, 0, stream())(out, a, s, n);
  }
  gpu::check_last_launch("compare scalar forward");
}

template <Cmp OP>
void scalar_of(float* out, const void* a, double s, int64_t n, DType dtype) {
  if (n <= 0) return;
  if (dtype == DType::Float32) scalar<OP>(out, static_cast<const float*>(a), static_cast<float>(s), n);
  else scalar<OP>(out, static_cast<const int32_t*>(a), s, n);
}

}  // namespace

void compare_forward(float* out, const void* a, const void* b, const Bcast& bc, DType dtype, Cmp op) {
  visit_cmp(op, [&](auto c) { tensors_of<decltype(c)::value>(out, a, b, bc, dtype); });
}

void compare_scalar_forward(float* out, const void* a, double s, int64_t n, DType dtype, Cmp op) {
  visit_cmp(op, [&](auto c) { scalar_of<decltype(c)::value>(out, a, s, n, dtype); });
}

}  // namespace cg::cuda
