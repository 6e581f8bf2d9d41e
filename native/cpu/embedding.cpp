// CPU embedding (ops/embedding.h): SIMD body per ISA (embedding.inc). The
// lookup splits rows over the pool. The scatter-add gives each task the
// columns [c0, c1) of every row when C is wide enough to keep every thread
// busy, else a range of dweight rows (each task then scans all indices);
// either way every dweight element has one owner and sums in token order.
#include "../ops/embedding.h"

#include <algorithm>

#include "../runtime/thread_pool.h"
#include "simd/simd.h"
#define CG_ISA_BODY "../embedding.inc"
#include "simd/foreach_isa.h"

namespace cg::cpu {

namespace {
constexpr int64_t kGrain = 1 << 14;   // elements per chunk, at least
constexpr int64_t kColBlock = 64;     // columns per task in column mode (a multiple of every W)
}  // namespace

void embedding_forward(float* out, const int32_t* idx, const float* weight, int64_t N, int64_t V, int64_t C) {
  (void)V;
  if (N == 0 || C == 0) return;
  auto fn = CG_SIMD_PICK(embedding_k::gather_rows);
  parallel_for(N, std::max<int64_t>(1, kGrain / C), [&](int64_t lo, int64_t hi) {
    fn(out + lo * C, idx + lo, weight, hi - lo, C);
  });
}

void embedding_backward(float* dweight, const float* dout, const int32_t* idx, int64_t N, int64_t V, int64_t C) {
  if (N == 0 || C == 0 || V == 0) return;
  int64_t blocks = (C + kColBlock - 1) / kColBlock;
  int64_t threads = num_threads();
  if (blocks >= threads || N * C < kGrain) {
    auto fn = CG_SIMD_PICK(embedding_k::scatter_cols);
    parallel_for(blocks, std::max<int64_t>(1, kGrain / (N * kColBlock)), [&](int64_t lo, int64_t hi) {
      int64_t c0 = lo * kColBlock, c1 = std::min(C, hi * kColBlock);
      fn(dweight, dout, idx, N, C, c0, c1 - c0);
    });
  } else {
    auto fn = CG_SIMD_PICK(embedding_k::scatter_rows);
    parallel_for(V, 1, [&](int64_t v0, int64_t v1) { fn(dweight, dout, idx, N, C, v0, v1); });
  }
}

}  // namespace cg::cpu
