// CUDA LayerNorm (ops/layernorm.h).
// Forward, C <= 1024: a warp per row (4 warps a block, grid-stride), the row
//   in registers (E = ceil(C / 32) a lane, float4 when C % 4 == 0): exact
//   two-pass mean and variance from registers (shifted by x[0], as the CPU),
//   then the write; one read, one write per element.
// Forward, C > 1024: a block per row; single-pass statistics as sums of
//   x - x[0] and (x - x[0])^2 (the shift keeps a row with a large mean from
//   cancelling), a block reduction, then the normalising pass (row re-read,
//   mostly from L2).
// Backward: dinp row by row as the forward (warp with registers / block);
//   dweight and dbias are summed per block -- each warp keeps its columns'
//   partial sums in registers over its rows, the block's warps add theirs in
//   warp order in shared memory -- into one partial row per block, and a
//   second kernel adds the partial rows in block order (32 columns x 8 slices
//   a block) into dweight / dbias (+=). No float atomics: deterministic for a
//   given device (the grid depends on the SM count).
#include "../ops/layernorm.h"

#include <algorithm>

#include "launch.h"
#include "rows.cuh"

namespace cg::cuda {

namespace {

using namespace rows;

constexpr int kWarpBlock = 128;  // 4 warps, a row each
constexpr int kMaxWarpC = 1024;  // longer rows: a block per row

template <bool Vec>
__device__ __forceinline__ int slot_col(int k, int lane) {
  return Vec ? 4 * (lane + 32 * (k >> 2)) + (k & 3) : lane + 32 * k;
}

// v[k] = p[col] for col < C, else `fill`.
template <int E, bool Vec>
__device__ __forceinline__ void load_slots(float (&v)[E], const float* p, int C, int lane, float fill) {
  if constexpr (Vec) {
CG_UNROLL
    for (int j = 0; j < E / 4; ++j) {
      int c0 = 4 * (lane + 32 * j);
      float4 t = c0 < C ? ld4(p + c0) : make_float4(fill, fill, fill, fill);
      v[4 * j] = t.x;
      v[4 * j + 1] = t.y;
      v[4 * j + 2] = t.z;
      v[4 * j + 3] = t.w;
    }
  } else {
CG_UNROLL
    for (int k = 0; k < E; ++k) {
      int c = lane + 32 * k;
      v[k] = c < C ? p[c] : fill;
    }
  }
}

template <int E, bool Vec>
__device__ __forceinline__ void store_slots(float* p, const float (&v)[E], int C, int lane) {
  if constexpr (Vec) {
CG_UNROLL
    for (int j = 0; j < E / 4; ++j) {
      int c0 = 4 * (lane + 32 * j);
      if (c0 < C) st4(p + c0, make_float4(v[4 * j], v[4 * j + 1], v[4 * j + 2], v[4 * j + 3]));
    }
  } else {
CG_UNROLL
    for (int k = 0; k < E; ++k) {
      int c = lane + 32 * k;
      if (c < C) p[c] = v[k];
    }
  }
}

// --- forward

template <int E, bool Vec>
__global__ void __launch_bounds__(kWarpBlock) layernorm_warp_fwd(float* out, float* mean, float* rstd, const float* inp,
                                                                 const float* weight, const float* bias, int64_t N,
                                                                 int C, float eps) {
  const int lane = threadIdx.x & 31;
  const int64_t nwarps = ((int64_t)gridDim.x * blockDim.x) >> 5;
  for (int64_t r = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) >> 5; r < N; r += nwarps) {
    float v[E];
    load_slots<E, Vec>(v, inp + r * C, C, lane, 0.f);
    // Exact two passes from registers, shifted by x[0] as the CPU: for a row
    // with a large mean, x - x[0] is small and exact, so mean and variance keep
    // their digits.
    const float k0 = C > 0 ? inp[r * C] : 0.f;
    float s = 0.f;
    CG_UNROLL
    for (int k = 0; k < E; ++k) {
      v[k] = slot_col<Vec>(k, lane) < C ? v[k] - k0 : 0.f;
      s += v[k];
    }
    const float d = C > 0 ? warp_sum(s) / static_cast<float>(C) : 0.f;
    float q = 0.f;
    CG_UNROLL
    for (int k = 0; k < E; ++k) {
      float t = slot_col<Vec>(k, lane) < C ? v[k] - d : 0.f;
      q = fmaf(t, t, q);
    }
    const float var = C > 0 ? warp_sum(q) / static_cast<float>(C) : 0.f;
    const float mu = k0 + d, rs = 1.f / sqrtf(var + eps);
    if (lane == 0) {
      mean[r] = mu;
      rstd[r] = rs;
    }
    float w[E], b[E];
    if (weight) load_slots<E, Vec>(w, weight, C, lane, 1.f);
    if (bias) load_slots<E, Vec>(b, bias, C, lane, 0.f);
CG_UNROLL
    for (int k = 0; k < E; ++k) {
      float t = (v[k] - d) * rs;
      if (weight) t *= w[k];
      if (bias) t += b[k];
      v[k] = t;
    }
    store_slots<E, Vec>(out + r * C, v, C, lane);
  }
}

__global__ void layernorm_block_fwd(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                                    const float* bias, int64_t N, int64_t C, float eps, bool vec) {
  __shared__ float sh[32];
  const int tid = threadIdx.x, nt = blockDim.x;
  for (int64_t r = blockIdx.x; r < N; r += gridDim.x) {
    const float* x = inp + r * C;
    float* y = out + r * C;
    const int64_t head = row_head(r * C, vec);
    const float k0 = x[0];
    float s1 = 0.f, s2 = 0.f;
    auto acc = [&](float v) {
      float t = v - k0;
      s1 += t;
      s2 = fmaf(t, t, s2);
    };
    row_loop(C, head, tid, nt, [&](int64_t c) { acc(x[c]); },
             [&](int64_t c) {
               float4 v = ld4(x + c);
               acc(v.x);
               acc(v.y);
               acc(v.z);
               acc(v.w);
             });
    s1 = block_sum(s1, sh);
    s2 = block_sum(s2, sh);
    const float d = s1 / static_cast<float>(C);
    const float var = fmaxf(s2 / static_cast<float>(C) - d * d, 0.f);
    const float mu = k0 + d, rs = 1.f / sqrtf(var + eps);
    if (tid == 0) {
      mean[r] = mu;
      rstd[r] = rs;
    }
    // Weight and bias rows start wherever the column does: element loads for them.
    auto f = [&](float v, int64_t c) {
      float t = ((v - k0) - d) * rs;
      if (weight) t *= weight[c];
      if (bias) t += bias[c];
      return t;
    };
    row_loop(C, head, tid, nt, [&](int64_t c) { y[c] = f(x[c], c); },
             [&](int64_t c) {
               float4 v = ld4(x + c);
               st4(y + c, make_float4(f(v.x, c), f(v.y, c + 1), f(v.z, c + 2), f(v.w, c + 3)));
             });
  }
}

// --- backward: dinp, and per-block partial dweight / dbias rows (partial[b][0, C) and [C, 2C))

template <int E, bool Vec>
__global__ void __launch_bounds__(kWarpBlock) layernorm_warp_bwd(float* dinp, float* partial, const float* dout,
                                                                 const float* inp, const float* weight,
                                                                 const float* mean, const float* rstd, int64_t N,
                                                                 int C) {
  __shared__ float acc[2 * kMaxWarpC];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, wpb = blockDim.x >> 5;
  const float inv_c = 1.f / static_cast<float>(C);
  float dw[E], db[E];
CG_UNROLL
  for (int k = 0; k < E; ++k) dw[k] = db[k] = 0.f;
  for (int64_t r = (int64_t)blockIdx.x * wpb + warp; r < N; r += (int64_t)gridDim.x * wpb) {
    float d[E], x[E];
    load_slots<E, Vec>(d, dout + r * C, C, lane, 0.f);
    load_slots<E, Vec>(x, inp + r * C, C, lane, 0.f);
    const float mu = mean[r], rs = rstd[r];
    float a = 0.f, b = 0.f;
    {
      float w[E];
      if (weight) load_slots<E, Vec>(w, weight, C, lane, 0.f);
CG_UNROLL
      for (int k = 0; k < E; ++k) {
        float g = weight ? d[k] * w[k] : d[k];  // 0 on slots past C (d = 0 there)
        a += g;
        b = fmaf(g, (x[k] - mu) * rs, b);
      }
    }
    a = warp_sum(a) * inv_c;
    b = warp_sum(b) * inv_c;
    float w[E];
    if (weight) load_slots<E, Vec>(w, weight, C, lane, 0.f);
CG_UNROLL
    for (int k = 0; k < E; ++k) {
      float nrm = (x[k] - mu) * rs;
      float g = weight ? d[k] * w[k] : d[k];
      dw[k] = fmaf(d[k], nrm, dw[k]);
      db[k] += d[k];
      x[k] = (g - a - nrm * b) * rs;
    }
    store_slots<E, Vec>(dinp + r * C, x, C, lane);
  }
  if (!partial) return;  // uniform: no parameter gradients wanted
  // The block's warps add their partial rows in warp order (warp 0 initialises every column).
  for (int w = 0; w < wpb; ++w) {
    if (warp == w) {
CG_UNROLL
      for (int k = 0; k < E; ++k) {
        int c = slot_col<Vec>(k, lane);
        if (c < C) {
          acc[c] = w == 0 ? dw[k] : acc[c] + dw[k];
          acc[C + c] = w == 0 ? db[k] : acc[C + c] + db[k];
        }
      }
    }
    __syncthreads();
  }
  float* p = partial + (int64_t)blockIdx.x * 2 * C;
  for (int c = threadIdx.x; c < 2 * C; c += blockDim.x) p[c] = acc[c];
}

__global__ void layernorm_block_bwd(float* dinp, float* partial, const float* dout, const float* inp,
                                    const float* weight, const float* mean, const float* rstd, int64_t N, int64_t C,
                                    bool vec) {
  __shared__ float sh[32];
  const int tid = threadIdx.x, nt = blockDim.x;
  const float inv_c = 1.f / static_cast<float>(C);
  // This block's partial row, read-modified-written by whichever thread has the
  // column in the current row (rows are separated by the reductions' barriers).
  float* pw = partial ? partial + (int64_t)blockIdx.x * 2 * C : nullptr;
  bool first = true;
  for (int64_t r = blockIdx.x; r < N; r += gridDim.x) {
    const float* dy = dout + r * C;
    const float* x = inp + r * C;
    float* dx = dinp + r * C;
    const int64_t head = row_head(r * C, vec);
    const float mu = mean[r], rs = rstd[r];
    float a = 0.f, b = 0.f;
    auto sums = [&](float d, float v, int64_t c) {
      float g = weight ? d * weight[c] : d;
      a += g;
      b = fmaf(g, (v - mu) * rs, b);
    };
    row_loop(C, head, tid, nt, [&](int64_t c) { sums(dy[c], x[c], c); },
             [&](int64_t c) {
               float4 d = ld4(dy + c), v = ld4(x + c);
               sums(d.x, v.x, c);
               sums(d.y, v.y, c + 1);
               sums(d.z, v.z, c + 2);
               sums(d.w, v.w, c + 3);
             });
    a = block_sum(a, sh) * inv_c;
    b = block_sum(b, sh) * inv_c;
    auto grad = [&](float d, float v, int64_t c) {
      float nrm = (v - mu) * rs;
      float g = weight ? d * weight[c] : d;
      if (pw) {
        pw[c] = first ? d * nrm : fmaf(d, nrm, pw[c]);
        pw[C + c] = first ? d : pw[C + c] + d;
      }
      return (g - a - nrm * b) * rs;
    };
    row_loop(C, head, tid, nt, [&](int64_t c) { dx[c] = grad(dy[c], x[c], c); },
             [&](int64_t c) {
               float4 d = ld4(dy + c), v = ld4(x + c);
               st4(dx + c, make_float4(grad(d.x, v.x, c), grad(d.y, v.y, c + 1), grad(d.z, v.z, c + 2),
                                       grad(d.w, v.w, c + 3)));
             });
    first = false;
  }
}

// dweight[c] += sum_b partial[b][c], dbias[c] += sum_b partial[b][C + c], b in order
// within each of 8 slices, the slices then added in order: 32 columns x 8 slices a block.
__global__ void layernorm_param_reduce(float* dweight, float* dbias, const float* partial, int nparts, int64_t C) {
  __shared__ float shw[8][32], shb[8][32];
  const int tx = threadIdx.x, ty = threadIdx.y;
  for (int64_t c0 = (int64_t)blockIdx.x * 32; c0 < C; c0 += (int64_t)gridDim.x * 32) {
    const int64_t c = c0 + tx;
    float sw = 0.f, sb = 0.f;
    if (c < C)
      for (int b = ty; b < nparts; b += 8) {
        sw += partial[(int64_t)b * 2 * C + c];
        sb += partial[(int64_t)b * 2 * C + C + c];
      }
    __syncthreads();
    shw[ty][tx] = sw;
    shb[ty][tx] = sb;
    __syncthreads();
    if (ty == 0 && c < C) {
      for (int k = 1; k < 8; ++k) {
        sw += shw[k][tx];
        sb += shb[k][tx];
      }
      if (dweight) dweight[c] += sw;
      if (dbias) dbias[c] += sb;
    }
  }
}

// --- launch helpers

int slots_for(int64_t C) {
  for (int e : {1, 2, 4, 8, 16, 24, 32})
    if (32 * e >= C) return e;
  return 0;
}

int block_threads(int64_t C) { return C <= 4096 ? 256 : (C <= 16384 ? 512 : 1024); }

template <int E, typename... A>
void warp_fwd(bool vec, unsigned grid, A... args) {
  if constexpr (E % 4 == 0) {
    if (vec) {
      auto* kernel = layernorm_warp_fwd<E, true>;
      LAUNCH(kernel, grid, kWarpBlock, 0, stream())(args...);
      return;
    }
  }
  auto* kernel = layernorm_warp_fwd<E, false>;
  LAUNCH(kernel, grid, kWarpBlock, 0, stream())(args...);
}

template <int E, typename... A>
void warp_bwd(bool vec, unsigned grid, A... args) {
  if constexpr (E % 4 == 0) {
    if (vec) {
      auto* kernel = layernorm_warp_bwd<E, true>;
      LAUNCH(kernel, grid, kWarpBlock, 0, stream())(args...);
      return;
    }
  }
  auto* kernel = layernorm_warp_bwd<E, false>;
  LAUNCH(kernel, grid, kWarpBlock, 0, stream())(args...);
}

}  // namespace

// --- launchers

void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight, const float* bias,
                       int64_t N, int64_t C, float eps) {
  if (N == 0) return;
  if (C <= kMaxWarpC) {
    bool vec = C % 4 == 0 && aligned16(out) && aligned16(inp) && (!weight || aligned16(weight)) &&
               (!bias || aligned16(bias));
    unsigned grid = grid_cap((N + 3) / 4);
    int c = static_cast<int>(C);
    switch (slots_for(C)) {
      case 1: warp_fwd<1>(vec, grid, out, mean, rstd, inp, weight, bias, N, c, eps); break;
      case 2: warp_fwd<2>(vec, grid, out, mean, rstd, inp, weight, bias, N, c, eps); break;
      case 4: warp_fwd<4>(vec, grid, out, mean, rstd, inp, weight, bias, N, c, eps); break;
      case 8: warp_fwd<8>(vec, grid, out, mean, rstd, inp, weight, bias, N, c, eps); break;
      case 16: warp_fwd<16>(vec, grid, out, mean, rstd, inp, weight, bias, N, c, eps); break;
      case 24: warp_fwd<24>(vec, grid, out, mean, rstd, inp, weight, bias, N, c, eps); break;
      default: warp_fwd<32>(vec, grid, out, mean, rstd, inp, weight, bias, N, c, eps); break;
    }
  } else {
    bool vec = aligned16(out) && aligned16(inp);
    LAUNCH(layernorm_block_fwd, grid_cap(N), block_threads(C), 0, stream())(out, mean, rstd, inp, weight, bias, N, C,
                                                                            eps, vec);
  }
  gpu::check_last_launch("layerNorm forward");
}

void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                        const float* weight, const float* mean, const float* rstd, int64_t N, int64_t C) {
  if (N == 0 || C == 0) return;
  const char* op = "layerNorm backward";
  const bool params = dweight || dbias;
  int blocks;
  if (C <= kMaxWarpC) blocks = static_cast<int>(std::min<int64_t>((N + 3) / 4, 4 * sm_count()));
  else blocks = static_cast<int>(std::min<int64_t>(N, 2 * sm_count()));
  Scratch part(params ? static_cast<size_t>(blocks) * 2 * C * sizeof(float) : 16);
  float* partial = params ? part.as<float>() : nullptr;
  if (C <= kMaxWarpC) {
    bool vec = C % 4 == 0 && aligned16(dinp) && aligned16(dout) && aligned16(inp) && (!weight || aligned16(weight));
    unsigned grid = static_cast<unsigned>(blocks);
    int c = static_cast<int>(C);
    switch (slots_for(C)) {
      case 1: warp_bwd<1>(vec, grid, dinp, partial, dout, inp, weight, mean, rstd, N, c); break;
      case 2: warp_bwd<2>(vec, grid, dinp, partial, dout, inp, weight, mean, rstd, N, c); break;
      case 4: warp_bwd<4>(vec, grid, dinp, partial, dout, inp, weight, mean, rstd, N, c); break;
      case 8: warp_bwd<8>(vec, grid, dinp, partial, dout, inp, weight, mean, rstd, N, c); break;
      case 16: warp_bwd<16>(vec, grid, dinp, partial, dout, inp, weight, mean, rstd, N, c); break;
      case 24: warp_bwd<24>(vec, grid, dinp, partial, dout, inp, weight, mean, rstd, N, c); break;
      default: warp_bwd<32>(vec, grid, dinp, partial, dout, inp, weight, mean, rstd, N, c); break;
    }
  } else {
    bool vec = aligned16(dinp) && aligned16(dout) && aligned16(inp);
    LAUNCH(layernorm_block_bwd, blocks, block_threads(C), 0, stream())(dinp, partial, dout, inp, weight, mean, rstd,
                                                                      N, C, vec);
  }
  gpu::check_last_launch(op);
  if (!params) return;
  LAUNCH(layernorm_param_reduce, grid_cap((C + 31) / 32), dim3(32, 8), 0, stream())(dweight, dbias, partial, blocks,
                                                                                    C);
  gpu::check_last_launch(op);
}

}  // namespace cg::cuda
