// CUDA optimizer updates (ops/optim.h): grid-stride loops over float4 (all
// tensors start 16-byte aligned) with a scalar tail, in place, one read and
// one write of each tensor. The formulas are the CPU kernels' (optim.inc:
// fmaf where they use fma; IEEE sqrt and division, the nvcc defaults); other
// products may be fused differently by each compiler, so CPU and CUDA agree to
// rounding, not bit for bit.
// adam_step_multi: the same update over a list of tensors, a launch per 24
// (blockIdx.y = tensor), clipping fused in (the factor read from *sumsq).
// sum_squares: two stages, deterministic: per-block double partials (the grid
// depends on n only), then one block adds them in a fixed tree into *out (+=
// with accumulate) -- *out stays on the device. clip_scale reads the summed
// squares from device memory, so clipping needs no host sync.
#include "../ops/optim.h"
#include "launch.h"
#include "rows.cuh"

namespace cg::cuda {

namespace {

using namespace rows;

constexpr int kThreads = 256;
constexpr int kSumBlocksMax = 1024;
constexpr int64_t kSumPerBlock = kThreads * 16;  // elements a block, at least

struct SgdArgs {
  float lr, momentum, damp1, weight_decay;
  bool has_buf, nesterov, first, decay;
};

__device__ __forceinline__ void sgd_one(float& p, float g, float* b, const SgdArgs& a) {
  if (a.decay) g = fmaf(a.weight_decay, p, g);
  if (a.has_buf) {
    float nb = a.first ? g : fmaf(a.damp1, g, a.momentum * *b);
    *b = nb;
    g = a.nesterov ? fmaf(a.momentum, nb, g) : nb;
  }
  p -= a.lr * g;
}

__global__ void sgd_kernel(float* param, const float* grad, float* buf, int64_t n, SgdArgs a) {
  const int64_t stride = (int64_t)gridDim.x * blockDim.x;
  const int64_t n4 = n / 4;
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n4; i += stride) {
    float4 p = reinterpret_cast<float4*>(param)[i];
    float4 g = reinterpret_cast<const float4*>(grad)[i];
    float4 b = a.has_buf && !a.first ? reinterpret_cast<float4*>(buf)[i] : make_float4(0.f, 0.f, 0.f, 0.f);
    sgd_one(p.x, g.x, &b.x, a);
    sgd_one(p.y, g.y, &b.y, a);
    sgd_one(p.z, g.z, &b.z, a);
    sgd_one(p.w, g.w, &b.w, a);
    reinterpret_cast<float4*>(param)[i] = p;
    if (a.has_buf) reinterpret_cast<float4*>(buf)[i] = b;
  }
  for (int64_t i = n4 * 4 + (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
    float b = a.has_buf && !a.first ? buf[i] : 0.f;
    sgd_one(param[i], grad[i], &b, a);
    if (a.has_buf) buf[i] = b;
  }
}

__device__ __forceinline__ void adam_one(float& p, float g, float& m, float& v, const AdamScalars& s) {
  if (s.weight_decay != 0.f) {
    if (s.decoupled) p *= s.decay;
    else g = fmaf(s.weight_decay, p, g);
  }
  m = fmaf(s.one_minus_beta1, g, s.beta1 * m);
  v = fmaf(s.one_minus_beta2, g * g, s.beta2 * v);
  p -= s.step_size * (m / (sqrtf(v) / s.bc2_sqrt + s.eps));
}

// Tensor t's share of a grid-stride loop over blockIdx.x, float4 then a scalar tail; the
// gradient times gs first when `scale` (clipping fused in).
__device__ __forceinline__ void adam_grid_stride(const AdamTensor& t, bool scale, float gs) {
  const int64_t stride = (int64_t)gridDim.x * blockDim.x;
  const int64_t n4 = t.n / 4;
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n4; i += stride) {
    float4 p = reinterpret_cast<float4*>(t.param)[i];
    float4 g = reinterpret_cast<const float4*>(t.grad)[i];
    float4 mm = reinterpret_cast<float4*>(t.m)[i];
    float4 vv = reinterpret_cast<float4*>(t.v)[i];
    if (scale) g = make_float4(g.x * gs, g.y * gs, g.z * gs, g.w * gs);
    adam_one(p.x, g.x, mm.x, vv.x, t.s);
    adam_one(p.y, g.y, mm.y, vv.y, t.s);
    adam_one(p.z, g.z, mm.z, vv.z, t.s);
    adam_one(p.w, g.w, mm.w, vv.w, t.s);
    reinterpret_cast<float4*>(t.param)[i] = p;
    reinterpret_cast<float4*>(t.m)[i] = mm;
    reinterpret_cast<float4*>(t.v)[i] = vv;
  }
  for (int64_t i = n4 * 4 + (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < t.n; i += stride)
    adam_one(t.param[i], scale ? t.grad[i] * gs : t.grad[i], t.m[i], t.v[i], t.s);
}

__global__ void adam_kernel(float* param, const float* grad, float* m, float* v, int64_t n, AdamScalars s) {
  adam_grid_stride(AdamTensor{param, grad, m, v, n, s}, false, 1.f);
}

// adam_step_multi: up to kAdamMultiTensors tensors a launch, passed by value;
// blockIdx.y picks the tensor, blockIdx.x strides over it as adam_kernel.
constexpr int kAdamMultiTensors = 24;  // 24 x 80 bytes: well inside the 4 KiB of kernel parameters
constexpr unsigned kAdamMultiBlocks = 2048;  // x 256 threads: two waves of a 132-SM H200
struct AdamMultiArgs {
  AdamTensor t[kAdamMultiTensors];
  const double* sumsq;  // null: no clipping
  double max_norm;
};

__global__ void adam_multi_kernel(AdamMultiArgs a) {
  // clip_scale's factor and rule: scale unless coef >= 1 (a NaN norm scales by NaN).
  const double coef = a.sumsq ? a.max_norm / (sqrt(*a.sumsq) + 1e-6) : 1.0;
  adam_grid_stride(a.t[blockIdx.y], !(coef >= 1), static_cast<float>(coef));
}

// Stage 1: the sum of squares of block `bid`'s grid-stride share (of nblocks) of inp, in double.
__device__ __forceinline__ double sumsq_share(const float* inp, int64_t n, int64_t bid, int64_t nblocks, double* sh) {
  const int64_t stride = nblocks * blockDim.x;
  const int64_t n4 = n / 4;
  double s = 0;
  for (int64_t i = bid * blockDim.x + threadIdx.x; i < n4; i += stride) {
    float4 x = reinterpret_cast<const float4*>(inp)[i];
    s = fma(static_cast<double>(x.x), static_cast<double>(x.x), s);
    s = fma(static_cast<double>(x.y), static_cast<double>(x.y), s);
    s = fma(static_cast<double>(x.z), static_cast<double>(x.z), s);
    s = fma(static_cast<double>(x.w), static_cast<double>(x.w), s);
  }
  for (int64_t i = n4 * 4 + bid * blockDim.x + threadIdx.x; i < n; i += stride)
    s = fma(static_cast<double>(inp[i]), static_cast<double>(inp[i]), s);
  return block_sum(s, sh);
}

__global__ void sum_squares_partial_kernel(double* partial, const float* inp, int64_t n) {
  __shared__ double sh[32];
  double s = sumsq_share(inp, n, blockIdx.x, gridDim.x, sh);
  if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

// Stage 2 (one block): the partials' sum, fixed order.
__device__ __forceinline__ double sum_partials(const double* partial, int nparts, double* sh) {
  double s = 0;
  for (int i = threadIdx.x; i < nparts; i += blockDim.x) s += partial[i];
  return block_sum(s, sh);
}

__global__ void sum_squares_final_kernel(double* out, const double* partial, int nparts, bool accumulate) {
  __shared__ double sh[32];
  double s = sum_partials(partial, nparts, sh);
  if (threadIdx.x == 0) out[0] = accumulate ? out[0] + s : s;
}

// sum_squares_multi: both stages for up to kSumMultiTensors tensors a launch
// (blockIdx.y = tensor; each tensor keeps its own block count, so the partials
// and their order -- and the bits -- are sum_squares's, tensor after tensor).
constexpr int kSumMultiTensors = 64;
struct SumSqMultiArgs {
  const float* inp[kSumMultiTensors];
  int64_t n[kSumMultiTensors];
  int blocks[kSumMultiTensors];
  int part_off[kSumMultiTensors];
  int count;
  double* partial;
};

__global__ void sum_squares_multi_partial_kernel(SumSqMultiArgs a) {
  __shared__ double sh[32];
  const int t = blockIdx.y;
  if (static_cast<int>(blockIdx.x) >= a.blocks[t]) return;  // uniform per block
  double s = sumsq_share(a.inp[t], a.n[t], blockIdx.x, a.blocks[t], sh);
  if (threadIdx.x == 0) a.partial[a.part_off[t] + blockIdx.x] = s;
}

__global__ void sum_squares_multi_final_kernel(double* out, SumSqMultiArgs a, bool accumulate) {
  __shared__ double sh[32];
  // 0.0 + s is s (a sum of squares is never -0): the same additions as sum_squares per tensor.
  double acc = accumulate ? out[0] : 0.0;
  for (int t = 0; t < a.count; ++t) acc += sum_partials(a.partial + a.part_off[t], a.blocks[t], sh);
  if (threadIdx.x == 0) out[0] = acc;
}

__global__ void clip_scale_kernel(float* x, int64_t n, const double* sumsq, double max_norm) {
  const double coef = max_norm / (sqrt(*sumsq) + 1e-6);
  if (coef >= 1) return;  // uniform: every thread reads the same value
  const float s = static_cast<float>(coef);
  const int64_t stride = (int64_t)gridDim.x * blockDim.x;
  const int64_t n4 = n / 4;
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n4; i += stride) {
    float4 v = reinterpret_cast<float4*>(x)[i];
    reinterpret_cast<float4*>(x)[i] = make_float4(v.x * s, v.y * s, v.z * s, v.w * s);
  }
  for (int64_t i = n4 * 4 + (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) x[i] *= s;
}

}  // namespace

// --- launchers

void sgd_step(float* param, const float* grad, float* momentum_buf, int64_t n, float lr, float momentum,
              float dampening, float weight_decay, bool nesterov, bool first) {
  if (n <= 0) return;
  SgdArgs a{lr, momentum, 1.f - dampening, weight_decay, momentum_buf != nullptr, nesterov, first, weight_decay != 0.f};
  LAUNCH(sgd_kernel, grid_for((n + 3) / 4, kThreads), kThreads, 0, stream())(param, grad, momentum_buf, n, a);
  gpu::check_last_launch("sgdStep");
}

void adam_step(float* param, const float* grad, float* m, float* v, int64_t n, const AdamScalars& s) {
  if (n <= 0) return;
  LAUNCH(adam_kernel, grid_for((n + 3) / 4, kThreads), kThreads, 0, stream())(param, grad, m, v, n, s);
  gpu::check_last_launch(s.decoupled ? "adamwStep" : "adamStep");
}

void adam_step_multi(const AdamTensor* ts, int64_t count, const double* sumsq, double max_norm) {
  for (int64_t k0 = 0; k0 < count; k0 += kAdamMultiTensors) {
    AdamMultiArgs a{};
    a.sumsq = sumsq;
    a.max_norm = max_norm;
    int used = 0;
    int64_t most = 0;
    for (int64_t k = k0; k < count && k < k0 + kAdamMultiTensors; ++k) {
      if (ts[k].n <= 0) continue;
      a.t[used++] = ts[k];
      most = ts[k].n > most ? ts[k].n : most;
    }
    if (!used) continue;
    // Blocks for the largest tensor, capped lower than grid_for's 65535: the grid-stride loop
    // covers the rest, and the small tensors' blocks (most of them, idle) stay few.
    unsigned bx = grid_for((most + 3) / 4, kThreads);
    LAUNCH(adam_multi_kernel, dim3(bx < kAdamMultiBlocks ? bx : kAdamMultiBlocks, used), kThreads, 0, stream())(a);
    gpu::check_last_launch(ts[k0].s.decoupled ? "adamwStep (multi-tensor)" : "adamStep (multi-tensor)");
  }
}

void sum_squares(double* out, const float* inp, int64_t n, bool accumulate) {
  int64_t want = (n + kSumPerBlock - 1) / kSumPerBlock;
  int blocks = static_cast<int>(want < kSumBlocksMax ? want : kSumBlocksMax);
  Scratch part(static_cast<size_t>(blocks > 0 ? blocks : 1) * sizeof(double));
  if (blocks > 0) {
    LAUNCH(sum_squares_partial_kernel, blocks, kThreads, 0, stream())(part.as<double>(), inp, n);
    gpu::check_last_launch("gradNorm");
  }
  LAUNCH(sum_squares_final_kernel, 1, kThreads, 0, stream())(out, part.as<double>(), blocks, accumulate);
  gpu::check_last_launch("gradNorm");
}

void sum_squares_multi(double* out, const float* const* inps, const int64_t* ns, int64_t count) {
  if (count == 0) {  // as the CPU's: an empty list sums to 0
    CG_CUDA_CHECK(cudaMemsetAsync(out, 0, sizeof(double), stream()), "gradNorm");
    return;
  }
  for (int64_t k0 = 0; k0 < count; k0 += kSumMultiTensors) {
    SumSqMultiArgs a{};
    int parts = 0, most = 0;
    for (int64_t k = k0; k < count && k < k0 + kSumMultiTensors; ++k, ++a.count) {
      int64_t want = (ns[k] + kSumPerBlock - 1) / kSumPerBlock;
      int blocks = static_cast<int>(want < kSumBlocksMax ? want : kSumBlocksMax);
      a.inp[a.count] = inps[k];
      a.n[a.count] = ns[k];
      a.blocks[a.count] = blocks;
      a.part_off[a.count] = parts;
      parts += blocks;
      most = blocks > most ? blocks : most;
    }
    Scratch part(static_cast<size_t>(parts > 0 ? parts : 1) * sizeof(double));
    a.partial = part.as<double>();
    if (most > 0) {
      LAUNCH(sum_squares_multi_partial_kernel, dim3(most, a.count), kThreads, 0, stream())(a);
      gpu::check_last_launch("gradNorm");
    }
    LAUNCH(sum_squares_multi_final_kernel, 1, kThreads, 0, stream())(out, a, k0 > 0);
    gpu::check_last_launch("gradNorm");
  }
}

void clip_scale(float* x, int64_t n, const double* sumsq, double max_norm) {
  if (n <= 0) return;
  LAUNCH(clip_scale_kernel, grid_for((n + 3) / 4, kThreads), kThreads, 0, stream())(x, n, sumsq, max_norm);
  gpu::check_last_launch("clipGradNorm");
}

}  // namespace cg::cuda
