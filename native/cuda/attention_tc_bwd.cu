// CUDA attention backward on tensor cores ('high' TF32 / 'medium' bf16,
// sm_80+; the scheme is described in attention_tc.cu). Two kernels after the
// Delta pre-pass (attention.cu), each output written once by one block, no
// atomics (deterministic):
// - dk, dv: block = (batch*head, 16 NW keys), warp = 16 keys, owning their
//   dk, dv accumulators in registers; query tiles (Q, dO, lse, Delta) streamed:
//   S^T = K Q^T and dP^T = V dO^T (keys x queries), P = exp2(s2 - lse2),
//   dS = P (dP - Delta); dV += P^T dO, dK += dS^T Q, P and dS used as A
//   fragments straight from their accumulators.
// - dq: block = (batch*head, 16 NW queries), key tiles (K, V) streamed:
//   S = Q K^T, dP = dO V^T, dS as above, dQ += dS K.
// bf16 tensors (In = uint16_t): read straight into the operand tiles, dq, dk,
// dv accumulated in float32 registers over the whole pass and rounded to
// bf16 once, when stored.
#include "../ops/attention.h"
#include "attention_tc.cuh"

namespace cg::cuda::attn {

namespace {

using namespace tc;

// --- kernels

template <int DT, bool BF16, int NW, typename In>
struct DqTc {
  static constexpr int NT = 32 * NW, BR = 16 * NW, BK = DT <= 64 ? 64 : 32;
  using S = Stream<DT, BK, BF16, NT, In>;
  static constexpr size_t TILE = sizeof(typename S::T) * BR * S::LDO;
  static constexpr size_t Q = 0, DO = Q + TILE, STREAM = DO + TILE, MADD = STREAM + S::BYTES,
                          LSE = MADD + sizeof(float) * 2 * BK, DELTA = LSE + sizeof(float) * BR,
                          BYTES = DELTA + sizeof(float) * BR;
};

template <int DT, bool BF16, int NW, typename In>
__global__ void __launch_bounds__(32 * NW) dq_tc(Params p) {
#if CG_HAS_SM80
  using M = Tc<BF16>;
  using L = DqTc<DT, BF16, NW, In>;
  using S = typename L::S;
  constexpr int NT = L::NT, BR = L::BR;
  constexpr int BK = L::BK, LDO = S::LDO;
  CG_DYNAMIC_SMEM(unsigned char, sm);
  auto* Qop = reinterpret_cast<typename M::T*>(sm + L::Q);
  auto* dOop = reinterpret_cast<typename M::T*>(sm + L::DO);
  unsigned char* st = sm + L::STREAM;
  float* madd_all = reinterpret_cast<float*>(sm + L::MADD);
  float* lse2 = reinterpret_cast<float*>(sm + L::LSE);
  float* delta = reinterpret_cast<float*>(sm + L::DELTA);
  const int tid = threadIdx.x, lane = tid & 31, w = tid >> 5, g = lane >> 2, t4 = lane & 3;
  const int ntq = (p.Tq + BR - 1) / BR;
  const int64_t bh = blockIdx.x % p.BH;
  const int i0 = (ntq - 1 - static_cast<int>(blockIdx.x / p.BH)) * BR;
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
  load_op<DT, BF16, BR, NT>(dOop, x.dout + bh * p.Tq * p.D, i0, p.Tq, p.D, p.vec, NoSkip{});
  if (tid < BR) {
    const int row = i0 + tid;
    lse2[tid] = row < p.Tq ? p.lse_in[bh * p.Tq + row] * kLog2e : INFINITY;  // +inf: P = 0
    delta[tid] = row < p.Tq ? p.delta[bh * p.Tq + row] : 0.f;
  }

  float dq[DT / 8][4] = {};
  for (int t = 0; t < nt; ++t) {
    ptx::cp_async_wait<0>();
    S::convert(st, t & 1);
    __syncthreads();
    if (t + 1 < nt) stage(t + 1);
    const typename M::T* Ks = S::op(st, t & 1, 0);
    const typename M::T* Vs = S::op(st, t & 1, 1);
    const float* madd = madd_all + (t & 1) * BK;
    float s[BK / 8][4] = {}, dp[BK / 8][4] = {};
#pragma unroll
    for (int ks = 0; ks < DT / M::KS; ++ks) {
      uint32_t aq[4], ao[4];
      M::load_a(aq, Qop, LDO, 16 * w, ks * M::KS, g, t4);
      M::load_a(ao, dOop, LDO, 16 * w, ks * M::KS, g, t4);
#pragma unroll
      for (int n = 0; n < BK / 8; ++n) {
        uint32_t b[2];
        M::load_b(b, Ks, LDO, 8 * n, ks * M::KS, g, t4);
        M::mma(s[n], aq, b);
        M::load_b(b, Vs, LDO, 8 * n, ks * M::KS, g, t4);
        M::mma(dp[n], ao, b);
      }
    }
    const bool diag = p.causal && t * BK + BK - 1 > i0 + 16 * w + p.off;
#pragma unroll
    for (int n = 0; n < BK / 8; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int r = 16 * w + g + 8 * (e >> 1), key = 8 * n + 2 * t4 + (e & 1);
        const bool cut = diag && t * BK + key > i0 + r + p.off;
        const float pr = exp2f(fmaf(s[n][e], p.scale_log2, madd[key]) - lse2[r]);
        dp[n][e] = cut ? 0.f : pr * (dp[n][e] - delta[r]);  // dS
      }
    acc_cb<DT, BK, BF16>(dq, dp, Ks, lane);
  }
  ptx::cp_async_wait<0>();
  store_acc<DT>(x.dq + bh * p.Tq * p.D, dq, p.scale, i0 + 16 * w, p.Tq, p.D, g, t4);
#endif
}

template <int DT, bool BF16, int NW, typename In>
struct DkdvTc {
  static constexpr int NT = 32 * NW, BR = 16 * NW, BQ = DT <= 64 ? 64 : 32;  // BQ: streamed queries
  using S = Stream<DT, BQ, BF16, NT, In>;
  static constexpr size_t TILE = sizeof(typename S::T) * BR * S::LDO;
  static constexpr size_t K = 0, V = K + TILE, STREAM = V + TILE, MADD = STREAM + S::BYTES,
                          LSE = MADD + sizeof(float) * BR, DELTA = LSE + sizeof(float) * 2 * BQ,
                          BYTES = DELTA + sizeof(float) * 2 * BQ;
};

template <int DT, bool BF16, int NW, typename In>
__global__ void __launch_bounds__(32 * NW) dkdv_tc(Params p) {
#if CG_HAS_SM80
  using M = Tc<BF16>;
  using L = DkdvTc<DT, BF16, NW, In>;
  using S = typename L::S;
  constexpr int NT = L::NT, BR = L::BR;
  constexpr int BQ = L::BQ, LDO = S::LDO;
  CG_DYNAMIC_SMEM(unsigned char, sm);
  auto* Kop = reinterpret_cast<typename M::T*>(sm + L::K);
  auto* Vop = reinterpret_cast<typename M::T*>(sm + L::V);
  unsigned char* st = sm + L::STREAM;
  float* madd = reinterpret_cast<float*>(sm + L::MADD);
  float* lse_all = reinterpret_cast<float*>(sm + L::LSE);
  float* delta_all = reinterpret_cast<float*>(sm + L::DELTA);
  const int tid = threadIdx.x, lane = tid & 31, w = tid >> 5, g = lane >> 2, t4 = lane & 3;
  const int64_t bh = blockIdx.x % p.BH;
  const int j0 = static_cast<int>(blockIdx.x / p.BH) * BR;  // the longest (causal) tiles first
  const MaskRow mrow(p, bh / p.H);
  const Io<In> x = io<In>(p);
  const In* q = x.q + bh * p.Tq * p.D;
  const In* dout = x.dout + bh * p.Tq * p.D;
  auto stage = [&](int t) {
    S::load(st, t & 1, 0, q, t * BQ, p.Tq, p.D, p.vec, NoSkip{});
    S::load(st, t & 1, 1, dout, t * BQ, p.Tq, p.D, p.vec, NoSkip{});
    if (tid < BQ) {
      const int row = t * BQ + tid;
      lse_all[(t & 1) * BQ + tid] = row < p.Tq ? p.lse_in[bh * p.Tq + row] * kLog2e : INFINITY;
      delta_all[(t & 1) * BQ + tid] = row < p.Tq ? p.delta[bh * p.Tq + row] : 0.f;
    }
    ptx::cp_async_commit();
  };
  const int t0 = query_begin(p, j0) / BQ, nt = (p.Tq + BQ - 1) / BQ;
  if (t0 < nt) stage(t0);
  load_op<DT, BF16, BR, NT>(Kop, x.k + bh * p.Tk * p.D, j0, p.Tk, p.D, p.vec, mrow);
  load_op<DT, BF16, BR, NT>(Vop, x.v + bh * p.Tk * p.D, j0, p.Tk, p.D, p.vec, mrow);
  if (tid < BR) madd[tid] = mrow.log2_term(j0 + tid);

  float dk[DT / 8][4] = {}, dv[DT / 8][4] = {};
  for (int t = t0; t < nt; ++t) {
    ptx::cp_async_wait<0>();
    S::convert(st, t & 1);
    __syncthreads();
    if (t + 1 < nt) stage(t + 1);
    const typename M::T* Qs = S::op(st, t & 1, 0);
    const typename M::T* dOs = S::op(st, t & 1, 1);
    const float* lse2 = lse_all + (t & 1) * BQ;
    const float* delta = delta_all + (t & 1) * BQ;
    // Transposed tiles: rows = the warp's 16 keys, columns = BQ queries.
    float s[BQ / 8][4] = {}, dp[BQ / 8][4] = {};
#pragma unroll
    for (int ks = 0; ks < DT / M::KS; ++ks) {
      uint32_t ak[4], av[4];
      M::load_a(ak, Kop, LDO, 16 * w, ks * M::KS, g, t4);
      M::load_a(av, Vop, LDO, 16 * w, ks * M::KS, g, t4);
#pragma unroll
      for (int n = 0; n < BQ / 8; ++n) {
        uint32_t b[2];
        M::load_b(b, Qs, LDO, 8 * n, ks * M::KS, g, t4);
        M::mma(s[n], ak, b);
        M::load_b(b, dOs, LDO, 8 * n, ks * M::KS, g, t4);
        M::mma(dp[n], av, b);
      }
    }
    const bool diag = p.causal && j0 + 16 * w + 15 > t * BQ + p.off;
#pragma unroll
    for (int n = 0; n < BQ / 8; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int r = 16 * w + g + 8 * (e >> 1), c = 8 * n + 2 * t4 + (e & 1);
        const bool cut = diag && j0 + r > t * BQ + c + p.off;
        const float pr = cut ? 0.f : exp2f(fmaf(s[n][e], p.scale_log2, madd[r]) - lse2[c]);
        s[n][e] = pr;
        dp[n][e] = cut ? 0.f : pr * (dp[n][e] - delta[c]);  // dS
      }
    acc_cb<DT, BQ, BF16>(dv, s, dOs, lane);
    acc_cb<DT, BQ, BF16>(dk, dp, Qs, lane);
  }
  ptx::cp_async_wait<0>();
  store_acc<DT>(x.dk + bh * p.Tk * p.D, dk, p.scale, j0 + 16 * w, p.Tk, p.D, g, t4);
  store_acc<DT>(x.dv + bh * p.Tk * p.D, dv, 1.f, j0 + 16 * w, p.Tk, p.D, g, t4);
#endif
}

// --- launchers

template <int DT, bool BF16, typename In>
bool backward_t(const Params& p, const Device& dev) {
  constexpr int NW = warps_for<DT>(), BR = 16 * NW;
  constexpr size_t b1 = DkdvTc<DT, BF16, NW, In>::BYTES, b2 = DqTc<DT, BF16, NW, In>::BYTES;
  if (b1 > dev.smem_optin || b2 > dev.smem_optin) return false;
  allow_smem(reinterpret_cast<const void*>(&dkdv_tc<DT, BF16, NW, In>), b1, dev.index);
  allow_smem(reinterpret_cast<const void*>(&dq_tc<DT, BF16, NW, In>), b2, dev.index);
  if (p.Tk > 0) {
    LAUNCH((dkdv_tc<DT, BF16, NW, In>), static_cast<unsigned>(p.BH * ((p.Tk + BR - 1) / BR)), 32 * NW, b1,
           stream())(p);
    gpu::check_last_launch("attention backward (dk, dv)");
  }
  if (p.Tq > 0) {
    LAUNCH((dq_tc<DT, BF16, NW, In>), static_cast<unsigned>(p.BH * ((p.Tq + BR - 1) / BR)), 32 * NW, b2,
           stream())(p);
    gpu::check_last_launch("attention backward (dq)");
  }
  return true;
}

template <bool BF16, typename In>
bool backward_b(const Params& p, const Device& dev) {
  switch (head_tile(p.D)) {
    case 32: return backward_t<32, BF16, In>(p, dev);
    case 64: return backward_t<64, BF16, In>(p, dev);
    case 96: return backward_t<96, BF16, In>(p, dev);
    case 128: return backward_t<128, BF16, In>(p, dev);
    default: return false;
  }
}

}  // namespace

bool tc_backward(const Params& p, const Device& dev, bool bf16) {
  if (p.bf16_io) return backward_b<true, uint16_t>(p, dev);
  return bf16 ? backward_b<true, float>(p, dev) : backward_b<false, float>(p, dev);
}

}  // namespace cg::cuda::attn
