// CPU shape ops (ops/shape.h): copies of raw elements (T = uint32_t for
// float32/int32, uint16_t for bfloat16) split over the pool.
// permute: when the output's last dim is the input's contiguous one, rows are
// memcpy'd; otherwise 2-D tiles of the plane (output dim p holding the input's
// contiguous dim, output's last dim) are transposed through L1. slice/concat:
// flat output ranges walked segment by segment (memcpy). gather: units of
// index positions that differ only along the axis, so gather_backward's
// scatter-add needs no atomics and sums in a fixed order.
#include "../ops/shape.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "../runtime/thread_pool.h"

namespace cg::cpu {

namespace {

constexpr int64_t kGrain = 1 << 14;
constexpr int64_t kTile = 32;

template <typename T>
void copy_elems(T* dst, const T* src, int64_t n) { std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(T)); }

int64_t numel(const int64_t* shape, int nd) {
  int64_t n = 1;
  for (int d = 0; d < nd; ++d) n *= shape[d];
  return n;
}

}  // namespace

template <typename T>
void permute_forward(T* out, const T* inp, const Strided& s) {
  const int nd = s.ndim, last = nd - 1;
  const int64_t n = numel(s.shape, nd), cols = s.shape[last], sj = s.stride[last];
  if (n == 0) return;
  if (nd == 1 && sj == 1) {  // the identity after merging: one flat copy
    parallel_for(n, kGrain, [&](int64_t lo, int64_t hi) { copy_elems(out + lo, inp + lo, hi - lo); });
    return;
  }
  int p = -1;
  for (int d = 0; d < last; ++d)
    if (s.stride[d] == 1) p = d;
  if (sj == 1 || p < 0) {
    // Rows along the output's last dim: contiguous (memcpy) or strided reads;
    // the input offset of each row follows an odometer over the outer dims.
    parallel_for(n / cols, std::max<int64_t>(1, kGrain / cols), [&](int64_t lo, int64_t hi) {
      int64_t idx[kMaxShapeDims] = {};
      int64_t off = 0;
      int64_t r = lo;
      for (int d = last - 1; d >= 0; --d) {
        idx[d] = r % s.shape[d];
        r /= s.shape[d];
        off += idx[d] * s.stride[d];
      }
      for (int64_t row = lo; row < hi; ++row) {
        const T* src = inp + off;
        T* dst = out + row * cols;
        if (sj == 1) copy_elems(dst, src, cols);
        else
          for (int64_t j = 0; j < cols; ++j) dst[j] = src[j * sj];
        for (int d = last - 1; d >= 0; --d) {
          off += s.stride[d];
          if (++idx[d] < s.shape[d]) break;
          off -= s.stride[d] * s.shape[d];
          idx[d] = 0;
        }
      }
    });
    return;
  }
  // Tiles of the (p, last) plane; other dims enumerated as `c`.
  const int64_t rows = s.shape[p], ti = (rows + kTile - 1) / kTile, tj = (cols + kTile - 1) / kTile;
  int64_t ostride_p = 1;
  for (int d = p + 1; d < nd; ++d) ostride_p *= s.shape[d];
  Strided other;  // the dims except p and last, in order, with their out strides
  int64_t ostr[kMaxShapeDims];
  {
    int64_t acc = 1;
    for (int d = last; d >= 0; --d) {
      ostr[d] = acc;
      acc *= s.shape[d];
    }
    for (int d = 0; d < last; ++d) {
      if (d == p) continue;
      other.shape[other.ndim] = s.shape[d];
      other.stride[other.ndim++] = d;  // holds the dim number
    }
  }
  parallel_for((n / (rows * cols)) * ti * tj, std::max<int64_t>(1, kGrain / (kTile * kTile)), [&](int64_t lo, int64_t hi) {
    for (int64_t task = lo; task < hi; ++task) {
      int64_t c = task / (ti * tj), tile = task % (ti * tj);
      int64_t i0 = (tile / tj) * kTile, j0 = (tile % tj) * kTile;
      int64_t ioff = 0, ooff = 0;
      for (int k = other.ndim - 1; k >= 0; --k) {
        int d = static_cast<int>(other.stride[k]);
        int64_t at = c % other.shape[k];
        c /= other.shape[k];
        ioff += at * s.stride[d];
        ooff += at * ostr[d];
      }
      int64_t i1 = std::min(rows, i0 + kTile), j1 = std::min(cols, j0 + kTile);
      for (int64_t i = i0; i < i1; ++i) {
        T* dst = out + ooff + i * ostride_p;
        const T* src = inp + ioff + i;
        for (int64_t j = j0; j < j1; ++j) dst[j] = src[j * sj];
      }
    }
  });
}

template <typename T>
void slice_forward(T* out, const T* inp, int64_t outer, int64_t len, int64_t inner, int64_t start, int64_t count) {
  const int64_t seg = count * inner;
  if (outer * seg == 0) return;
  parallel_for(outer * seg, kGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t pos = lo; pos < hi;) {
      int64_t o = pos / seg, q = pos % seg, k = std::min(seg - q, hi - pos);
      copy_elems(out + pos, inp + (o * len + start) * inner + q, k);
      pos += k;
    }
  });
}

template <typename T>
void slice_backward(T* dinp, const T* dout, int64_t outer, int64_t len, int64_t inner, int64_t start, int64_t count) {
  const int64_t row = len * inner, a = start * inner, b = (start + count) * inner;
  if (outer * row == 0) return;
  parallel_for(outer * row, kGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t pos = lo; pos < hi;) {
      int64_t o = pos / row, q = pos % row;
      int64_t end = q < a ? a : q < b ? b : row;
      int64_t k = std::min(end - q, hi - pos);
      if (q >= a && q < b) copy_elems(dinp + pos, dout + o * (b - a) + (q - a), k);
      else std::memset(dinp + pos, 0, static_cast<size_t>(k) * sizeof(T));
      pos += k;
    }
  });
}

template <typename T>
void concat_forward(T* out, const T* const* inps, const int64_t* lens, int64_t n, int64_t outer, int64_t inner) {
  std::vector<int64_t> cum(static_cast<size_t>(n) + 1, 0);  // element offsets of each input within an out row
  for (int64_t k = 0; k < n; ++k) cum[k + 1] = cum[k] + lens[k] * inner;
  const int64_t row = cum[n];
  if (outer * row == 0) return;
  parallel_for(outer * row, kGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t pos = lo; pos < hi;) {
      int64_t o = pos / row, q = pos % row;
      int64_t k = std::upper_bound(cum.begin(), cum.end(), q) - cum.begin() - 1;  // cum[k] <= q < cum[k + 1]
      int64_t m = std::min(cum[k + 1] - q, hi - pos);
      copy_elems(out + pos, inps[k] + o * (cum[k + 1] - cum[k]) + (q - cum[k]), m);
      pos += m;
    }
  });
}

namespace {

// Calls f(p, xoff) for every index position p, where xoff is the input offset
// of p without the axis term, in units of positions that differ only along the
// axis (and the last dim): each unit on one thread, in index order.
template <class F>
void gather_walk(const GatherDims& g, F f) {
  const int nd = g.ndim, ax = g.axis, last = nd - 1;
  int64_t ist[kMaxShapeDims], xst[kMaxShapeDims];
  ist[last] = xst[last] = 1;
  for (int d = last - 1; d >= 0; --d) {
    ist[d] = ist[d + 1] * g.ishape[d + 1];
    xst[d] = xst[d + 1] * g.xshape[d + 1];
  }
  const int64_t n = numel(g.ishape, nd);
  if (n == 0) return;
  const int64_t r_n = g.ishape[ax], j_n = ax == last ? 1 : g.ishape[last];
  parallel_for(n / (r_n * j_n), std::max<int64_t>(1, kGrain / (r_n * j_n)), [&](int64_t lo, int64_t hi) {
    for (int64_t u = lo; u < hi; ++u) {
      int64_t ipos = 0, xoff = 0, rest = u;
      for (int d = last; d >= 0; --d) {
        if (d == ax || d == last) continue;
        int64_t at = rest % g.ishape[d];
        rest /= g.ishape[d];
        ipos += at * ist[d];
        xoff += at * xst[d];
      }
      for (int64_t r = 0; r < r_n; ++r)
        for (int64_t j = 0; j < j_n; ++j) f(ipos + r * ist[ax] + j, xoff + j);  // j: along the last dim (stride 1)
    }
  });
}

// Input stride of the axis.
int64_t axis_stride(const GatherDims& g) {
  int64_t s = 1;
  for (int d = g.axis + 1; d < g.ndim; ++d) s *= g.xshape[d];
  return s;
}

}  // namespace

template <typename T>
void gather_forward(T* out, const T* inp, const int32_t* index, const GatherDims& g) {
  const int64_t xs = axis_stride(g);
  gather_walk(g, [&](int64_t p, int64_t xoff) { out[p] = inp[xoff + index[p] * xs]; });
}

void gather_backward(float* dinp, const float* dout, const int32_t* index, const GatherDims& g) {
  const int64_t nx = numel(g.xshape, g.ndim);
  parallel_for(nx, kGrain, [&](int64_t lo, int64_t hi) { std::memset(dinp + lo, 0, static_cast<size_t>(hi - lo) * 4); });
  const int64_t xs = axis_stride(g);
  gather_walk(g, [&](int64_t p, int64_t xoff) { dinp[xoff + index[p] * xs] += dout[p]; });
}

void gather_check(const int32_t* index, int64_t n, int64_t size, int64_t* bad) {
  bad[0] = -1;
  bad[1] = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (index[i] < 0 || index[i] >= size) {
      bad[0] = i;
      bad[1] = index[i];
      return;
    }
  }
}

#define CG_SHAPE_COPIES(T)                                                                                          \
  template void permute_forward<T>(T*, const T*, const Strided&);                                                  \
  template void slice_forward<T>(T*, const T*, int64_t, int64_t, int64_t, int64_t, int64_t);                      \
  template void slice_backward<T>(T*, const T*, int64_t, int64_t, int64_t, int64_t, int64_t);                     \
  template void concat_forward<T>(T*, const T* const*, const int64_t*, int64_t, int64_t, int64_t);                \
  template void gather_forward<T>(T*, const T*, const int32_t*, const GatherDims&);
CG_SHAPE_COPIES(uint32_t)
CG_SHAPE_COPIES(uint16_t)
#undef CG_SHAPE_COPIES

}  // namespace cg::cpu
