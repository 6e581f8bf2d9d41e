// CUDA reductions (ops/reduce.h): sum, mean, max, argmax over the middle axis
// of (outer, len, inner), and their backward. Deterministic: no float atomics;
// every split depends on the shape only, so a result is the same on every run.
//   inner == 1 (rows): len <= kWarpRow: a group of 1..32 lanes of a warp per row
//     (about 16 elements per lane), else blocks of 256 threads over segments of
//     kRowChunk elements of a row; float4 loads from the first 16-byte boundary
//     of the segment, warp shuffles then shared memory.
//   inner > 1 (columns): a block covers cw column units (4 columns each when
//     inner % 4 == 0: float4) x 256 / cw row lanes (cw >= 32 unless inner is
//     narrower, wider when there are few rows), reads coalesced along the
//     columns, each thread down kRowsPerThread rows of a chunk, lanes combined
//     through shared memory.
// When a row (or column) needs more than one segment the partials (outer,
// nchunk, inner) are reduced again by the same kernels: two stages for a full
// reduction of up to 2^26 elements, rarely three. argmax carries (value, index)
// pairs through both stages; pairs combine as the CPU: NaN first, then the
// larger value, ties to the lower index (commutative, so tree order is free).
// Summation order differs from the CPU's blocked pairwise sums: results agree
// to a few ulp times log2(len), not bitwise. Mean divides the sum by len once.
#include "../ops/reduce.h"

#include <climits>
#include <cmath>

#include "../ops/fill.h"
#include "../runtime/gpu.h"
#include "launch.h"

namespace cg::cuda {

// --- kernels

namespace {

constexpr int kThreads = 256;
constexpr int64_t kWarpRow = 1024;      // rows up to this long: lane groups within a warp
constexpr int64_t kRowChunk = 8192;     // longer rows: segments of this many elements per block
constexpr int64_t kRowsPerThread = 16;  // column reductions: rows per thread per chunk

__device__ __forceinline__ float nan_f() { return __int_as_float(0x7fc00000); }

struct SumR {
  using S = float;
  static __device__ __forceinline__ S ident() { return 0.f; }
  static __device__ __forceinline__ S make(float v, int64_t) { return v; }
  static __device__ __forceinline__ S join(S a, S b) { return a + b; }
  static __device__ __forceinline__ S shfl_xor(S a, int m) { return __shfl_xor_sync(0xffffffffu, a, m); }
  static __device__ __forceinline__ void store(S s, float* ov, int32_t*, int64_t j, float div) { ov[j] = s / div; }
};

struct MaxR {  // NaN if any element is NaN
  using S = float;
  static __device__ __forceinline__ S ident() { return -INFINITY; }
  static __device__ __forceinline__ S make(float v, int64_t) { return v; }
  static __device__ __forceinline__ S join(S a, S b) { return (a != a || b != b) ? nan_f() : fmaxf(a, b); }
  static __device__ __forceinline__ S shfl_xor(S a, int m) { return __shfl_xor_sync(0xffffffffu, a, m); }
  static __device__ __forceinline__ void store(S s, float* ov, int32_t*, int64_t j, float) { ov[j] = s; }
};

struct ArgPair {
  float v;
  int32_t i;
};

struct ArgR {
  using S = ArgPair;
  static __device__ __forceinline__ S ident() { return ArgPair{-INFINITY, INT_MAX}; }
  static __device__ __forceinline__ S make(float v, int64_t i) { return ArgPair{v, static_cast<int32_t>(i)}; }
  static __device__ __forceinline__ S join(S a, S b) {
    bool b_wins = b.v != b.v ? (a.v == a.v || b.i < a.i) : (a.v == a.v && (b.v > a.v || (b.v == a.v && b.i < a.i)));
    return b_wins ? b : a;
  }
  static __device__ __forceinline__ S shfl_xor(S a, int m) {
    return ArgPair{__shfl_xor_sync(0xffffffffu, a.v, m), __shfl_xor_sync(0xffffffffu, a.i, m)};
  }
  static __device__ __forceinline__ void store(S s, float* ov, int32_t* oi, int64_t j, float) {
    if (ov) ov[j] = s.v;
    oi[j] = s.i;
  }
};

// Combines the values of each aligned group of G lanes (G a power of two <= 32); every lane gets its group's result.
template <class R>
__device__ __forceinline__ typename R::S warp_all(typename R::S s, int G = 32) {
  for (int m = G / 2; m > 0; m >>= 1) s = R::join(s, R::shfl_xor(s, m));
  return s;
}

// Reduces v[0, n) (row positions base..base+n) over G lanes; ix: the indices of
// stage-2 argmax pairs (then scalar loads), else float4 from the first 16-byte boundary.
template <class R>
__device__ typename R::S segment(const float* v, const int32_t* ix, int64_t base, int64_t n, int lane, int G) {
  typename R::S acc = R::ident();
  if (ix) {
    for (int64_t i = lane; i < n; i += G) acc = R::join(acc, R::make(v[i], ix[i]));
    return acc;
  }
  int64_t head = static_cast<int64_t>((16u - (reinterpret_cast<uintptr_t>(v) & 15u)) & 15u) / 4;
  if (head > n) head = n;
  for (int64_t i = lane; i < head; i += G) acc = R::join(acc, R::make(v[i], base + i));
  const float4* v4 = reinterpret_cast<const float4*>(v + head);
  const int64_t n4 = (n - head) / 4;
  for (int64_t i = lane; i < n4; i += G) {
    float4 x = v4[i];
    int64_t j = base + head + 4 * i;
    acc = R::join(acc, R::make(x.x, j));
    acc = R::join(acc, R::make(x.y, j + 1));
    acc = R::join(acc, R::make(x.z, j + 2));
    acc = R::join(acc, R::make(x.w, j + 3));
  }
  for (int64_t t = head + 4 * n4 + lane; t < n; t += G) acc = R::join(acc, R::make(v[t], base + t));
  return acc;
}

// Short rows (len <= kWarpRow): a group of G lanes per row (G = 1 .. 32, about
// len / 16), 32 / G rows per warp: out[row] over iv[row, 0:len). The loop runs
// per warp (every lane takes part in the shuffles); rows past the end are idle.
template <class R>
__global__ void rows_group_kernel(float* ov, int32_t* oi, const float* iv, const int32_t* ix, int64_t rows, int64_t len, int G,
                                  float div) {
  const int lane = threadIdx.x & 31, per_warp = 32 / G;
  const int64_t warps = (int64_t)gridDim.x * (blockDim.x / 32);
  for (int64_t w = blockIdx.x * (int64_t)(blockDim.x / 32) + threadIdx.x / 32; w * per_warp < rows; w += warps) {
    const int64_t r = w * per_warp + lane / G;
    const bool live = r < rows;
    typename R::S s = live ? segment<R>(iv + r * len, ix ? ix + r * len : nullptr, 0, len, lane % G, G) : R::ident();
    s = warp_all<R>(s, G);
    if (live && lane % G == 0) R::store(s, ov, oi, r, div);
  }
}

// Blocks of kThreads over segments of `chunk`: task t = (row, k) writes out[row * nchunk + k].
template <class R>
__global__ void rows_block_kernel(float* ov, int32_t* oi, const float* iv, const int32_t* ix, int64_t rows, int64_t len, int64_t chunk,
                                  int64_t nchunk, float div) {
  __shared__ typename R::S part[kThreads / 32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x / 32;
  for (int64_t t = blockIdx.x; t < rows * nchunk; t += gridDim.x) {
    const int64_t r = t / nchunk, k = t - r * nchunk, s0 = k * chunk;
    const int64_t n = len - s0 < chunk ? len - s0 : chunk;
    typename R::S s = segment<R>(iv + r * len + s0, ix ? ix + r * len + s0 : nullptr, s0, n, threadIdx.x, kThreads);
    s = warp_all<R>(s);
    if (lane == 0) part[warp] = s;
    __syncthreads();
    if (warp == 0) {
      s = lane < kThreads / 32 ? part[lane] : R::ident();
      s = warp_all<R>(s);
      if (lane == 0) R::store(s, ov, oi, t, div);
    }
    __syncthreads();  // part is rewritten by the next task
  }
}

// Columns: task (o, k, cb) reduces rows [k * chunk, ...) of column units
// cb * cw + tx (VW columns each) of slab o; writes out[(o * nchunk + k) * inner + c].
template <class R, int VW>
__global__ void cols_kernel(float* ov, int32_t* oi, const float* iv, const int32_t* ix, int64_t outer, int64_t len, int64_t inner,
                            int64_t chunk, int64_t nchunk, int cw, float div) {
  __shared__ typename R::S sm[VW][kThreads];
  const int tx = threadIdx.x % cw, ty = threadIdx.x / cw, ry = kThreads / cw;
  const int64_t units = inner / VW, ncb = (units + cw - 1) / cw, tasks = outer * nchunk * ncb;
  for (int64_t t = blockIdx.x; t < tasks; t += gridDim.x) {
    const int64_t cb = t % ncb, k = (t / ncb) % nchunk, o = t / (ncb * nchunk);
    const int64_t u = cb * cw + tx, c = u * VW, r0 = k * chunk, r1 = len - r0 < chunk ? len : r0 + chunk;
    typename R::S acc[VW];
    for (int e = 0; e < VW; ++e) acc[e] = R::ident();
    if (u < units) {
      for (int64_t r = r0 + ty; r < r1; r += ry) {
        const int64_t at = (o * len + r) * inner + c;
        if constexpr (VW == 4) {
          float4 x = *reinterpret_cast<const float4*>(iv + at);
          acc[0] = R::join(acc[0], R::make(x.x, r));
          acc[1] = R::join(acc[1], R::make(x.y, r));
          acc[2] = R::join(acc[2], R::make(x.z, r));
          acc[3] = R::join(acc[3], R::make(x.w, r));
        } else {
          acc[0] = R::join(acc[0], R::make(iv[at], ix ? ix[at] : r));
        }
      }
    }
    for (int e = 0; e < VW; ++e) sm[e][threadIdx.x] = acc[e];
    __syncthreads();
    for (int h = ry / 2; h > 0; h /= 2) {
      if (ty < h)
        for (int e = 0; e < VW; ++e) sm[e][threadIdx.x] = R::join(sm[e][threadIdx.x], sm[e][threadIdx.x + h * cw]);
      __syncthreads();
    }
    if (ty == 0 && u < units)
      for (int e = 0; e < VW; ++e) R::store(sm[e][tx], ov, oi, (o * nchunk + k) * inner + c + e, div);
    __syncthreads();  // sm is rewritten by the next task
  }
}

// dinp (outer, len, inner) = dout (outer, inner) / div; VEC: four elements at a
// time, sharing their row (inner % 4 == 0: dout float4; inner == 1: one dout value).
template <bool VEC, typename I>
__global__ void spread_kernel(float* dinp, const float* dout, I n, I len, I inner, float div) {
  const I stride = (I)gridDim.x * blockDim.x;
  for (I i = (I)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
    if constexpr (VEC) {
      const I e = i * 4, row = e / inner, c = e - row * inner, src = (row / len) * inner + c;
      float4 d = inner == 1 ? make_float4(dout[src], dout[src], dout[src], dout[src]) : *reinterpret_cast<const float4*>(dout + src);
      reinterpret_cast<float4*>(dinp)[i] = make_float4(d.x / div, d.y / div, d.z / div, d.w / div);
    } else {
      const I row = i / inner, c = i - row * inner;
      dinp[i] = dout[(row / len) * inner + c] / div;
    }
  }
}

// dinp (zeroed) at (o, idx[j], c) = dout[j] for j = (o, c).
__global__ void max_scatter_kernel(float* dinp, const float* dout, const int32_t* idx, int64_t outer, int64_t len, int64_t inner) {
  for (int64_t j = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; j < outer * inner; j += (int64_t)gridDim.x * blockDim.x) {
    const int64_t o = j / inner, c = j - o * inner, r = idx[j];
    if (r >= 0 && r < len) dinp[(o * len + r) * inner + c] = dout[j];
  }
}

}  // namespace

// --- launchers

namespace {

// Device scratch from the caching allocator, returned when the launcher ends
// (stream order makes the reuse safe without a sync).
struct Scratch {
  int dev = 0;
  void* p = nullptr;
  size_t bytes = 0;
  explicit Scratch(size_t n) : bytes(n) {
    if (!n) return;
    CG_CUDA_CHECK(cudaGetDevice(&dev), "reduce");
    p = gpu::alloc(dev, n);
  }
  ~Scratch() {
    if (p) gpu::free(dev, p, bytes);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
};

unsigned blocks_for(int64_t tasks) { return static_cast<unsigned>(tasks < 1 ? 1 : tasks > 65535 * 4 ? 65535 * 4 : tasks); }

// out (outer, inner) [values ov and/or indices oi] = reduction of iv (outer, len, inner), len >= 1.
template <class R>
void reduce(const char* op, float* ov, int32_t* oi, const float* iv, const int32_t* ix, int64_t outer, int64_t len, int64_t inner, float div) {
  constexpr bool kArg = sizeof(typename R::S) > sizeof(float);
  int64_t nchunk = 1, chunk = len;
  int cw = 1, vw = 1;
  if (inner == 1) {
    if (len > kWarpRow) chunk = kRowChunk, nchunk = (len + chunk - 1) / chunk;
  } else {
    // cw column units (of vw columns) x kThreads / cw row lanes: up to 32 units,
    // more while the row lanes would outnumber the rows.
    vw = inner % 4 == 0 && !ix ? 4 : 1;
    const int64_t units = inner / vw;
    while (cw < kThreads && cw < units && (cw < 32 || kThreads / cw > len)) cw *= 2;
    chunk = (kThreads / cw) * kRowsPerThread;
    if (len <= chunk) chunk = len;
    nchunk = (len + chunk - 1) / chunk;
  }
  // Partials of a multi-chunk reduction: (outer, nchunk, inner) values (+ indices for argmax).
  const int64_t np = nchunk > 1 ? outer * nchunk * inner : 0;
  Scratch pv(np ? static_cast<size_t>(np) * sizeof(float) : 0), pi(np && kArg ? static_cast<size_t>(np) * sizeof(int32_t) : 0);
  float* dv = np ? static_cast<float*>(pv.p) : ov;
  int32_t* di = np ? (kArg ? static_cast<int32_t*>(pi.p) : nullptr) : oi;
  const float ddiv = np ? 1.f : div;
  if (inner == 1 && len <= kWarpRow) {
    int G = 1;
    while (G < 32 && G * 16 < len) G *= 2;
    const int64_t per_block = (kThreads / 32) * (32 / G);
    auto rows_group = &rows_group_kernel<R>;
    LAUNCH(rows_group, blocks_for((outer + per_block - 1) / per_block), kThreads, 0, stream())(dv, di, iv, ix, outer, len, G, ddiv);
  } else if (inner == 1) {
    auto rows_block = &rows_block_kernel<R>;
    LAUNCH(rows_block, blocks_for(outer * nchunk), kThreads, 0, stream())(dv, di, iv, ix, outer, len, chunk, nchunk, ddiv);
  } else {
    const int64_t tasks = outer * nchunk * ((inner / vw + cw - 1) / cw);
    auto cols = vw == 4 ? &cols_kernel<R, 4> : &cols_kernel<R, 1>;
    LAUNCH(cols, blocks_for(tasks), kThreads, 0, stream())(dv, di, iv, ix, outer, len, inner, chunk, nchunk, cw, ddiv);
  }
  gpu::check_last_launch(op);
  if (np) reduce<R>(op, ov, oi, dv, di, outer, nchunk, inner, div);
}

}  // namespace

void reduce_forward(float* out, const float* inp, int64_t outer, int64_t len, int64_t inner, Reduce op) {
  const int64_t m = outer * inner;
  if (m <= 0) return;
  if (len == 0) {
    fill(out, m, DType::Float32, op == Reduce::Mean ? NAN : 0.0);
    return;
  }
  if (op == Reduce::Max) reduce<MaxR>("max", out, nullptr, inp, nullptr, outer, len, inner, 1.f);
  else reduce<SumR>(op == Reduce::Sum ? "sum" : "mean", out, nullptr, inp, nullptr, outer, len, inner, op == Reduce::Mean ? static_cast<float>(len) : 1.f);
}

void argmax_forward(int32_t* out, const float* inp, int64_t outer, int64_t len, int64_t inner) {
  if (outer * inner <= 0 || len <= 0) return;
  reduce<ArgR>("argmax", nullptr, out, inp, nullptr, outer, len, inner, 1.f);
}

void reduce_backward(float* dinp, const float* dout, int64_t outer, int64_t len, int64_t inner, Reduce op) {
  const int64_t n = outer * len * inner;
  if (n <= 0) return;
  const float div = op == Reduce::Mean ? static_cast<float>(len) : 1.f;
  const bool vec = inner % 4 == 0 || (inner == 1 && len % 4 == 0);
  const int64_t items = vec ? n / 4 : n;
  if (n <= INT_MAX) {
    auto spread = vec ? &spread_kernel<true, uint32_t> : &spread_kernel<false, uint32_t>;
    LAUNCH(spread, grid_for(items, kThreads), kThreads, 0, stream())(dinp, dout, (uint32_t)items, (uint32_t)len, (uint32_t)inner, div);
  } else {
    auto spread = vec ? &spread_kernel<true, int64_t> : &spread_kernel<false, int64_t>;
    LAUNCH(spread, grid_for(items, kThreads), kThreads, 0, stream())(dinp, dout, items, len, inner, div);
  }
  gpu::check_last_launch("reduce backward");
}

void max_backward(float* dinp, const float* dout, const int32_t* idx, int64_t outer, int64_t len, int64_t inner) {
  const int64_t n = outer * len * inner;
  if (n <= 0) return;
  CG_CUDA_CHECK(cudaMemsetAsync(dinp, 0, static_cast<size_t>(n) * sizeof(float), stream()), "max backward");
  LAUNCH(max_scatter_kernel, grid_for(outer * inner, kThreads), kThreads, 0, stream())(dinp, dout, idx, outer, len, inner);
  gpu::check_last_launch("max backward");
}

}  // namespace cg::cuda
