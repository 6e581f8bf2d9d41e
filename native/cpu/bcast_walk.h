// The CPU's walk over a broadcast output (ops/elementwise.h's Bcast) in rows
// of its innermost dim, shared by the elementwise and comparison kernels.
#pragma once

#include <algorithm>
#include <cstdint>

#include "../ops/elementwise.h"

namespace cg::cpu {

// Calls row(pos, a_off, b_off, len) for the output rows (pieces of the
// innermost dim) covering flat output positions [lo, hi), in order.
template <class Row>
void bcast_walk(const Bcast& bc, int64_t lo, int64_t hi, Row row) {
  const int nd = bc.ndim;
  const int64_t inner = bc.shape[nd - 1], sa = bc.astride[nd - 1], sb = bc.bstride[nd - 1];
  int64_t idx[kMaxBcastDims] = {};
  int64_t rest = lo / inner, j = lo % inner, abase = 0, bbase = 0;
  for (int d = nd - 2; d >= 0; --d) {
    idx[d] = rest % bc.shape[d];
    rest /= bc.shape[d];
    abase += idx[d] * bc.astride[d];
    bbase += idx[d] * bc.bstride[d];
  }
  for (int64_t pos = lo; pos < hi;) {
    int64_t len = std::min(inner - j, hi - pos);
    row(pos, abase + j * sa, bbase + j * sb, len);
    pos += len;
    j = 0;
    for (int d = nd - 2; d >= 0; --d) {  // next row: odometer over the outer dims
      abase += bc.astride[d];
      bbase += bc.bstride[d];
      if (++idx[d] < bc.shape[d]) break;
      abase -= bc.astride[d] * bc.shape[d];
      bbase -= bc.bstride[d] * bc.shape[d];
      idx[d] = 0;
    }
  }
}

}  // namespace cg::cpu
