// CUDA cross-entropy (ops/loss.h), fused with log-softmax.
// Forward: a warp per row for C <= 1024 (4 warps a block), a block per row
//   above (256 / 512 / 1024 threads; C = 50257 takes 1024): ONE pass over the
//   row -- online max / exp-sum (rows.cuh MaxSum) over float4 loads after a
//   scalar head up to the row's first 16-byte boundary -- then a warp / block
//   merge; loss = log(sum) - (x[t] - max).
// Reduce: one block, double sums of the losses (and for 'mean' the count of
//   non-ignored targets, counted here on the device), fixed tree: deterministic.
// Backward: the same row shapes, online pass then the write pass
//   dlogits = exp(x - max) * (g / sum) - g [c == t], g = dloss * scale; for
//   'mean' the scale 1 / count comes from a one-block count kernel into device
//   memory (no host read of the targets).
// Forward-backward (the autograd seed dloss = 1 known at the forward): the
//   backward kernel with dloss 1 also writes the per-row losses.
// Targets are checked on the device: one out of [0, C) (and not ignoreIndex)
// is recorded with report_index_error (raised at the next sync as a RangeError
// naming cudagrad.crossEntropy); its row gets loss 0 / a zero gradient row.
#include "../ops/loss.h"
#include <cuda_runtime.h>

#include "device_error.cuh"
#include "launch.h"
#include "rows.cuh"

namespace cg::cuda {

namespace {

using namespace rows;

constexpr int kWarpBlock = 128;
constexpr int kReduceThreads = 1024;

// A row is handled by a warp (WarpRows) or by the whole block.
template <bool WarpRows>
struct RowGroup {
  __device__ int tid() const { return WarpRows ? static_cast<int>(threadIdx.x & 31) : static_cast<int>(threadIdx.x); }
  __device__ int size() const { return WarpRows ? 32 : static_cast<int>(blockDim.x); }
  __device__ int64_t first() const {
    return WarpRows ? (((int64_t)blockIdx.x * blockDim.x + threadIdx.x) >> 5) : (int64_t)blockIdx.x;
  }
  __device__ int64_t stride() const {
    return WarpRows ? (((int64_t)gridDim.x * blockDim.x) >> 5) : (int64_t)gridDim.x;
  }
  __device__ MaxSum merge(MaxSum a, float* sh) const { return WarpRows ? warp_ms(a) : block_ms(a, sh); }
};

// Online max / exp-sum of row x[0, C), merged over the group.
template <bool WarpRows>
__device__ __forceinline__ MaxSum row_stats(const RowGroup<WarpRows>& g, const float* x, int64_t C, int64_t head,
                                            float* sh) {
  MaxSum a = ms_empty();
  row_loop(C, head, g.tid(), g.size(), [&](int64_t c) { ms_add(a, x[c]); }, [&](int64_t c) { ms_add4(a, ld4(x + c)); });
  return g.merge(a, sh);
}

// --- kernels

template <bool WarpRows>
__global__ void crossentropy_fwd_kernel(float* losses, const float* logits, const int32_t* targets, int64_t N,
                                        int64_t C, int32_t ignore_index, bool vec, gpu::DeviceErrorRecord* err) {
  __shared__ float sh[64];
  const RowGroup<WarpRows> g;
  for (int64_t r = g.first(); r < N; r += g.stride()) {
    const int32_t t = targets[r];
    if (t == ignore_index || t < 0 || t >= C) {
      if (g.tid() == 0) {
        if (t != ignore_index) report_index_error(err, gpu::DeviceErrorOp::CrossEntropy, r, t, C);
        losses[r] = 0.f;
      }
      continue;
    }
    const float* x = logits + r * C;
    MaxSum a = row_stats(g, x, C, row_head(r * C, vec), sh);
    if (g.tid() == 0) losses[r] = logf(a.s) - (x[t] - a.m);  // the shift is exact for the target's logit
  }
}

// dloss null: 1 for every row; losses non-null: also the forward's per-row
// losses (forward_backward: one read of the logits for both).
template <bool WarpRows>
__global__ void crossentropy_bwd_kernel(float* dlogits, float* losses, const float* dloss, int64_t dloss_stride,
                                        const float* logits, const int32_t* targets, int64_t N, int64_t C,
                                        int32_t ignore_index, const float* scale_dev, float scale, bool vec,
                                        gpu::DeviceErrorRecord* err) {
  __shared__ float sh[64];
  const RowGroup<WarpRows> g;
  const float sc = scale_dev ? *scale_dev : scale;
  for (int64_t r = g.first(); r < N; r += g.stride()) {
    const int32_t t = targets[r];
    float* dx = dlogits + r * C;
    const int64_t head = row_head(r * C, vec);
    if (t == ignore_index || t < 0 || t >= C) {
      if (g.tid() == 0) {
        if (t != ignore_index) report_index_error(err, gpu::DeviceErrorOp::CrossEntropy, r, t, C);
        if (losses) losses[r] = 0.f;
      }
      row_loop(C, head, g.tid(), g.size(), [&](int64_t c) { dx[c] = 0.f; },
               [&](int64_t c) { st4(dx + c, make_float4(0.f, 0.f, 0.f, 0.f)); });
      continue;
    }
    const float* x = logits + r * C;
    const float gr = (dloss ? dloss[r * dloss_stride] : 1.f) * sc;
    MaxSum a = row_stats(g, x, C, head, sh);
    if (losses && g.tid() == 0) losses[r] = logf(a.s) - (x[t] - a.m);
    const float m = a.m, k = gr / a.s;
    auto f = [&](float v, int64_t c) {
      float p = expf(v - m) * k;
      return c == t ? p - gr : p;
    };
    row_loop(C, head, g.tid(), g.size(), [&](int64_t c) { dx[c] = f(x[c], c); },
             [&](int64_t c) {
               float4 v = ld4(x + c);
               st4(dx + c, make_float4(f(v.x, c), f(v.y, c + 1), f(v.z, c + 2), f(v.w, c + 3)));
             });
  }
}

// out = sum(losses) * (mean ? 1 / count : 1) in double; one block.
__global__ void crossentropy_reduce_kernel(float* out, const float* losses, const int32_t* targets, int64_t N,
                                           int32_t ignore_index, bool mean) {
  __shared__ double sh[32];
  double s = 0, count = 0;
  for (int64_t i = threadIdx.x; i < N; i += blockDim.x) {
    s += static_cast<double>(losses[i]);
    count += targets[i] != ignore_index ? 1.0 : 0.0;
  }
  s = block_sum(s, sh);
  count = block_sum(count, sh);
  if (threadIdx.x == 0) out[0] = static_cast<float>(s * (mean ? (count > 0 ? 1.0 / count : 0.0) : 1.0));
}

// scale[0] = 1 / count of non-ignored targets (0 when none); one block.
__global__ void crossentropy_mean_scale_kernel(float* scale, const int32_t* targets, int64_t N, int32_t ignore_index) {
  __shared__ double sh[32];
  double count = 0;
  for (int64_t i = threadIdx.x; i < N; i += blockDim.x) count += targets[i] != ignore_index ? 1.0 : 0.0;
  count = block_sum(count, sh);
  if (threadIdx.x == 0) scale[0] = count > 0 ? static_cast<float>(1.0 / count) : 0.f;
}

int block_threads(int64_t C) { return C <= 4096 ? 256 : (C <= 16384 ? 512 : 1024); }

}  // namespace

// --- launchers

void crossentropy_forward(float* losses, const float* logits, const int32_t* targets, int64_t N, int64_t C,
                          int32_t ignore_index) {
  if (N == 0) return;
  gpu::DeviceErrorRecord* err = gpu::device_error_record();
  bool vec = aligned16(logits);
  if (C <= 1024)
    LAUNCH(crossentropy_fwd_kernel<true>, grid_cap((N + 3) / 4), kWarpBlock, 0, stream())(losses, logits, targets, N, C,
                                                                                        ignore_index, vec, err);
  else
    LAUNCH(crossentropy_fwd_kernel<false>, grid_cap(N), block_threads(C), 0, stream())(losses, logits, targets, N, C,
                                                                                     ignore_index, vec, err);
  gpu::check_last_launch("crossEntropy forward");
}

void crossentropy_reduce(float* out, const float* losses, const int32_t* targets, int64_t N, int32_t ignore_index,
                         bool mean) {
  LAUNCH(crossentropy_reduce_kernel, 1, kReduceThreads, 0, stream())(out, losses, targets, N, ignore_index, mean);
  gpu::check_last_launch("crossEntropy reduce");
}

namespace {

// dlogits (and losses when non-null) for dloss (null: 1); see the kernel.
void launch_backward(const char* op, float* dlogits, float* losses, const float* dloss, int64_t dloss_stride,
                     const float* logits, const int32_t* targets, int64_t N, int64_t C, int32_t ignore_index,
                     bool mean) {
  gpu::DeviceErrorRecord* err = gpu::device_error_record();
  Scratch scale(mean ? sizeof(float) : 16);
  float* scale_dev = nullptr;
  if (mean) {
    scale_dev = scale.as<float>();
    LAUNCH(crossentropy_mean_scale_kernel, 1, kReduceThreads, 0, stream())(scale_dev, targets, N, ignore_index);
    gpu::check_last_launch(op);
  }
  bool vec = aligned16(dlogits) && aligned16(logits);
  if (C <= 1024)
    LAUNCH(crossentropy_bwd_kernel<true>, grid_cap((N + 3) / 4), kWarpBlock, 0, stream())(
        dlogits, losses, dloss, dloss_stride, logits, targets, N, C, ignore_index, scale_dev, 1.f, vec, err);
  else
    LAUNCH(crossentropy_bwd_kernel<false>, grid_cap(N), block_threads(C), 0, stream())(
        dlogits, losses, dloss, dloss_stride, logits, targets, N, C, ignore_index, scale_dev, 1.f, vec, err);
  gpu::check_last_launch(op);
}

}  // namespace

void crossentropy_backward(float* dlogits, const float* dloss, int64_t dloss_stride, const float* logits,
                           const int32_t* targets, int64_t N, int64_t C, int32_t ignore_index, bool mean) {
  if (N == 0 || C == 0) return;
  launch_backward("crossEntropy backward", dlogits, nullptr, dloss, dloss_stride, logits, targets, N, C, ignore_index,
                  mean);
}

void crossentropy_forward_backward(float* losses, float* dlogits, const float* logits, const int32_t* targets,
                                   int64_t N, int64_t C, int32_t ignore_index, bool mean) {
  if (N == 0) return;
  if (C == 0) return crossentropy_forward(losses, logits, targets, N, C, ignore_index);
  launch_backward("crossEntropy forward", dlogits, losses, nullptr, 0, logits, targets, N, C, ignore_index, mean);
}

}  // namespace cg::cuda
