// CUDA softmax / log-softmax (ops/softmax.h), three kernel shapes:
// - last axis, C <= 1024: a warp per row (4 warps a block, grid-stride over
//   rows), the row held in registers (E = ceil(C / 32) values a lane, E a
//   template parameter; float4 loads when C % 4 == 0): max, exp-sum and the
//   write from registers, so each row is read once and written once.
// - last axis, C > 1024: a block per row (256 / 512 / 1024 threads as C
//   grows): one pass of online max / exp-sum (rows.cuh MaxSum, float4 body
//   after a scalar head up to the row's first 16-byte boundary), a block
//   merge, then the write pass (the row re-read, mostly from L2).
// - other axes (inner > 1): 32 adjacent columns x 8 slices of C a block,
//   online max / sum down C, merged across the 8 slices in shared memory.
// Causal mask as the CPU (valid length per row); fully masked rows are zeros.
// Backward: sum of dout * out (softmax) or of dout (log-softmax), then the
// elementwise formula; the same three shapes.
#include "../ops/softmax.h"
#include "launch.h"
#include "rows.cuh"

namespace cg::cuda {

namespace {

using namespace rows;

constexpr int kWarpBlock = 128;  // threads of the warp-per-row kernels (4 rows in flight a block)
constexpr int kColsX = 32, kColsY = 8;

__device__ __forceinline__ int64_t valid_len(int64_t r, int64_t C, int64_t tq) {
  if (tq <= 0) return C;
  int64_t L = r % tq + C - tq + 1;
  return L < 0 ? 0 : (L > C ? C : L);
}

// Column of register slot k of `lane`: lane-strided scalars, or float4 groups.
template <bool Vec>
__device__ __forceinline__ int slot_col(int k, int lane) {
  return Vec ? 4 * (lane + 32 * (k >> 2)) + (k & 3) : lane + 32 * k;
}

// v[k] = x[col] for col < L, else `fill` (C % 4 == 0 when Vec).
template <int E, bool Vec>
__device__ __forceinline__ void load_row(float (&v)[E], const float* x, int C, int L, int lane, float fill) {
  if constexpr (Vec) {
CG_UNROLL
    for (int j = 0; j < E / 4; ++j) {
      int c0 = 4 * (lane + 32 * j);
      float4 t = c0 < C ? ld4(x + c0) : make_float4(fill, fill, fill, fill);
      v[4 * j] = t.x;
      v[4 * j + 1] = t.y;
      v[4 * j + 2] = t.z;
      v[4 * j + 3] = t.w;
    }
CG_UNROLL
    for (int k = 0; k < E; ++k)
      if (slot_col<true>(k, lane) >= L) v[k] = fill;
  } else {
CG_UNROLL
    for (int k = 0; k < E; ++k) {
      int c = lane + 32 * k;
      v[k] = c < L ? x[c] : fill;
    }
  }
}

template <int E, bool Vec>
__device__ __forceinline__ void store_row(float* y, const float (&v)[E], int C, int lane) {
  if constexpr (Vec) {
CG_UNROLL
    for (int j = 0; j < E / 4; ++j) {
      int c0 = 4 * (lane + 32 * j);
      if (c0 < C) st4(y + c0, make_float4(v[4 * j], v[4 * j + 1], v[4 * j + 2], v[4 * j + 3]));
    }
  } else {
CG_UNROLL
    for (int k = 0; k < E; ++k) {
      int c = lane + 32 * k;
      if (c < C) y[c] = v[k];
    }
  }
}

// --- kernels: a warp per row, the row in registers

template <int E, bool Vec>
__global__ void __launch_bounds__(kWarpBlock) softmax_warp_fwd(float* out, const float* inp, int64_t rows, int C,
                                                               int64_t tq, bool is_log) {
  const int lane = threadIdx.x & 31;
  const int64_t nwarps = ((int64_t)gridDim.x * blockDim.x) >> 5;
  for (int64_t r = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) >> 5; r < rows; r += nwarps) {
    const float* x = inp + r * C;
    float* y = out + r * C;
    const int L = static_cast<int>(valid_len(r, C, tq));
    float v[E];
    load_row<E, Vec>(v, x, C, L, lane, -INFINITY);
    if (L == 0) {  // fully masked: zeros for both
CG_UNROLL
      for (int k = 0; k < E; ++k) v[k] = 0.f;
      store_row<E, Vec>(y, v, C, lane);
      continue;
    }
    float m = -INFINITY;
CG_UNROLL
    for (int k = 0; k < E; ++k) m = fmaxf(m, v[k]);
    m = warp_max(m);
    float s = 0.f;
    if (!is_log) {
CG_UNROLL
      for (int k = 0; k < E; ++k) {
        v[k] = slot_col<Vec>(k, lane) < L ? expf(v[k] - m) : 0.f;
        s += v[k];
      }
      const float inv = 1.f / warp_sum(s);
CG_UNROLL
      for (int k = 0; k < E; ++k) v[k] *= inv;
    } else {
CG_UNROLL
      for (int k = 0; k < E; ++k) s += slot_col<Vec>(k, lane) < L ? expf(v[k] - m) : 0.f;
      const float ls = logf(warp_sum(s));
CG_UNROLL
      for (int k = 0; k < E; ++k) v[k] = slot_col<Vec>(k, lane) < L ? (v[k] - m) - ls : -INFINITY;
    }
    store_row<E, Vec>(y, v, C, lane);
  }
}

template <int E, bool Vec>
__global__ void __launch_bounds__(kWarpBlock) softmax_warp_bwd(float* dinp, const float* dout, const float* out,
                                                               int64_t rows, int C, int64_t tq, bool is_log) {
  const int lane = threadIdx.x & 31;
  const int64_t nwarps = ((int64_t)gridDim.x * blockDim.x) >> 5;
  for (int64_t r = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) >> 5; r < rows; r += nwarps) {
    const int L = static_cast<int>(valid_len(r, C, tq));
    float d[E], y[E];
    load_row<E, Vec>(d, dout + r * C, C, L, lane, 0.f);
    load_row<E, Vec>(y, out + r * C, C, L, lane, 0.f);
    float s = 0.f;
CG_UNROLL
    for (int k = 0; k < E; ++k) s = is_log ? s + d[k] : fmaf(d[k], y[k], s);
    s = warp_sum(s);
CG_UNROLL
    for (int k = 0; k < E; ++k) {
      float g = is_log ? d[k] - expf(y[k]) * s : (d[k] - s) * y[k];
      d[k] = slot_col<Vec>(k, lane) < L ? g : 0.f;
    }
    store_row<E, Vec>(dinp + r * C, d, C, lane);
  }
}

// --- kernels: a block per row (long rows)

__global__ void softmax_block_fwd(float* out, const float* inp, int64_t rows, int64_t C, int64_t tq, bool is_log,
                                  bool vec) {
  __shared__ float sh[64];
  const int tid = threadIdx.x, nt = blockDim.x;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* x = inp + r * C;
    float* y = out + r * C;
    const int64_t L = valid_len(r, C, tq);
    const int64_t head = row_head(r * C, vec);
    if (L == 0) {
      row_loop(C, head, tid, nt, [&](int64_t c) { y[c] = 0.f; },
               [&](int64_t c) { st4(y + c, make_float4(0.f, 0.f, 0.f, 0.f)); });
      continue;
    }
    MaxSum a = ms_empty();
    row_loop(L, head, tid, nt, [&](int64_t c) { ms_add(a, x[c]); }, [&](int64_t c) { ms_add4(a, ld4(x + c)); });
    a = block_ms(a, sh);
    const float m = a.m;
    if (!is_log) {
      const float inv = 1.f / a.s;
      auto f = [&](float v, int64_t c) { return c < L ? expf(v - m) * inv : 0.f; };
      row_loop(C, head, tid, nt, [&](int64_t c) { y[c] = f(x[c], c); },
               [&](int64_t c) {
                 float4 v = ld4(x + c);
                 st4(y + c, make_float4(f(v.x, c), f(v.y, c + 1), f(v.z, c + 2), f(v.w, c + 3)));
               });
    } else {
      const float ls = logf(a.s);
      auto f = [&](float v, int64_t c) { return c < L ? (v - m) - ls : -INFINITY; };
      row_loop(C, head, tid, nt, [&](int64_t c) { y[c] = f(x[c], c); },
               [&](int64_t c) {
                 float4 v = ld4(x + c);
                 st4(y + c, make_float4(f(v.x, c), f(v.y, c + 1), f(v.z, c + 2), f(v.w, c + 3)));
               });
    }
  }
}

__global__ void softmax_block_bwd(float* dinp, const float* dout, const float* out, int64_t rows, int64_t C,
                                  int64_t tq, bool is_log, bool vec) {
  __shared__ float sh[32];
  const int tid = threadIdx.x, nt = blockDim.x;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* dy = dout + r * C;
    const float* y = out + r * C;
    float* dx = dinp + r * C;
    const int64_t L = valid_len(r, C, tq);
    const int64_t head = row_head(r * C, vec);
    float s = 0.f;
    row_loop(L, head, tid, nt, [&](int64_t c) { s = is_log ? s + dy[c] : fmaf(dy[c], y[c], s); },
             [&](int64_t c) {
               float4 d = ld4(dy + c);
               if (is_log) {
                 s += (d.x + d.y) + (d.z + d.w);
               } else {
                 float4 v = ld4(y + c);
                 s = fmaf(d.x, v.x, s);
                 s = fmaf(d.y, v.y, s);
                 s = fmaf(d.z, v.z, s);
                 s = fmaf(d.w, v.w, s);
               }
             });
    s = block_sum(s, sh);
    auto g = [&](float d, float v, int64_t c) {
      return c < L ? (is_log ? d - expf(v) * s : (d - s) * v) : 0.f;
    };
    row_loop(C, head, tid, nt, [&](int64_t c) { dx[c] = g(dy[c], y[c], c); },
             [&](int64_t c) {
               float4 d = ld4(dy + c), v = ld4(y + c);
               st4(dx + c, make_float4(g(d.x, v.x, c), g(d.y, v.y, c + 1), g(d.z, v.z, c + 2), g(d.w, v.w, c + 3)));
             });
  }
}

// --- kernels: other axes (inner > 1), 32 columns x 8 slices of C a block

__global__ void softmax_cols_fwd(float* out, const float* inp, int64_t outer, int64_t C, int64_t inner, bool is_log) {
  __shared__ float shm[kColsY][kColsX], shs[kColsY][kColsX];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t tiles = (inner + kColsX - 1) / kColsX;
  for (int64_t b = blockIdx.x; b < outer * tiles; b += gridDim.x) {
    const int64_t j = (b % tiles) * kColsX + tx;
    const bool live = j < inner;
    const int64_t base = (b / tiles) * C * inner + j;
    MaxSum a = ms_empty();
    if (live)
      for (int64_t c = ty; c < C; c += kColsY) ms_add(a, inp[base + c * inner]);
    __syncthreads();  // the previous tile is done with shm / shs
    shm[ty][tx] = a.m;
    shs[ty][tx] = a.s;
    __syncthreads();
    a = MaxSum{shm[0][tx], shs[0][tx]};
    for (int k = 1; k < kColsY; ++k) a = ms_merge(a, MaxSum{shm[k][tx], shs[k][tx]});
    if (!live) continue;
    const float inv = 1.f / a.s, ls = logf(a.s);
    for (int64_t c = ty; c < C; c += kColsY) {
      float v = inp[base + c * inner];
      out[base + c * inner] = is_log ? (v - a.m) - ls : expf(v - a.m) * inv;
    }
  }
}

__global__ void softmax_cols_bwd(float* dinp, const float* dout, const float* out, int64_t outer, int64_t C,
                                 int64_t inner, bool is_log) {
  __shared__ float sh[kColsY][kColsX];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t tiles = (inner + kColsX - 1) / kColsX;
  for (int64_t b = blockIdx.x; b < outer * tiles; b += gridDim.x) {
    const int64_t j = (b % tiles) * kColsX + tx;
    const bool live = j < inner;
    const int64_t base = (b / tiles) * C * inner + j;
    float s = 0.f;
    if (live)
      for (int64_t c = ty; c < C; c += kColsY) {
        int64_t i = base + c * inner;
        s = is_log ? s + dout[i] : fmaf(dout[i], out[i], s);
      }
    __syncthreads();
    sh[ty][tx] = s;
    __syncthreads();
    s = sh[0][tx];
    for (int k = 1; k < kColsY; ++k) s += sh[k][tx];
    if (!live) continue;
    for (int64_t c = ty; c < C; c += kColsY) {
      int64_t i = base + c * inner;
      float d = dout[i], v = out[i];
      dinp[i] = is_log ? d - expf(v) * s : (d - s) * v;
    }
  }
}

// --- launch helpers

// Register slots a lane for a row of C <= 1024.
int slots_for(int64_t C) {
  for (int e : {1, 2, 4, 8, 16, 24, 32})
    if (32 * e >= C) return e;
  return 0;
}

int block_threads(int64_t C) { return C <= 4096 ? 256 : (C <= 16384 ? 512 : 1024); }

template <int E>
void warp_fwd(float* out, const float* inp, int64_t rows, int C, int64_t tq, bool is_log, bool vec) {
  unsigned grid = grid_cap((rows + kWarpBlock / 32 - 1) / (kWarpBlock / 32));
  if constexpr (E % 4 == 0) {
    if (vec) {
      auto* kernel = softmax_warp_fwd<E, true>;
      LAUNCH(kernel, grid, kWarpBlock, 0, stream())(out, inp, rows, C, tq, is_log);
      return;
    }
  }
  auto* kernel = softmax_warp_fwd<E, false>;
  LAUNCH(kernel, grid, kWarpBlock, 0, stream())(out, inp, rows, C, tq, is_log);
}

template <int E>
void warp_bwd(float* dinp, const float* dout, const float* out, int64_t rows, int C, int64_t tq, bool is_log,
              bool vec) {
  unsigned grid = grid_cap((rows + kWarpBlock / 32 - 1) / (kWarpBlock / 32));
  if constexpr (E % 4 == 0) {
    if (vec) {
      auto* kernel = softmax_warp_bwd<E, true>;
      LAUNCH(kernel, grid, kWarpBlock, 0, stream())(dinp, dout, out, rows, C, tq, is_log);
      return;
    }
  }
  auto* kernel = softmax_warp_bwd<E, false>;
  LAUNCH(kernel, grid, kWarpBlock, 0, stream())(dinp, dout, out, rows, C, tq, is_log);
}

}  // namespace

// --- launchers

void softmax_forward(float* out, const float* inp, int64_t outer, int64_t C, int64_t inner, int64_t tq, bool log) {
  if (outer == 0 || C == 0 || inner == 0) return;
  const char* op = log ? "logSoftmax forward" : "softmax forward";
  if (inner > 1) {
    int64_t tiles = (inner + kColsX - 1) / kColsX;
    LAUNCH(softmax_cols_fwd, grid_cap(outer * tiles), dim3(kColsX, kColsY), 0, stream())(out, inp, outer, C, inner, log);
  } else if (C <= 1024) {
    bool vec = C % 4 == 0 && aligned16(out) && aligned16(inp);
    int c = static_cast<int>(C);
    switch (slots_for(C)) {
      case 1: warp_fwd<1>(out, inp, outer, c, tq, log, vec); break;
      case 2: warp_fwd<2>(out, inp, outer, c, tq, log, vec); break;
      case 4: warp_fwd<4>(out, inp, outer, c, tq, log, vec); break;
      case 8: warp_fwd<8>(out, inp, outer, c, tq, log, vec); break;
      case 16: warp_fwd<16>(out, inp, outer, c, tq, log, vec); break;
      case 24: warp_fwd<24>(out, inp, outer, c, tq, log, vec); break;
      default: warp_fwd<32>(out, inp, outer, c, tq, log, vec); break;
    }
  } else {
    bool vec = aligned16(out) && aligned16(inp);
    LAUNCH(softmax_block_fwd, grid_cap(outer), block_threads(C), 0, stream())(out, inp, outer, C, tq, log, vec);
  }
  gpu::check_last_launch(op);
}

void softmax_backward(float* dinp, const float* dout, const float* out, int64_t outer, int64_t C, int64_t inner,
                      int64_t tq, bool log) {
  if (outer == 0 || C == 0 || inner == 0) return;
  const char* op = log ? "logSoftmax backward" : "softmax backward";
  if (inner > 1) {
    int64_t tiles = (inner + kColsX - 1) / kColsX;
    LAUNCH(softmax_cols_bwd, grid_cap(outer * tiles), dim3(kColsX, kColsY), 0, stream())(dinp, dout, out, outer, C,
                                                                                       inner, log);
  } else if (C <= 1024) {
    bool vec = C % 4 == 0 && aligned16(dinp) && aligned16(dout) && aligned16(out);
    int c = static_cast<int>(C);
    switch (slots_for(C)) {
      case 1: warp_bwd<1>(dinp, dout, out, outer, c, tq, log, vec); break;
      case 2: warp_bwd<2>(dinp, dout, out, outer, c, tq, log, vec); break;
      case 4: warp_bwd<4>(dinp, dout, out, outer, c, tq, log, vec); break;
      case 8: warp_bwd<8>(dinp, dout, out, outer, c, tq, log, vec); break;
      case 16: warp_bwd<16>(dinp, dout, out, outer, c, tq, log, vec); break;
      case 24: warp_bwd<24>(dinp, dout, out, outer, c, tq, log, vec); break;
      default: warp_bwd<32>(dinp, dout, out, outer, c, tq, log, vec); break;
    }
  } else {
    bool vec = aligned16(dinp) && aligned16(dout) && aligned16(out);
    LAUNCH(softmax_block_bwd, grid_cap(outer), block_threads(C), 0, stream())(dinp, dout, out, outer, C, tq, log, vec);
  }
  gpu::check_last_launch(op);
}

}  // namespace cg::cuda
