// CPU reductions (ops/reduce.h). Work is cut into fixed blocks that depend on
// the shape only (never on the thread count), each block reduced by the
// per-ISA kernel, and the blocks' partial results combined in a fixed order:
// results are bitwise identical for any number of threads.
//   inner == 1: rows of len; a row longer than kBlock is cut into kBlock pieces.
//   inner > 1:  tiles of up to kTile columns x blocks of rows (kBlock elements).
#include "../ops/reduce.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "../runtime/thread_pool.h"
#include "simd/simd.h"
#define CG_ISA_BODY "../reduce.inc"
#include "simd/foreach_isa.h"

namespace cg::cpu {

namespace {

constexpr int64_t kBlock = 1 << 15;  // elements per task
constexpr int64_t kTile = 256;       // columns per task when inner > 1
constexpr int64_t kScratch = 64 * kTile;

float pairwise(const float* v, int64_t n, int64_t stride) {
  if (n == 1) return v[0];
  int64_t h = n / 2;
  return pairwise(v, h, stride) + pairwise(v + h * stride, n - h, stride);
}

float max_nan(float a, float b) { return (a != a || b != b) ? __builtin_nanf("") : (b > a ? b : a); }

// The (index, value) pair that wins: NaN first, then the larger, ties to the earlier.
bool beats(float x, float best) { return best == best && (x != x || x > best); }

struct Blocks {
  int64_t tw, ntiles, rb, nrb;  // tile width, tiles, rows per block, row blocks
};

Blocks blocks(int64_t len, int64_t inner) {
  Blocks b;
  b.tw = std::min(inner, kTile);
  b.ntiles = (inner + b.tw - 1) / b.tw;
  b.rb = std::max<int64_t>(32, kBlock / b.tw);
  b.nrb = (len + b.rb - 1) / b.rb;
  return b;
}

// inner == 1: out[o] = reduce of row o (sum/max; mean scaled by the caller).
void reduce_rows(float* out, const float* inp, int64_t outer, int64_t len, Reduce op) {
  auto sum = CG_SIMD_PICK(red::sum_contig);
  auto mx = CG_SIMD_PICK(red::max_contig);
  const bool is_max = op == Reduce::Max;
  const int64_t nb = (len + kBlock - 1) / kBlock;
  if (nb <= 1) {
    parallel_for(outer, std::max<int64_t>(1, kBlock / std::max<int64_t>(len, 1)), [&](int64_t lo, int64_t hi) {
      for (int64_t o = lo; o < hi; ++o) out[o] = is_max ? mx(inp + o * len, len) : sum(inp + o * len, len);
    });
    return;
  }
  std::vector<float> part(static_cast<size_t>(outer * nb));
  parallel_for(outer * nb, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t t = lo; t < hi; ++t) {
      const float* p = inp + (t / nb) * len + (t % nb) * kBlock;
      int64_t n = std::min(kBlock, len - (t % nb) * kBlock);
      part[t] = is_max ? mx(p, n) : sum(p, n);
    }
  });
  for (int64_t o = 0; o < outer; ++o) {
    const float* q = part.data() + o * nb;
    if (!is_max) {
      out[o] = pairwise(q, nb, 1);
    } else {
      float m = q[0];
      for (int64_t k = 1; k < nb; ++k) m = max_nan(m, q[k]);
      out[o] = m;
    }
  }
}

// inner > 1: tasks (o, row block k, tile t) write w columns of dst (outer, nrb, inner).
void reduce_cols(float* out, const float* inp, int64_t outer, int64_t len, int64_t inner, Reduce op) {
  auto sum = CG_SIMD_PICK(red::sum_rows);
  auto mx = CG_SIMD_PICK(red::max_rows);
  const bool is_max = op == Reduce::Max;
  const Blocks b = blocks(len, inner);
  std::vector<float> part(b.nrb > 1 ? static_cast<size_t>(outer * b.nrb * inner) : 0);
  float* dst = b.nrb > 1 ? part.data() : out;
  parallel_for(outer * b.nrb * b.ntiles, 1, [&](int64_t lo, int64_t hi) {
    std::vector<float> scratch(is_max ? 0 : kScratch);
    for (int64_t task = lo; task < hi; ++task) {
      int64_t t = task % b.ntiles, k = (task / b.ntiles) % b.nrb, o = task / (b.ntiles * b.nrb);
      int64_t c0 = t * b.tw, w = std::min(b.tw, inner - c0), r0 = k * b.rb, rows = std::min(b.rb, len - r0);
      const float* p = inp + (o * len + r0) * inner + c0;
      float* acc = dst + (o * b.nrb + k) * inner + c0;
      if (is_max) mx(acc, p, rows, inner, w);
      else sum(acc, p, rows, inner, w, scratch.data());
    }
  });
  if (b.nrb == 1) return;
  parallel_for(outer * inner, 1024, [&](int64_t lo, int64_t hi) {
    for (int64_t j = lo; j < hi; ++j) {
      int64_t o = j / inner, c = j % inner;
      const float* q = part.data() + o * b.nrb * inner + c;
      if (!is_max) {
        out[j] = pairwise(q, b.nrb, inner);
      } else {
        float m = q[0];
        for (int64_t k = 1; k < b.nrb; ++k) m = max_nan(m, q[k * inner]);
        out[j] = m;
      }
    }
  });
}

}  // namespace

void reduce_forward(float* out, const float* inp, int64_t outer, int64_t len, int64_t inner, Reduce op) {
  if (outer * inner == 0) return;
  if (len == 0) {
    std::fill(out, out + outer * inner, op == Reduce::Mean ? std::nanf("") : 0.f);
    return;
  }
  if (inner == 1) reduce_rows(out, inp, outer, len, op);
  else reduce_cols(out, inp, outer, len, inner, op);
  if (op == Reduce::Mean) {
    const float d = static_cast<float>(len);
    parallel_for(outer * inner, 1 << 14, [&](int64_t lo, int64_t hi) {
      for (int64_t j = lo; j < hi; ++j) out[j] /= d;
    });
  }
}

void argmax_forward(int32_t* out, const float* inp, int64_t outer, int64_t len, int64_t inner) {
  if (outer * inner == 0 || len == 0) return;
  const Blocks b = blocks(len, inner);
  const int64_t rb = inner == 1 ? kBlock : b.rb, nrb = (len + rb - 1) / rb;
  const int64_t tw = inner == 1 ? 1 : b.tw, ntiles = inner == 1 ? 1 : b.ntiles;
  std::vector<float> pv(static_cast<size_t>(outer * nrb * inner));
  std::vector<int32_t> pi(pv.size());
  auto am = CG_SIMD_PICK(red::argmax_contig);
  auto amr = CG_SIMD_PICK(red::argmax_rows);
  parallel_for(outer * nrb * ntiles, 1, [&](int64_t lo, int64_t hi) {
    std::vector<float> fidx(inner == 1 ? 0 : static_cast<size_t>(kTile));
    for (int64_t task = lo; task < hi; ++task) {
      int64_t t = task % ntiles, k = (task / ntiles) % nrb, o = task / (ntiles * nrb);
      int64_t c0 = t * tw, w = std::min(tw, inner - c0), r0 = k * rb, rows = std::min(rb, len - r0);
      const float* slab = inp + o * len * inner;
      size_t at = static_cast<size_t>((o * nrb + k) * inner + c0);
      if (inner == 1) {
        int64_t i = r0 + am(slab + r0, rows);
        pv[at] = slab[i];
        pi[at] = static_cast<int32_t>(i);
      } else {
        amr(pv.data() + at, fidx.data(), slab + r0 * inner + c0, rows, inner, w);
        for (int64_t c = 0; c < w; ++c) pi[at + c] = static_cast<int32_t>(r0 + static_cast<int64_t>(fidx[c]));
      }
    }
  });
  // Row blocks in index order: a later block wins only if it beats the earlier.
  parallel_for(outer * inner, 1024, [&](int64_t lo, int64_t hi) {
    for (int64_t j = lo; j < hi; ++j) {
      int64_t o = j / inner, c = j % inner;
      size_t at = static_cast<size_t>(o * nrb * inner + c);
      float best = pv[at];
      int32_t bi = pi[at];
      for (int64_t k = 1; k < nrb; ++k) {
        size_t q = at + static_cast<size_t>(k * inner);
        if (beats(pv[q], best)) {
          best = pv[q];
          bi = pi[q];
        }
      }
      out[j] = bi;
    }
  });
}

void reduce_backward(float* dinp, const float* dout, int64_t outer, int64_t len, int64_t inner, Reduce op) {
  const float d = op == Reduce::Mean ? static_cast<float>(len) : 1.f;
  auto fill = CG_SIMD_PICK(red::fill);
  auto copy = CG_SIMD_PICK(red::copy_div);
  if (inner == 1) {
    parallel_for(outer, std::max<int64_t>(1, kBlock / std::max<int64_t>(len, 1)), [&](int64_t lo, int64_t hi) {
      for (int64_t o = lo; o < hi; ++o) fill(dinp + o * len, len, dout[o] / d);
    });
  } else {
    parallel_for(outer * len, std::max<int64_t>(1, kBlock / inner), [&](int64_t lo, int64_t hi) {
      for (int64_t row = lo; row < hi; ++row) copy(dinp + row * inner, dout + (row / len) * inner, inner, d);
    });
  }
}

void max_backward(float* dinp, const float* dout, const int32_t* idx, int64_t outer, int64_t len, int64_t inner) {
  parallel_for(outer * len * inner, kBlock, [&](int64_t lo, int64_t hi) {
    std::memset(dinp + lo, 0, static_cast<size_t>(hi - lo) * sizeof(float));
  });
  parallel_for(outer * inner, kBlock, [&](int64_t lo, int64_t hi) {
    for (int64_t j = lo; j < hi; ++j) {
      int64_t o = j / inner, c = j % inner;
      dinp[(o * len + idx[j]) * inner + c] = dout[j];
    }
  });
}

}  // namespace cg::cpu
