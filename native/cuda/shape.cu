// CUDA shape ops (ops/shape.h): copies of raw elements T, uint32_t (float32,
// int32) or uint16_t (bfloat16). "Vector" below is a uint4: V = 16 / sizeof(T)
// elements (4 words or 8 bfloat16s), used only where every row start is
// 16-byte aligned; odd sizes and offsets take the one-element path.
// permute, by the merged stride plan (one output dim has input stride 1):
//   swap_tile_kernel   out (nb, A, C, E) = in (nb, C, A, E) with E < 8: the
//                      last-two-dims transpose (E = 1) and the attention
//                      (B,T,H,D) <-> (B,H,T,D) swap with small D. 32 x 33-word
//                      shared tiles (32 x 34 halves for bfloat16: an odd word
//                      stride, so column reads are conflict-free): reads and
//                      writes are runs of up to 32 elements.
//   perm_rows_kernel   the last dim is input-contiguous (E >= 8 included:
//                      D-element rows are whole 32-byte sectors for float32):
//                      row copies, uint4 when rows and strides are multiples of V.
//   plane_tile_kernel  any other permutation: 32 x 33 tiles of the plane (the
//                      input-contiguous dim, the output's last dim), other dims
//                      per block.
//   perm_any_kernel    fallback for a plan with no input-contiguous dim.
// slice / concat / split: copy_rows_kernel, batches of (src, dst, strides, cols)
// row copies, uint4 where aligned. slice backward: one pass, zeros or dout
// (a copy of raw elements too).
// gather: one thread per index element; an index outside [0, size) is recorded
// in the device error record (raised as a RangeError at the next copy to host)
// and its output is 0. gather backward: zeros, then one thread per line of index
// positions along the axis, summing in index order (deterministic, no atomics;
// the same order as the CPU, so bitwise equal to it).
#include "../ops/shape.h"

#include <climits>

#include "launch.h"  // first: the CUDA (or emulated) device language for device_error.cuh
#include "device_error.cuh"

namespace cg::cuda {

// --- kernels

namespace {

constexpr int kThreads = 256;
constexpr int kTile = 32;
constexpr int kJobs = 8;  // row-copy jobs per launch

template <typename T>
constexpr int kVec = 16 / static_cast<int>(sizeof(T));  // elements per uint4
template <typename T>
constexpr int kPad = 4 / static_cast<int>(sizeof(T));  // tile row padding: one 32-bit word

// out (nb, A, C, E) = in (nb, C, A, E); tiles of ta = 32 / E elements of A by 32 of C.
template <typename T>
__global__ void swap_tile_kernel(T* out, const T* in, int64_t nb, int64_t A, int64_t C, int E) {
  __shared__ T tile[kTile][kTile + kPad<T>];
  const int tx = threadIdx.x, ty = threadIdx.y, ta = kTile / E;
  const int64_t tiles_a = (A + ta - 1) / ta, tiles_c = (C + kTile - 1) / kTile, tasks = nb * tiles_a * tiles_c;
  for (int64_t t = blockIdx.x; t < tasks; t += gridDim.x) {
    const int64_t tc = t % tiles_c, tA = (t / tiles_c) % tiles_a, b = t / (tiles_c * tiles_a);
    const int64_t a0 = tA * ta, c0 = tc * kTile;
    const int na = A - a0 < ta ? static_cast<int>(A - a0) : ta, nc = C - c0 < kTile ? static_cast<int>(C - c0) : kTile;
    const T* src = in + ((b * C + c0) * A + a0) * E;  // row cl of the tile: na * E elements at src + cl * A * E
    for (int cl = ty; cl < nc; cl += blockDim.y)
      if (tx < na * E) tile[cl][tx] = src[cl * A * E + tx];
    __syncthreads();
    T* dst = out + ((b * A + a0) * C + c0) * E;  // row al: nc * E elements at dst + al * C * E
    for (int al = ty; al < na; al += blockDim.y)
      for (int w = tx; w < nc * E; w += kTile) {
        const int cl = w / E;
        dst[al * C * E + w] = tile[cl][al * E + (w - cl * E)];
      }
    __syncthreads();
  }
}

// Output rows of `cols` elements (VW at a time: 1 or kVec<T>); the input offset of a row from its index.
template <typename T, int VW, typename I>
__global__ void perm_rows_kernel(T* out, const T* in, Strided s, I units) {
  const int last = s.ndim - 1;
  const I cu = (I)s.shape[last] / VW, stride = (I)gridDim.x * blockDim.x;
  for (I i = (I)blockIdx.x * blockDim.x + threadIdx.x; i < units; i += stride) {
    I row = i / cu, off = (i - row * cu) * VW;
    for (int d = last - 1; d >= 0; --d) {
      const I size = (I)s.shape[d], q = row / size;
      off += (row - q * size) * (I)s.stride[d];
      row = q;
    }
    if constexpr (VW > 1) reinterpret_cast<uint4*>(out)[i] = *reinterpret_cast<const uint4*>(in + off);
    else out[i] = in[off];
  }
}

struct Plane {
  Strided s;
  int p = 0;                           // the output dim with input stride 1
  int64_t ostride[kMaxShapeDims] = {};  // output strides
};

// Tiles of the (p, last) plane: read coalesced along p (input stride 1), write along last.
template <typename T>
__global__ void plane_tile_kernel(T* out, const T* in, Plane pl) {
  __shared__ T tile[kTile][kTile + kPad<T>];
  const int tx = threadIdx.x, ty = threadIdx.y, last = pl.s.ndim - 1, p = pl.p;
  const int64_t P = pl.s.shape[p], L = pl.s.shape[last], sl = pl.s.stride[last], op = pl.ostride[p];
  const int64_t ti = (P + kTile - 1) / kTile, tj = (L + kTile - 1) / kTile;
  int64_t nb = 1;
  for (int d = 0; d < last; ++d)
    if (d != p) nb *= pl.s.shape[d];
  for (int64_t t = blockIdx.x; t < nb * ti * tj; t += gridDim.x) {
    const int64_t i0 = (t % ti) * kTile, j0 = (t / ti % tj) * kTile;
    int64_t rest = t / (ti * tj), ioff = 0, ooff = 0;
    for (int d = last - 1; d >= 0; --d) {
      if (d == p) continue;
      const int64_t c = rest % pl.s.shape[d];
      rest /= pl.s.shape[d];
      ioff += c * pl.s.stride[d];
      ooff += c * pl.ostride[d];
    }
    for (int jj = ty; jj < kTile; jj += blockDim.y)
      if (i0 + tx < P && j0 + jj < L) tile[jj][tx] = in[ioff + (i0 + tx) + (j0 + jj) * sl];
    __syncthreads();
    for (int ii = ty; ii < kTile; ii += blockDim.y)
      if (i0 + ii < P && j0 + tx < L) out[ooff + (i0 + ii) * op + j0 + tx] = tile[tx][ii];
    __syncthreads();
  }
}

template <typename T>
__global__ void perm_any_kernel(T* out, const T* in, Strided s, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t rest = i, off = 0;
    for (int d = s.ndim - 1; d >= 0; --d) {
      off += (rest % s.shape[d]) * s.stride[d];
      rest /= s.shape[d];
    }
    out[i] = in[off];
  }
}

template <typename T>
struct Job {
  T* dst;
  const T* src;
  int64_t dstride, sstride, cols;  // row r: cols elements from src + r * sstride to dst + r * dstride
};

template <typename T>
struct Jobs {
  Job<T> job[kJobs];
  int64_t rows;
};

// blockIdx.y picks the job; uint4 when the job's pointers, strides and cols allow.
template <typename T, typename I>
__global__ void copy_rows_kernel(Jobs<T> jobs) {
  constexpr int V = kVec<T>;
  const Job<T> jb = jobs.job[blockIdx.y];
  const I stride = (I)gridDim.x * blockDim.x;
  const bool v4 = ((reinterpret_cast<uintptr_t>(jb.dst) | reinterpret_cast<uintptr_t>(jb.src)) & 15u) == 0 &&
                  ((jb.dstride | jb.sstride | jb.cols) & (V - 1)) == 0;
  if (v4) {
    const I c4 = (I)jb.cols / V, n4 = (I)jobs.rows * c4;
    for (I i = (I)blockIdx.x * blockDim.x + threadIdx.x; i < n4; i += stride) {
      const I r = i / c4, c = (i - r * c4) * V;
      *reinterpret_cast<uint4*>(jb.dst + r * (I)jb.dstride + c) = *reinterpret_cast<const uint4*>(jb.src + r * (I)jb.sstride + c);
    }
  } else {
    const I cols = (I)jb.cols, n = (I)jobs.rows * cols;
    for (I i = (I)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
      const I r = i / cols, c = i - r * cols;
      jb.dst[r * (I)jb.dstride + c] = jb.src[r * (I)jb.sstride + c];
    }
  }
}

// dinp (outer, row) = dout (outer, b - a) in columns [a, b), 0 elsewhere; VW: 1 or kVec<T>.
template <typename T, int VW, typename I>
__global__ void slice_backward_kernel(T* dinp, const T* dout, I units, I row, I a, I b) {
  const I stride = (I)gridDim.x * blockDim.x;
  for (I i = (I)blockIdx.x * blockDim.x + threadIdx.x; i < units; i += stride) {
    const I pos = i * VW, o = pos / row, q = pos - o * row;
    const bool in = q >= a && q < b;
    const I src = o * (b - a) + q - a;
    if constexpr (VW > 1)
      reinterpret_cast<uint4*>(dinp)[i] = in ? *reinterpret_cast<const uint4*>(dout + src) : make_uint4(0u, 0u, 0u, 0u);
    else dinp[i] = in ? dout[src] : T(0);
  }
}

template <typename T>
__global__ void gather_kernel(T* out, const T* inp, const int32_t* index, GatherDims g, int64_t n,
                              gpu::DeviceErrorRecord* rec) {
  const int64_t size = g.xshape[g.axis];
  for (int64_t p = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; p < n; p += (int64_t)gridDim.x * blockDim.x) {
    const int64_t v = index[p];
    if (v < 0 || v >= size) {
      report_index_error(rec, gpu::DeviceErrorOp::Gather, p, v, size);
      out[p] = T(0);
      continue;
    }
    int64_t rest = p, xoff = 0, xmul = 1;
    for (int d = g.ndim - 1; d >= 0; --d) {
      const int64_t c = rest % g.ishape[d];
      rest /= g.ishape[d];
      xoff += (d == g.axis ? v : c) * xmul;
      xmul *= g.xshape[d];
    }
    out[p] = inp[xoff];
  }
}

// One thread per line of index positions along the axis (`units` of them),
// adding its dout values in index order; lines own disjoint dinp elements.
__global__ void gather_backward_kernel(float* dinp, const float* dout, const int32_t* index, GatherDims g, int64_t units,
                                       gpu::DeviceErrorRecord* rec) {
  const int64_t size = g.xshape[g.axis], len = g.ishape[g.axis];
  for (int64_t u = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; u < units; u += (int64_t)gridDim.x * blockDim.x) {
    int64_t rest = u, ipos = 0, xoff = 0, imul = 1, xmul = 1, ist = 1, xst = 1;
    for (int d = g.ndim - 1; d >= 0; --d) {
      if (d == g.axis) {
        ist = imul;
        xst = xmul;
      } else {
        const int64_t c = rest % g.ishape[d];
        rest /= g.ishape[d];
        ipos += c * imul;
        xoff += c * xmul;
      }
      imul *= g.ishape[d];
      xmul *= g.xshape[d];
    }
    for (int64_t r = 0; r < len; ++r) {
      const int64_t p = ipos + r * ist, v = index[p];
      if (v < 0 || v >= size) {
        report_index_error(rec, gpu::DeviceErrorOp::Gather, p, v, size);
        continue;
      }
      dinp[xoff + v * xst] += dout[p];
    }
  }
}

}  // namespace

// --- launchers

namespace {

int64_t numel(const int64_t* shape, int nd) {
  int64_t n = 1;
  for (int d = 0; d < nd; ++d) n *= shape[d];
  return n;
}

unsigned blocks_for(int64_t tasks) { return static_cast<unsigned>(tasks < 1 ? 1 : tasks > 65535 * 4 ? 65535 * 4 : tasks); }

template <typename T>
void copy_rows(const char* op, const Job<T>* jobs, int n, int64_t rows) {
  for (int k0 = 0; k0 < n; k0 += kJobs) {
    Jobs<T> js;
    js.rows = rows;
    int m = 0;
    int64_t most = 0;
    for (int k = k0; k < n && k < k0 + kJobs; ++k) {
      if (jobs[k].cols == 0) continue;
      js.job[m++] = jobs[k];
      most = jobs[k].cols > most ? jobs[k].cols : most;
    }
    if (m == 0) continue;
    const int64_t total = rows * most;
    auto kernel = total <= INT_MAX ? &copy_rows_kernel<T, uint32_t> : &copy_rows_kernel<T, int64_t>;
    LAUNCH(kernel, dim3(grid_for((total + kVec<T> - 1) / kVec<T>, kThreads), m), kThreads, 0, stream())(js);
    gpu::check_last_launch(op);
  }
}

}  // namespace

template <typename T>
void permute_forward(T* out, const T* inp, const Strided& s) {
  constexpr int V = kVec<T>;
  const int nd = s.ndim, last = nd - 1;
  const int64_t n = numel(s.shape, nd);
  if (n <= 0) return;
  if (nd == 1 && s.stride[0] == 1) {
    CG_CUDA_CHECK(cudaMemcpyAsync(out, inp, static_cast<size_t>(n) * sizeof(T), cudaMemcpyDeviceToDevice, stream()), "permute");
    return;
  }
  const bool rows = s.stride[last] == 1;
  // The swap pattern out (nb, A, C, E) = in (nb, C, A, E): dims a = k - 2, c = k - 1, at most one batch dim.
  const int k = rows ? last : nd;
  const int64_t E = rows ? s.shape[last] : 1;
  if (E < 8 && k >= 2 && k <= 3 && s.stride[k - 2] == E && s.stride[k - 1] == s.shape[k - 2] * E &&
      (k == 2 || s.stride[0] == s.shape[1] * s.shape[2] * E)) {
    const int64_t nb = k == 3 ? s.shape[0] : 1, A = s.shape[k - 2], C = s.shape[k - 1];
    const int64_t tasks = nb * ((A + kTile / E - 1) / (kTile / E)) * ((C + kTile - 1) / kTile);
    LAUNCH(swap_tile_kernel<T>, blocks_for(tasks), dim3(kTile, 8), 0, stream())(out, inp, nb, A, C, static_cast<int>(E));
  } else if (rows) {
    bool v4 = s.shape[last] % V == 0;
    for (int d = 0; d < last; ++d) v4 = v4 && s.stride[d] % V == 0;
    const int64_t units = v4 ? n / V : n;
    if (n <= INT_MAX) {
      auto kernel = v4 ? &perm_rows_kernel<T, V, uint32_t> : &perm_rows_kernel<T, 1, uint32_t>;
      LAUNCH(kernel, grid_for(units, kThreads), kThreads, 0, stream())(out, inp, s, (uint32_t)units);
    } else {
      auto kernel = v4 ? &perm_rows_kernel<T, V, int64_t> : &perm_rows_kernel<T, 1, int64_t>;
      LAUNCH(kernel, grid_for(units, kThreads), kThreads, 0, stream())(out, inp, s, units);
    }
  } else {
    Plane pl;
    pl.s = s;
    pl.p = -1;
    for (int d = 0; d < last; ++d)
      if (s.stride[d] == 1) pl.p = d;
    if (pl.p < 0) {
      LAUNCH(perm_any_kernel<T>, grid_for(n, kThreads), kThreads, 0, stream())(out, inp, s, n);
    } else {
      for (int d = last; d >= 0; --d) pl.ostride[d] = d == last ? 1 : pl.ostride[d + 1] * s.shape[d + 1];
      const int64_t tiles = (n / (s.shape[pl.p] * s.shape[last])) * ((s.shape[pl.p] + kTile - 1) / kTile) *
                            ((s.shape[last] + kTile - 1) / kTile);
      LAUNCH(plane_tile_kernel<T>, blocks_for(tiles), dim3(kTile, 8), 0, stream())(out, inp, pl);
    }
  }
  gpu::check_last_launch("permute");
}

template <typename T>
void slice_forward(T* out, const T* inp, int64_t outer, int64_t len, int64_t inner, int64_t start, int64_t count) {
  if (outer * count * inner <= 0) return;
  Job<T> j{out, inp + start * inner, count * inner, len * inner, count * inner};
  copy_rows("slice", &j, 1, outer);
}

template <typename T>
void slice_backward(T* dinp, const T* dout, int64_t outer, int64_t len, int64_t inner, int64_t start, int64_t count) {
  constexpr int V = kVec<T>;
  const int64_t row = len * inner, n = outer * row, a = start * inner, b = (start + count) * inner;
  if (n <= 0) return;
  const bool v4 = row % V == 0 && a % V == 0 && b % V == 0;
  const int64_t units = v4 ? n / V : n;
  if (n <= INT_MAX) {
    auto kernel = v4 ? &slice_backward_kernel<T, V, uint32_t> : &slice_backward_kernel<T, 1, uint32_t>;
    LAUNCH(kernel, grid_for(units, kThreads), kThreads, 0, stream())(dinp, dout, (uint32_t)units, (uint32_t)row, (uint32_t)a, (uint32_t)b);
  } else {
    auto kernel = v4 ? &slice_backward_kernel<T, V, int64_t> : &slice_backward_kernel<T, 1, int64_t>;
    LAUNCH(kernel, grid_for(units, kThreads), kThreads, 0, stream())(dinp, dout, units, row, a, b);
  }
  gpu::check_last_launch("slice backward");
}

template <typename T>
void concat_forward(T* out, const T* const* inps, const int64_t* lens, int64_t n, int64_t outer, int64_t inner) {
  int64_t row = 0;
  for (int64_t k = 0; k < n; ++k) row += lens[k] * inner;
  if (outer * row <= 0) return;
  Job<T> jobs[kJobs];
  for (int64_t k0 = 0, at = 0; k0 < n; k0 += kJobs) {
    int m = 0;
    for (int64_t k = k0; k < n && k < k0 + kJobs; ++k) {
      jobs[m++] = Job<T>{out + at, inps[k], row, lens[k] * inner, lens[k] * inner};
      at += lens[k] * inner;
    }
    copy_rows("concat", jobs, m, outer);
  }
}

template <typename T>
void gather_forward(T* out, const T* inp, const int32_t* index, const GatherDims& g) {
  const int64_t n = numel(g.ishape, g.ndim);
  if (n <= 0) return;
  LAUNCH(gather_kernel<T>, grid_for(n, kThreads), kThreads, 0, stream())(out, inp, index, g, n, gpu::device_error_record());
  gpu::check_last_launch("gather");
}

void gather_backward(float* dinp, const float* dout, const int32_t* index, const GatherDims& g) {
  const int64_t nx = numel(g.xshape, g.ndim), n = numel(g.ishape, g.ndim);
  if (nx <= 0) return;
  CG_CUDA_CHECK(cudaMemsetAsync(dinp, 0, static_cast<size_t>(nx) * 4, stream()), "gather backward");
  if (n <= 0) return;
  const int64_t units = n / g.ishape[g.axis];
  LAUNCH(gather_backward_kernel, grid_for(units, kThreads), kThreads, 0, stream())(dinp, dout, index, g, units, gpu::device_error_record());
  gpu::check_last_launch("gather backward");
}

#define CG_SHAPE_COPIES(T)                                                                           \
  template void permute_forward<T>(T*, const T*, const Strided&);                                   \
  template void slice_forward<T>(T*, const T*, int64_t, int64_t, int64_t, int64_t, int64_t);       \
  template void slice_backward<T>(T*, const T*, int64_t, int64_t, int64_t, int64_t, int64_t);      \
  template void concat_forward<T>(T*, const T* const*, const int64_t*, int64_t, int64_t, int64_t); \
  template void gather_forward<T>(T*, const T*, const int32_t*, const GatherDims&);
CG_SHAPE_COPIES(uint32_t)
CG_SHAPE_COPIES(uint16_t)
#undef CG_SHAPE_COPIES

}  // namespace cg::cuda
