// CUDA embedding (ops/embedding.h).
// Forward: a warp per output row (8 a block, grid-stride), float4 row copies
//   when C % 4 == 0 (every row then starts 16-byte aligned), else lane-strided
//   scalars.
// Backward, two kernels:
// - atomics (the default, any V): a warp per token adds its dout row into
//   dweight[idx] with float atomicAdd. Contention is low (a token's row is
//   C distinct addresses), but the order of additions into a row shared by
//   several tokens is not fixed: results may differ in the last bits between
//   runs.
// - row ownership (deterministic; used when V <= 4096 and V * N <= 2^24, e.g.
//   position embeddings, and at any size in deterministic mode,
//   cudagrad.setDeterministic(true)): a block owns dweight row v and its
//   threads own columns; every warp scans the indices 32 at a time (ballot of
//   idx == v) and adds the matching dout rows in token order, the CPU's order:
//   the same bits every run and on both devices. The cost is V * N / 32
//   ballots, hence the size limit outside deterministic mode (GPT-2's 50257 x
//   16384 tokens: about 26M block steps).
// Indices are checked on the device: one out of [0, V) is recorded with
// report_index_error (RangeError naming cudagrad.embedding at the next sync);
// its output row is zeros, its gradient is dropped.
#include "../ops/embedding.h"
#include <cuda_runtime.h>

#include "device_error.cuh"
#include "launch.h"
#include "../runtime/precision.h"
#include "rows.cuh"

namespace cg::cuda {

namespace {

using namespace rows;

constexpr int kThreads = 256;       // 8 warps
constexpr int kOwnerThreads = 128;  // row-ownership backward
constexpr int64_t kOwnerMaxV = 4096;
constexpr int64_t kOwnerMaxWork = int64_t(1) << 24;  // V * N

__device__ __forceinline__ bool bad_index(int32_t v, int64_t V) { return v < 0 || v >= V; }

// --- kernels

__global__ void embedding_fwd_kernel(float* out, const int32_t* idx, const float* weight, int64_t N, int64_t V,
                                     int64_t C, bool vec, gpu::DeviceErrorRecord* err) {
  const int lane = threadIdx.x & 31;
  const int64_t nwarps = ((int64_t)gridDim.x * blockDim.x) >> 5;
  for (int64_t n = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) >> 5; n < N; n += nwarps) {
    const int32_t v = idx[n];
    float* y = out + n * C;
    if (bad_index(v, V)) {
      if (lane == 0) report_index_error(err, gpu::DeviceErrorOp::Embedding, n, v, V);
      for (int64_t c = lane; c < C; c += 32) y[c] = 0.f;
      continue;
    }
    const float* w = weight + v * C;
    if (vec) {
      for (int64_t i = lane; i < C / 4; i += 32) st4(y + 4 * i, ld4(w + 4 * i));
    } else {
      for (int64_t c = lane; c < C; c += 32) y[c] = w[c];
    }
  }
}

// Index check alone (C == 0 or V == 0: nothing else to do).
__global__ void embedding_check_kernel(const int32_t* idx, int64_t N, int64_t V, gpu::DeviceErrorRecord* err) {
  for (int64_t n = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; n < N; n += (int64_t)gridDim.x * blockDim.x)
    if (bad_index(idx[n], V)) report_index_error(err, gpu::DeviceErrorOp::Embedding, n, idx[n], V);
}

__global__ void embedding_bwd_atomic_kernel(float* dweight, const float* dout, const int32_t* idx, int64_t N,
                                            int64_t V, int64_t C, gpu::DeviceErrorRecord* err) {
  const int lane = threadIdx.x & 31;
  const int64_t nwarps = ((int64_t)gridDim.x * blockDim.x) >> 5;
  for (int64_t n = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) >> 5; n < N; n += nwarps) {
    const int32_t v = idx[n];
    if (bad_index(v, V)) {
      if (lane == 0) report_index_error(err, gpu::DeviceErrorOp::Embedding, n, v, V);
      continue;
    }
    float* dw = dweight + v * C;
    const float* d = dout + n * C;
    for (int64_t c = lane; c < C; c += 32) atomicAdd(dw + c, d[c]);
  }
}

__global__ void embedding_bwd_owner_kernel(float* dweight, const float* dout, const int32_t* idx, int64_t N,
                                           int64_t V, int64_t C, gpu::DeviceErrorRecord* err) {
  const int lane = threadIdx.x & 31;
  for (int64_t v = blockIdx.x; v < V; v += gridDim.x) {
    float* dw = dweight + v * C;
    const bool checker = v == 0 && threadIdx.x < 32;  // one warp reports bad indices
    for (int64_t n0 = 0; n0 < N; n0 += 32) {
      const int64_t n = n0 + lane;
      const int32_t i = n < N ? idx[n] : 0;
      if (checker && n < N && bad_index(i, V)) report_index_error(err, gpu::DeviceErrorOp::Embedding, n, i, V);
      unsigned m = __ballot_sync(kFull, n < N && i == v);
      while (m) {  // matches in token order
        const int b = __ffs(static_cast<int>(m)) - 1;
        m &= m - 1;
        const float* d = dout + (n0 + b) * C;
        for (int64_t c = threadIdx.x; c < C; c += blockDim.x) dw[c] += d[c];
      }
    }
  }
}

void check_only(const int32_t* idx, int64_t N, int64_t V, gpu::DeviceErrorRecord* err, const char* op) {
  LAUNCH(embedding_check_kernel, grid_for(N, kThreads), kThreads, 0, stream())(idx, N, V, err);
  gpu::check_last_launch(op);
}

}  // namespace

// --- launchers

void embedding_forward(float* out, const int32_t* idx, const float* weight, int64_t N, int64_t V, int64_t C) {
  if (N == 0) return;
  const char* op = "embedding forward";
  gpu::DeviceErrorRecord* err = gpu::device_error_record();
  if (C == 0) return check_only(idx, N, V, err, op);
  bool vec = C % 4 == 0 && aligned16(out) && aligned16(weight);
  LAUNCH(embedding_fwd_kernel, grid_cap((N + 7) / 8), kThreads, 0, stream())(out, idx, weight, N, V, C, vec, err);
  gpu::check_last_launch(op);
}

void embedding_backward(float* dweight, const float* dout, const int32_t* idx, int64_t N, int64_t V, int64_t C) {
  if (N == 0) return;
  const char* op = "embedding backward";
  gpu::DeviceErrorRecord* err = gpu::device_error_record();
  if (C == 0 || V == 0) return check_only(idx, N, V, err, op);
  if (deterministic() || (V <= kOwnerMaxV && V * N <= kOwnerMaxWork))
    LAUNCH(embedding_bwd_owner_kernel, grid_cap(V), kOwnerThreads, 0, stream())(dweight, dout, idx, N, V, C, err);
  else
    LAUNCH(embedding_bwd_atomic_kernel, grid_cap((N + 7) / 8), kThreads, 0, stream())(dweight, dout, idx, N, V, C,
                                                                                      err);
  gpu::check_last_launch(op);
}

}  // namespace cg::cuda
