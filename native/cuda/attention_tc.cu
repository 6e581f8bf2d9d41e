// CUDA attention on tensor cores ('high': TF32 m16n8k8, 'medium': bf16
// m16n8k16, float32 accumulation; sm_80+), FlashAttention-2 style with
// mma.sync through ptx.cuh (see attention.cuh for the shared conventions).
// Blocks of 8 warps (head sizes up to 64; 4 above); each warp owns 16
// resident rows (queries in the forward and dq kernels, keys in the dk/dv
// kernel), so row statistics need only the 4 lanes of a quad. Per streamed tile of K, V (or Q, dO):
//   scores   S = A B^T: A fragments from the resident tile, B from the
//            streamed tile, both row-major along D in shared memory;
//   softmax  in float32 on the accumulator fragments (exp2, log2 units);
//   products P V, dS K, P^T dO, dS^T Q take their A operand straight from the
//            score accumulators (the C layout of one product is the A layout
//            of the next: bf16 pairs as FlashAttention 2; TF32 by a key
//            permutation, slot t <-> key 2t, slot t + 4 <-> key 2t + 1, which
//            the B operand follows) and their B operand from row-major tiles
//            (bf16: ldmatrix.trans; TF32: scalar loads, conflict-free).
// Streamed float32 tiles arrive by cp.async; the thread that copied a chunk
// converts it (bf16: into a second, double-buffered tile; TF32: in place, the
// fp32 tile itself double-buffered), so each tile costs one barrier.
// dq is a separate pass over query tiles (no atomics: deterministic).
// bf16 tensors (In = uint16_t; bf16 mma only) are read by cp.async straight
// into the operand tiles (no staging, no conversion) and the results are
// written as bf16, rounded once from the float32 accumulators.
// This file: the forward kernel; attention_tc_bwd.cu: dk/dv and dq; shared
// pieces in attention_tc.cuh.
#include "../ops/attention.h"
#include "attention_tc.cuh"

namespace cg::cuda::attn {

namespace {

using namespace tc;

// --- kernels

template <int DT, bool BF16, int NW, typename In>
struct FwdTc {
  static constexpr int NT = 32 * NW, BR = 16 * NW, BK = DT <= 64 ? 64 : 32;
  using S = Stream<DT, BK, BF16, NT, In>;
  static constexpr size_t Q = 0, STREAM = Q + sizeof(typename S::T) * BR * S::LDO, MADD = STREAM + S::BYTES,
                          BYTES = MADD + sizeof(float) * 2 * BK;
};

template <int DT, bool BF16, int NW, typename In>
__global__ void __launch_bounds__(32 * NW) fwd_tc(Params p) {
#if CG_HAS_SM80
  using M = Tc<BF16>;
  using L = FwdTc<DT, BF16, NW, In>;
  using S = typename L::S;
  constexpr int NT = L::NT, BR = L::BR;
  constexpr int BK = L::BK, LDO = S::LDO;
  CG_DYNAMIC_SMEM(unsigned char, sm);
  auto* Qop = reinterpret_cast<typename M::T*>(sm + L::Q);
  unsigned char* st = sm + L::STREAM;
  float* madd_all = reinterpret_cast<float*>(sm + L::MADD);
  const int tid = threadIdx.x, lane = tid & 31, w = tid >> 5, g = lane >> 2, t4 = lane & 3;
  const int ntq = (p.Tq + BR - 1) / BR;
  const int64_t bh = blockIdx.x % p.BH;
  const int i0 = (ntq - 1 - static_cast<int>(blockIdx.x / p.BH)) * BR;  // the longest (causal) tiles first
  const MaskRow mrow(p, bh / p.H);
  const int nt = (key_end(p, i0, min(BR, p.Tq - i0)) + BK - 1) / BK;
  const Io<In> x = io<In>(p);
  const In* k = x.k + bh * p.Tk * p.D;
  const In* v = x.v + bh * p.Tk * p.D;
  auto stage = [&](int t) {
    S::load(st, t & 1, 0, k, t * BK, p.Tk, p.D, p.vec, mrow);
    S::load(st, t & 1, 1, v, t * BK, p.Tk, p.D, p.vec, mrow);
    if (tid < BK) madd_all[(t & 1) * BK + tid] = mrow.log2_term(t * BK + tid);
    ptx::cp_async_commit();
  };
  if (nt > 0) stage(0);
  load_op<DT, BF16, BR, NT>(Qop, x.q + bh * p.Tq * p.D, i0, p.Tq, p.D, p.vec, NoSkip{});
  __syncthreads();
  uint32_t qa[DT / M::KS][4];
#pragma unroll
  for (int ks = 0; ks < DT / M::KS; ++ks) M::load_a(qa[ks], Qop, LDO, 16 * w, ks * M::KS, g, t4);

  float o[DT / 8][4] = {}, m[2] = {neg_inf(), neg_inf()}, l[2] = {0.f, 0.f};
  for (int t = 0; t < nt; ++t) {
    ptx::cp_async_wait<0>();
    S::convert(st, t & 1);
    __syncthreads();  // tile t complete; everyone is done with tile t - 1
    if (t + 1 < nt) stage(t + 1);
    const typename M::T* Ks = S::op(st, t & 1, 0);
    const typename M::T* Vs = S::op(st, t & 1, 1);
    const float* madd = madd_all + (t & 1) * BK;
    float s[BK / 8][4] = {};
#pragma unroll
    for (int ks = 0; ks < DT / M::KS; ++ks)
#pragma unroll
      for (int n = 0; n < BK / 8; ++n) {
        uint32_t b[2];
        M::load_b(b, Ks, LDO, 8 * n, ks * M::KS, g, t4);
        M::mma(s[n], qa[ks], b);
      }
    // Online softmax on rows g (h = 0) and g + 8 (h = 1): accumulator elements 2h, 2h + 1.
    // diag: the causal diagonal cuts this warp's part of the tile.
    const bool diag = p.causal && t * BK + BK - 1 > i0 + 16 * w + p.off;
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int row = i0 + 16 * w + g + 8 * h;
      float mx = neg_inf();
      int nan = 0;
#pragma unroll
      for (int n = 0; n < BK / 8; ++n)
#pragma unroll
        for (int c = 0; c < 2; ++c) {
          const int key = 8 * n + 2 * t4 + c;
          float x = fmaf(s[n][2 * h + c], p.scale_log2, madd[key]);
          if (diag && t * BK + key > row + p.off) x = neg_inf();
          s[n][2 * h + c] = x;
          mx = fmaxf(mx, x);
          nan |= x != x;
        }
      mx = quad_max(mx);
      nan = quad_any(nan);
      const float mnew = nan || m[h] != m[h] ? __int_as_float(0x7fc00000) : fmaxf(m[h], mx);
      const bool none = mnew == neg_inf();
      float sum = 0.f;
#pragma unroll
      for (int n = 0; n < BK / 8; ++n)
#pragma unroll
        for (int c = 0; c < 2; ++c) {
          const float pr = none ? 0.f : exp2f(s[n][2 * h + c] - mnew);
          s[n][2 * h + c] = pr;
          sum += pr;
        }
      sum = quad_sum(sum);
      const float alpha = none ? 1.f : exp2f(m[h] - mnew);
      l[h] = l[h] * alpha + sum;
      m[h] = mnew;
#pragma unroll
      for (int n = 0; n < DT / 8; ++n) o[n][2 * h] *= alpha, o[n][2 * h + 1] *= alpha;
    }
    acc_cb<DT, BK, BF16>(o, s, Vs, lane);
  }
  ptx::cp_async_wait<0>();

#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const bool any = l[h] != 0.f;  // > 0, or NaN from NaN inputs; 0: no key at all -> zeros, lse = +inf
    const int row = i0 + 16 * w + g + 8 * h;
    if (t4 == 0 && row < p.Tq) p.lse[bh * p.Tq + row] = any ? (m[h] + log2f(l[h])) * kLn2 : INFINITY;
    l[h] = any ? 1.f / l[h] : 0.f;
  }
#pragma unroll
  for (int n = 0; n < DT / 8; ++n) o[n][0] *= l[0], o[n][1] *= l[0], o[n][2] *= l[1], o[n][3] *= l[1];
  store_acc<DT>(x.out + bh * p.Tq * p.D, o, 1.f, i0 + 16 * w, p.Tq, p.D, g, t4);
#endif
}

// --- launchers

template <int DT, bool BF16, typename In>
bool forward_t(const Params& p, const Device& dev) {
  constexpr int NW = warps_for<DT>(), BR = 16 * NW;
  constexpr size_t bytes = FwdTc<DT, BF16, NW, In>::BYTES;
  if (bytes > dev.smem_optin) return false;
  allow_smem(reinterpret_cast<const void*>(&fwd_tc<DT, BF16, NW, In>), bytes, dev.index);
  LAUNCH((fwd_tc<DT, BF16, NW, In>), static_cast<unsigned>(p.BH * ((p.Tq + BR - 1) / BR)), 32 * NW, bytes,
         stream())(p);
  gpu::check_last_launch("attention forward");
  return true;
}

template <bool BF16, typename In>
bool forward_b(const Params& p, const Device& dev) {
  switch (head_tile(p.D)) {
    case 32: return forward_t<32, BF16, In>(p, dev);
    case 64: return forward_t<64, BF16, In>(p, dev);
    case 96: return forward_t<96, BF16, In>(p, dev);
    case 128: return forward_t<128, BF16, In>(p, dev);
    default: return false;
  }
}

}  // namespace

bool tc_forward(const Params& p, const Device& dev, bool bf16) {
  if (p.bf16_io) return forward_b<true, uint16_t>(p, dev);
  return bf16 ? forward_b<true, float>(p, dev) : forward_b<false, float>(p, dev);
}

}  // namespace cg::cuda::attn
