// CPU softmax / log-softmax (ops/softmax.h): SIMD body per ISA
// (softmax.inc), rows or column tiles split over the pool.
#include "../ops/softmax.h"

#include <algorithm>

#include "../runtime/thread_pool.h"
#include "simd/simd.h"
#define CG_ISA_BODY "../softmax.inc"
#include "simd/foreach_isa.h"

namespace cg::cpu {

namespace {
constexpr int64_t kGrain = 1 << 14;  // elements per chunk, at least
constexpr int64_t kColTile = 64;     // columns per task when inner > 1

// Unmasked length of row r: C, or with a causal mask of tq query rows per group,
// i + (C - tq) + 1 clamped to [0, C] for query index i = r % tq.
int64_t valid_len(int64_t r, int64_t C, int64_t tq) {
  if (tq <= 0) return C;
  return std::clamp(r % tq + C - tq + 1, int64_t(0), C);
}

// fn(out, x, o, j0, w) over the (outer x column tiles) tasks.
template <typename F>
void for_col_tiles(int64_t outer, int64_t C, int64_t inner, F&& fn) {
  int64_t tiles = (inner + kColTile - 1) / kColTile;
  parallel_for(outer * tiles, std::max<int64_t>(1, kGrain / (C * kColTile)), [&](int64_t lo, int64_t hi) {
    for (int64_t t = lo; t < hi; ++t) {
      int64_t j0 = (t % tiles) * kColTile;
      fn((t / tiles) * C * inner + j0, static_cast<int>(std::min(kColTile, inner - j0)));
    }
  });
}
}  // namespace

void softmax_forward(float* out, const float* inp, int64_t outer, int64_t C, int64_t inner, int64_t tq, bool log) {
  if (outer == 0 || C == 0 || inner == 0) return;
  if (inner == 1) {
    auto fn = CG_SIMD_PICK(softmax_k::softmax_row);
    parallel_for(outer, std::max<int64_t>(1, kGrain / C), [&](int64_t lo, int64_t hi) {
      for (int64_t r = lo; r < hi; ++r) fn(out + r * C, inp + r * C, valid_len(r, C, tq), C, log);
    });
  } else {
    auto fn = CG_SIMD_PICK(softmax_k::softmax_cols);
    for_col_tiles(outer, C, inner, [&](int64_t base, int w) { fn(out + base, inp + base, C, inner, w, log); });
  }
}

void softmax_backward(float* dinp, const float* dout, const float* out, int64_t outer, int64_t C, int64_t inner,
                      int64_t tq, bool log) {
  if (outer == 0 || C == 0 || inner == 0) return;
  if (inner == 1) {
    auto fn = CG_SIMD_PICK(softmax_k::softmax_row_backward);
    parallel_for(outer, std::max<int64_t>(1, kGrain / C), [&](int64_t lo, int64_t hi) {
      for (int64_t r = lo; r < hi; ++r) fn(dinp + r * C, dout + r * C, out + r * C, valid_len(r, C, tq), C, log);
    });
  } else {
    auto fn = CG_SIMD_PICK(softmax_k::softmax_cols_backward);
    for_col_tiles(outer, C, inner,
                  [&](int64_t base, int w) { fn(dinp + base, dout + base, out + base, C, inner, w, log); });
  }
}

}  // namespace cg::cpu
