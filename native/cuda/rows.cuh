// Device helpers shared by the row kernels of the normalisation families
// (softmax.cu, layernorm.cu, loss.cu) and the reductions of optim.cu: warp and
// block reductions (every thread gets the result, the same tree for every
// thread, so results are deterministic), the online max / exp-sum pair, the
// aligned row loop (scalar head, float4 body, scalar tail), and host-side
// launch helpers (SM count, scratch device memory).
#pragma once

#include <atomic>
#include <cmath>
#include <cstdint>

#include "launch.h"

// Full unrolling of the register-array loops (nvcc); the emulator build's
// host compiler has no such pragma and needs none.
#if defined(__CUDACC__)
#define CG_UNROLL _Pragma("unroll")
#else
#define CG_UNROLL
#endif

namespace cg::cuda::rows {

constexpr unsigned kFull = 0xffffffffu;

// --- warp and block reductions (blockDim.x a multiple of 32)

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(kFull, v, o);
  return v;
}

__device__ __forceinline__ double warp_sum(double v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(kFull, v, o);
  return v;
}

__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(kFull, v, o));
  return v;
}

// Sum over the block; `sh` is __shared__ scratch of >= 32 elements. The leading
// barrier lets a block call it repeatedly with the same scratch.
template <typename T>
__device__ __forceinline__ T block_sum(T v, T* sh) {
  v = warp_sum(v);
  __syncthreads();
  int lane = threadIdx.x & 31;
  if (lane == 0) sh[threadIdx.x >> 5] = v;
  __syncthreads();
  return warp_sum(lane < static_cast<int>(blockDim.x >> 5) ? sh[lane] : T(0));
}

// --- online max and exp-sum: s = sum exp(x - m) over the values seen.
// -inf values add nothing (a row of -inf keeps s = 0, m = -inf); a NaN makes
// s NaN; the max ignores NaN (fmaxf), so a NaN row ends as NaN through s.
struct MaxSum {
  float m, s;
};

__device__ __forceinline__ MaxSum ms_empty() { return MaxSum{-INFINITY, 0.f}; }

__device__ __forceinline__ float exp_shifted(float x, float m) { return x == -INFINITY ? 0.f : expf(x - m); }

// Merges a run whose max is `mx` (>= every value of the run, or -inf) into a.
__device__ __forceinline__ void ms_rescale(MaxSum& a, float mx) {
  if (mx > a.m) {
    if (a.s != 0.f) a.s *= expf(a.m - mx);
    a.m = mx;
  }
}

__device__ __forceinline__ void ms_add(MaxSum& a, float x) {
  ms_rescale(a, x);
  a.s += exp_shifted(x, a.m);
}

__device__ __forceinline__ void ms_add4(MaxSum& a, float4 v) {
  ms_rescale(a, fmaxf(fmaxf(v.x, v.y), fmaxf(v.z, v.w)));
  a.s += (exp_shifted(v.x, a.m) + exp_shifted(v.y, a.m)) + (exp_shifted(v.z, a.m) + exp_shifted(v.w, a.m));
}

__device__ __forceinline__ MaxSum ms_merge(MaxSum a, MaxSum b) {
  float m = fmaxf(a.m, b.m);
  float s = (a.s != 0.f ? a.s * expf(a.m - m) : 0.f) + (b.s != 0.f ? b.s * expf(b.m - m) : 0.f);
  return MaxSum{m, s};
}

__device__ __forceinline__ MaxSum warp_ms(MaxSum a) {
  for (int o = 16; o > 0; o >>= 1) {
    MaxSum b{__shfl_xor_sync(kFull, a.m, o), __shfl_xor_sync(kFull, a.s, o)};
    a = ms_merge(a, b);
  }
  return a;
}

// `sh` is __shared__ scratch of >= 64 floats.
__device__ __forceinline__ MaxSum block_ms(MaxSum a, float* sh) {
  a = warp_ms(a);
  __syncthreads();
  int lane = threadIdx.x & 31, w = threadIdx.x >> 5;
  if (lane == 0) {
    sh[w] = a.m;
    sh[32 + w] = a.s;
  }
  __syncthreads();
  bool live = lane < static_cast<int>(blockDim.x >> 5);
  return warp_ms(live ? MaxSum{sh[lane], sh[32 + lane]} : ms_empty());
}

// --- the aligned row loop: thread `tid` of `nt` visits its share of [0, L)
// of a row starting `head` elements before a 16-byte boundary: f1(c) for
// single elements (the head and the tail), f4(c) for the float4 at c..c+3
// (16-byte aligned in every array of the row). head >= L: all single.
template <typename F1, typename F4>
__device__ __forceinline__ void row_loop(int64_t L, int64_t head, int tid, int nt, F1&& f1, F4&& f4) {
  if (head > L) head = L;
  for (int64_t c = tid; c < head; c += nt) f1(c);
  int64_t n4 = (L - head) >> 2;
  for (int64_t i = tid; i < n4; i += nt) f4(head + 4 * i);
  for (int64_t c = head + 4 * n4 + tid; c < L; c += nt) f1(c);
}

// Elements before the first 16-byte boundary of a row at element offset `off`
// of 16-byte aligned arrays; `vec` false: the whole row element by element.
__device__ __forceinline__ int64_t row_head(int64_t off, bool vec) {
  return vec ? ((4 - (off & 3)) & 3) : INT64_MAX;
}

__device__ __forceinline__ float4 ld4(const float* p) { return *reinterpret_cast<const float4*>(p); }
__device__ __forceinline__ void st4(float* p, float4 v) { *reinterpret_cast<float4*>(p) = v; }

// --- host side

inline bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

// Streaming multiprocessors of the current device (queried once per device).
inline int sm_count() {
  static std::atomic<int> counts[64];
  int dev = 0;
  CG_CUDA_CHECK(cudaGetDevice(&dev), "cudagrad");
  int n = dev >= 0 && dev < 64 ? counts[dev].load() : 0;
  if (n == 0) {
    cudaDeviceProp p;
    CG_CUDA_CHECK(cudaGetDeviceProperties(&p, dev), "cudagrad");
    n = p.multiProcessorCount > 0 ? p.multiProcessorCount : 1;
    if (dev >= 0 && dev < 64) counts[dev].store(n);
  }
  return n;
}

// Temporary device memory from the caching allocator for one op. Released
// when the launcher returns: the device's work is ordered on its one stream,
// so the block is only reused by work queued after these kernels.
class Scratch {
 public:
  explicit Scratch(size_t bytes) : bytes_(bytes < 16 ? 16 : bytes) {
    CG_CUDA_CHECK(cudaGetDevice(&dev_), "cudagrad");
    ptr_ = gpu::alloc(dev_, bytes_);
  }
  ~Scratch() { gpu::free(dev_, ptr_, bytes_); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }

 private:
  int dev_ = 0;
  size_t bytes_;
  void* ptr_ = nullptr;
};

// Blocks for a loop over `items` (rows, ...) with a grid-stride fallback.
inline unsigned grid_cap(int64_t items, int64_t cap = 65535) {
  int64_t b = items < cap ? items : cap;
  return static_cast<unsigned>(b < 1 ? 1 : b);
}

}  // namespace cg::cuda::rows
