// CPU GEMM driver (ops/gemm.h): picks the per-ISA body (gemm.inc), splits the
// work over the pool and owns the scratch memory.
//
// Large products (the usual case) share ONE packed copy of op(B) between the
// threads: C is cut into row blocks taken dynamically from an atomic counter
// (a thread the OS delays costs one block, not half the product), and each
// K block of op(B) is packed once, by whichever threads get there first, in
// units claimed with a compare-exchange. A thread first computes against the
// units that are packed (or that it packs itself) and waits only at the end
// for units another thread is still packing; that packer waits on nothing, so
// this never deadlocks, even when one thread runs every chunk. Each thread
// packs the A rows of its own blocks, so nothing is packed twice.
// Batches of many items give each thread whole items; M == 1 / N == 1
// (GEMV), K == 0 and small products use static splits of the output.
#include "../ops/gemm.h"

#include <atomic>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "../runtime/cpu_allocator.h"
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
// The shared packed op(B) (K x N floats) is used up to this size, and kept between calls up to kKeepFloats.
constexpr size_t kSharedMaxFloats = size_t(1) << 25, kKeepFloats = size_t(1) << 24;

struct Buffer {
  float* p = nullptr;
  size_t n = 0;
  ~Buffer() { std::free(p); }
  float* get(size_t floats) {  // 64-byte aligned, grown on demand, contents not kept
    if (n < floats) {
      std::free(p);
      p = nullptr;
      n = 0;
      size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
      p = static_cast<float*>(std::aligned_alloc(64, bytes));
      if (!p) throw_range_error("cudagrad.gemm: out of host memory for ", bytes, " bytes of packing scratch");
      n = floats;
    }
    return p;
  }
};

// A packed op(B) that is not kept here (bigger than kKeepFloats, or the kept one is busy):
// from the host allocator's cache, whose pages stay mapped between calls (a plain
// allocation of this size is unmapped on free and page-faulted in again by the next call:
// 28% of the time of the shakespeare_char MLP's dweight product, 100 MB of packed B).
struct HostBlock {
  void* p = nullptr;
  size_t bytes = 0;
  ~HostBlock() { cpu_alloc::free(p, bytes); }
  float* get(size_t floats) {
    bytes = floats * sizeof(float);
    p = cpu_alloc::alloc(bytes);  // 64-byte aligned; throws RangeError when out of memory
    return static_cast<float*>(p);
  }
};

// This thread's packing scratch (packed A blocks, or a private packed B), kept between calls.
float* scratch(size_t floats) {
  thread_local Buffer buf;
  return buf.get(floats);
}

// The shared packed op(B): one cached buffer; a concurrent call (another host thread) gets its own.
struct SharedPack {
  std::mutex mu;
  Buffer buf;
};
SharedPack& shared_pack() {
  static SharedPack* s = new SharedPack;  // never destroyed (used by pool threads at exit)
  return *s;
}

using PackFn = void (*)(const GemmProblem&, int64_t, int64_t, int, int64_t, int, float*, int64_t);
using RowsFn = void (*)(const GemmProblem&, int64_t, int64_t, int64_t, const float*, int64_t, int64_t, int64_t, float*,
                        unsigned char*, bool (*)(void*, int64_t, int64_t, bool), void*);

// One batch item computed by row-block tasks over a shared packed op(B).
struct SharedJob {
  const GemmProblem* p;
  int64_t b;
  float* bt;
  int64_t n_pad, kstep, unit, n_units;
  std::atomic<int>* flags;  // per (K block, unit): 0 free, 1 being packed, 2 packed
  PackFn pack;
  std::atomic<int64_t> next{0};
  int64_t tasks;
};

inline void cpu_relax() {
#if defined(__x86_64__)
  __builtin_ia32_pause();
#endif
}

// Whether unit u of K block q is packed; packs it when nobody has claimed it. With `wait`,
// returns once the thread packing it has finished (that thread waits on nothing).
bool ready_unit(void* ctx, int64_t q, int64_t u, bool wait) {
  SharedJob& j = *static_cast<SharedJob*>(ctx);
  std::atomic<int>& f = j.flags[q * j.n_units + u];
  int state = f.load(std::memory_order_acquire);
  if (state == 0 && f.compare_exchange_strong(state, 1, std::memory_order_acq_rel)) {
    const int64_t pc = q * j.kstep, j0 = u * j.unit;
    const int kc = static_cast<int>(j.p->K - pc < j.kstep ? j.p->K - pc : j.kstep);
    j.pack(*j.p, j.b, pc, kc, j0, static_cast<int>(j.p->N - j0 < j.unit ? j.p->N - j0 : j.unit), j.bt, j.n_pad);
    f.store(2, std::memory_order_release);
    return true;
  }
  if (state == 2) return true;
  if (!wait) return false;
  // Packing a unit takes microseconds: spin a little (keeping this core), then yield.
  for (int spins = 0; f.load(std::memory_order_acquire) != 2; ++spins) {
    if (spins < 4096) cpu_relax();
    else std::this_thread::yield();
  }
  return true;
}

void run_shared(const GemmProblem& p, int64_t b, const GemmTiling& t, int threads, float* bt) {
  SharedJob j;
  j.p = &p;
  j.b = b;
  j.bt = bt;
  j.n_pad = (p.N + t.nr - 1) / t.nr * t.nr;
  const int64_t kb = (p.K + t.kc - 1) / t.kc;
  j.kstep = ((p.K + kb - 1) / kb + 7) / 8 * 8;  // equal K blocks: a short one would waste a C pass
  const int64_t n_blocks = (p.K + j.kstep - 1) / j.kstep;
  j.unit = 2 * t.nr;  // small: a thread that arrives late still gets a share of the packing
  j.n_units = (p.N + j.unit - 1) / j.unit;
  std::unique_ptr<std::atomic<int>[]> flags(new std::atomic<int>[n_blocks * j.n_units]);
  for (int64_t i = 0; i < n_blocks * j.n_units; ++i) flags[i].store(0, std::memory_order_relaxed);
  j.flags = flags.get();
  j.pack = CG_SIMD_PICK(gemm_pack_b_block);
  // Guided row blocks: each takes 1 / (2 threads) of the rows left (at most MC, at least MR),
  // so the first blocks are big (packed B reused across many micro-rows) and the last ones
  // small (threads finish together; a thread the OS delays costs one small block).
  std::vector<int64_t> starts;
  for (int64_t m = 0; m < p.M;) {
    starts.push_back(m);
    int64_t rows = threads > 1 ? (p.M - m + 2 * threads - 1) / (2 * threads) : t.mc;
    rows = (rows + t.mr - 1) / t.mr * t.mr;
    m += rows < t.mr ? t.mr : rows > t.mc ? t.mc : rows;
  }
  starts.push_back(p.M);
  j.tasks = static_cast<int64_t>(starts.size()) - 1;
  const RowsFn fn = CG_SIMD_PICK(gemm_rows);
  auto work = [&](int64_t, int64_t) {
    float* pa = scratch(static_cast<size_t>(t.mc) * t.kc);
    std::vector<unsigned char> done(static_cast<size_t>(j.n_units));
    for (int64_t task; (task = j.next.fetch_add(1)) < j.tasks;) {
      const int64_t m0 = starts[task], m1 = starts[task + 1] < p.M ? starts[task + 1] : p.M;
      fn(p, b, m0, m1, j.bt, j.n_pad, j.kstep, j.unit, pa, done.data(), ready_unit, &j);
    }
  };
  if (threads > 1) parallel_for(threads, 1, work);
  else work(0, 1);
}

}  // namespace

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc, int64_t batch, int64_t stride_a,
          int64_t stride_b, int64_t stride_c, const Epilogue& ep) {
  if (M <= 0 || N <= 0 || batch <= 0) return;
  const GemmProblem p{trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, stride_a, stride_b, stride_c, ep};
  const GemmTiling t = CG_SIMD_PICK(gemm_tiling)();
  const double flops = 2.0 * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K) * batch;
  const int threads = flops >= kParallelFlops ? num_threads() : 1;

  // Shared packed B: a real GEMM (not GEMV, K > 0) that does not split evenly into whole items.
  const size_t bt_floats = static_cast<size_t>(K) * static_cast<size_t>((N + t.nr - 1) / t.nr * t.nr);
  const bool gemv = M == 1 || N == 1 || K == 0 || alpha == 0.f;
  const bool by_item = threads > 1 && batch > 1 && (batch % threads == 0 || batch >= 4 * threads);
  if (!gemv && !by_item && bt_floats <= kSharedMaxFloats && M > t.mr) {
    SharedPack& sp = shared_pack();
    std::unique_lock<std::mutex> lock(sp.mu, std::try_to_lock);
    HostBlock own;
    float* bt = lock.owns_lock() && bt_floats <= kKeepFloats ? sp.buf.get(bt_floats) : own.get(bt_floats);
    for (int64_t b = 0; b < batch; ++b) run_shared(p, b, t, threads, bt);
    return;
  }

  // Static split: each batch item into `parts` column ranges (multiples of NR) or, when N is
  // too narrow, row ranges (multiples of MR); every task packs what it uses.
  auto range = CG_SIMD_PICK(gemm_range);
  int64_t parts = 1;
  if (threads > 1 && !by_item) parts = (threads + batch - 1) / batch;
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
  if (threads == 1) run(0, tasks);
  else parallel_for(tasks, 1, run);
}

void linear_bias_backward(float* dbias, const float* dout, int64_t M, int64_t N) {
  if (N <= 0) return;
  auto fn = CG_SIMD_PICK(colsum_add);
  const int64_t grain = M * N < (1 << 16) ? N : 256;
  parallel_for(N, grain, [&](int64_t lo, int64_t hi) { fn(dbias, dout, M, N, lo, hi); });
}

}  // namespace cg::cpu
