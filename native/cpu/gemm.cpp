// CPU GEMM driver (ops/gemm.h): splits the (batch, M, N) output into tasks for
// the pool and gives each thread one packing scratch buffer, kept between
// calls; the per-ISA body (gemm.inc) packs and runs the micro-kernel.
#include "../ops/gemm.h"

#include <cstdlib>

#include "../runtime/error.h"
#include "../runtime/thread_pool.h"
#include "simd/simd.h"

namespace cg::cpu {

struct GemmProblem {
  bool trans_a, trans_b;
  int64_t M, N, K;
  float alpha;
  const float* A;
  int64_t lda;
  const float* B;
  int64_t ldb;
  float beta;
  float* C;
  int64_t ldc;
  int64_t stride_a, stride_b, stride_c;
  Epilogue ep;
};

struct GemmTiling {
  int mr, nr, kc, mc, nc;
};

}  // namespace cg::cpu

#define CG_ISA_BODY "../gemm.inc"
#include "simd/foreach_isa.h"

namespace cg::cpu {

namespace {

// Below this many flops a call runs on the calling thread (waking the pool costs more).
constexpr double kParallelFlops = 4.0e6;

// Packing scratch of this thread, grown on demand and kept (64-byte aligned).
float* scratch(size_t floats) {
  struct Buf {
    float* p = nullptr;
    size_t n = 0;
    ~Buf() { std::free(p); }
  };
  thread_local Buf buf;
  if (buf.n < floats) {
    std::free(buf.p);
    buf.p = nullptr;
    buf.n = 0;
    size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
    buf.p = static_cast<float*>(std::aligned_alloc(64, bytes));
    if (!buf.p) throw_range_error("cudagrad.gemm: out of host memory for ", bytes, " bytes of packing scratch");
    buf.n = floats;
  }
  return buf.p;
}

}  // namespace

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc, int64_t batch, int64_t stride_a,
          int64_t stride_b, int64_t stride_c, const Epilogue& ep) {
  if (M <= 0 || N <= 0 || batch <= 0) return;
  const GemmProblem p{trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, stride_a, stride_b, stride_c, ep};
  auto range = CG_SIMD_PICK(gemm_range);
  const GemmTiling t = CG_SIMD_PICK(gemm_tiling)();

  // Tasks: each batch item split into `parts` column ranges (multiples of NR) or, when N
  // is too narrow, row ranges (multiples of MR).
  const int threads = num_threads();
  const double flops = 2.0 * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K) * batch;
  int64_t parts = 1;
  if (threads > 1 && flops >= kParallelFlops && batch % threads != 0 && batch < 4 * threads)
    parts = (threads + batch - 1) / batch;
  const int64_t n_tiles = (N + t.nr - 1) / t.nr, m_tiles = (M + t.mr - 1) / t.mr;
  const bool split_n = n_tiles >= parts * 2 || n_tiles >= m_tiles;
  if (parts > (split_n ? n_tiles : m_tiles)) parts = split_n ? n_tiles : m_tiles;
  const int64_t tasks = batch * parts;
  const int64_t width = split_n ? (n_tiles + parts - 1) / parts * t.nr : n_tiles * t.nr;
  const size_t floats = static_cast<size_t>(t.mc) * t.kc + static_cast<size_t>(t.kc) * (width < t.nc ? width : t.nc);

  auto run = [&](int64_t lo, int64_t hi) {
    float* pa = scratch(floats);
    float* pb = pa + static_cast<size_t>(t.mc) * t.kc;
    for (int64_t task = lo; task < hi; ++task) {
      const int64_t b = task / parts, q = task % parts;
      int64_t m0 = 0, m1 = M, n0 = 0, n1 = N;
      if (split_n) {
        n0 = n_tiles * q / parts * t.nr;
        n1 = q + 1 == parts ? N : n_tiles * (q + 1) / parts * t.nr;
      } else {
        m0 = m_tiles * q / parts * t.mr;
        m1 = q + 1 == parts ? M : m_tiles * (q + 1) / parts * t.mr;
      }
      if (m0 < m1 && n0 < n1) range(p, b, m0, m1, n0, n1, pa, pb);
    }
  };
  if (threads == 1 || flops < kParallelFlops) run(0, tasks);
  else parallel_for(tasks, 1, run);
}

void linear_bias_backward(float* dbias, const float* dout, int64_t M, int64_t N) {
  if (N <= 0) return;
  auto fn = CG_SIMD_PICK(colsum_add);
  const int64_t grain = M * N < (1 << 16) ? N : 256;
  parallel_for(N, grain, [&](int64_t lo, int64_t hi) { fn(dbias, dout, M, N, lo, hi); });
}

}  // namespace cg::cpu
