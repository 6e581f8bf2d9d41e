// CUDA attention at 'highest' matmul precision: float32 SIMT kernels (see
// attention.cuh for the shared conventions). 256 threads as 16 x 16 (tx, ty);
// a thread owns rows ty + 16i and columns tx + 16j of each score tile, and
// float2 column pairs 2tx + 32g of each (rows x DT) accumulator. Every
// operand sits in shared memory row-major along the reduction dimension, so
// the score products read float4s (conflict-free with rows of DT + 4) and the
// value products read float4 probabilities and float2 value rows.
// - forward:  block = (batch*head, 64 queries); 32-key tiles streamed through
//             a double buffer (cp.async on sm_80+), online softmax in float32;
//             P goes through shared memory to the P V product.
// - dk, dv:   block = (batch*head, 64 keys) owning its dk, dv rows; 32-query
//             tiles streamed: P = exp2(s2 - lse2), dS = P (dP - Delta),
//             dV += P^T dO, dK += dS^T Q.
// - dq:       block = (batch*head, 64 queries), key tiles streamed as the
//             forward: dQ += dS K. No atomics anywhere: deterministic.
#include "../ops/attention.h"
#include "attention.cuh"

namespace cg::cuda::attn {

namespace {

constexpr int NT = 256;
constexpr int BQ = 64;        // resident rows: queries (forward, dq) or keys (dk, dv)
constexpr int BS = 32;        // streamed tile rows: keys (forward, dq) or queries (dk, dv)
constexpr int LDP = BS + 16;  // rows of the P / dS tiles (conflict-free stores)

// Shared memory layouts, in floats (every region a multiple of 4 floats).
template <int DT>
struct FwdSmem {
  static constexpr int LD = DT + 4;
  static constexpr int Q = 0, KV = Q + BQ * LD, P = KV + 4 * BS * LD, MADD = P + BQ * LDP, END = MADD + 2 * BS;
  static constexpr size_t BYTES = sizeof(float) * END;
};
template <int DT>
struct DqSmem {
  static constexpr int LD = DT + 4;
  static constexpr int Q = 0, DO = Q + BQ * LD, KV = DO + BQ * LD, DS = KV + 4 * BS * LD, MADD = DS + BQ * LDP,
                       LSE = MADD + 2 * BS, DELTA = LSE + BQ, END = DELTA + BQ;
  static constexpr size_t BYTES = sizeof(float) * END;
};
template <int DT>
struct DkdvSmem {
  static constexpr int LD = DT + 4;
  static constexpr int K = 0, V = K + BQ * LD, QD = V + BQ * LD, PT = QD + 4 * BS * LD, DST = PT + BQ * LDP,
                       MADD = DST + BQ * LDP, LSE = MADD + BQ, DELTA = LSE + 2 * BS, END = DELTA + 2 * BS;
  static constexpr size_t BYTES = sizeof(float) * END;
};

// Row reductions over the 16 threads (tx) sharing a row: lanes 0-15 and 16-31.
__device__ __forceinline__ float row_max(float x) {
  for (int w = 1; w < 16; w <<= 1) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, w));
  return x;
}
__device__ __forceinline__ float row_sum(float x) {
  for (int w = 1; w < 16; w <<= 1) x += __shfl_xor_sync(0xffffffffu, x, w);
  return x;
}
__device__ __forceinline__ int row_any(int x) {
  for (int w = 1; w < 16; w <<= 1) x |= __shfl_xor_sync(0xffffffffu, x, w);
  return x;
}

// acc[i][2g + c] += sum_r A[ty + 16i][r] * B[r][2tx + 32g + c] over r < BS:
// A (rows x LDP) from shared memory (a probability or dS tile), B (BS x LD).
template <int DT, int LD>
__device__ __forceinline__ void acc_ab(float (&acc)[4][DT / 16], const float* A, const float* B, int tx, int ty) {
  constexpr int G = DT / 32;
#pragma unroll 2
  for (int r = 0; r < BS; r += 4) {
    float4 a[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) a[i] = *reinterpret_cast<const float4*>(A + (ty + 16 * i) * LDP + r);
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      float2 b[G];
#pragma unroll
      for (int g = 0; g < G; ++g) b[g] = *reinterpret_cast<const float2*>(B + (r + e) * LD + 2 * tx + 32 * g);
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const float x = comp(a[i], e);
#pragma unroll
        for (int g = 0; g < G; ++g) {
          acc[i][2 * g] = fmaf(x, b[g].x, acc[i][2 * g]);
          acc[i][2 * g + 1] = fmaf(x, b[g].y, acc[i][2 * g + 1]);
        }
      }
    }
  }
}

// Writes rows r0 + ty + 16i (< nrows) of a (nrows x D) matrix from acc * f.
template <int DT>
__device__ __forceinline__ void store_rows(float* dst, const float (&acc)[4][DT / 16], float f, int r0, int nrows, int D,
                                           int tx, int ty) {
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int row = r0 + ty + 16 * i;
    if (row >= nrows) continue;
    float* d = dst + static_cast<int64_t>(row) * D;
#pragma unroll
    for (int c = 0; c < DT / 16; ++c) {
      const int col = 2 * tx + 32 * (c / 2) + (c & 1);
      if (col < D) d[col] = acc[i][c] * f;
    }
  }
}

// --- kernels

template <int DT>
__global__ void __launch_bounds__(NT) fwd_simt(Params p) {
  using L = FwdSmem<DT>;
  constexpr int LD = L::LD;
  CG_DYNAMIC_SMEM(float, sm);
  const int tid = threadIdx.x, tx = tid & 15, ty = tid >> 4;
  const int ntq = (p.Tq + BQ - 1) / BQ;
  const int64_t bh = blockIdx.x % p.BH;
  const int i0 = (ntq - 1 - static_cast<int>(blockIdx.x / p.BH)) * BQ;  // the longest (causal) tiles first
  const MaskRow mrow(p, bh / p.H);
  const int nq = min(BQ, p.Tq - i0);
  const int nt = (key_end(p, i0, nq) + BS - 1) / BS;
  const float* k = p.k + bh * p.Tk * p.D;
  const float* v = p.v + bh * p.Tk * p.D;
  float* Qs = sm + L::Q;
  float* Ps = sm + L::P;
  auto stage_kv = [&](int t) {
    float* kv = sm + L::KV + (t & 1) * 2 * BS * LD;
    stage_rows<BS, DT, NT>(kv, k, t * BS, p.Tk, p.D, p.vec, mrow);
    stage_rows<BS, DT, NT>(kv + BS * LD, v, t * BS, p.Tk, p.D, p.vec, mrow);
    if (tid < BS) sm[L::MADD + (t & 1) * BS + tid] = mrow.log2_term(t * BS + tid);
    ptx::cp_async_commit();
  };
  stage_rows<BQ, DT, NT>(Qs, p.q + bh * p.Tq * p.D, i0, p.Tq, p.D, p.vec, NoSkip{});
  if (nt > 0) stage_kv(0);
  else ptx::cp_async_commit();

  float o[4][DT / 16], m[4], l[4];
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    m[i] = neg_inf();
    l[i] = 0.f;
#pragma unroll
    for (int c = 0; c < DT / 16; ++c) o[i][c] = 0.f;
  }
  for (int t = 0; t < nt; ++t) {
    ptx::cp_async_wait<0>();
    __syncthreads();  // tile t landed; everyone is done with tile t - 1 and its buffers
    if (t + 1 < nt) stage_kv(t + 1);
    const float* Ks = sm + L::KV + (t & 1) * 2 * BS * LD;
    const float* Vs = Ks + BS * LD;
    const float* madd = sm + L::MADD + (t & 1) * BS;
    float s[4][2] = {};
#pragma unroll 4
    for (int d = 0; d < DT; d += 4) {
      float4 a[4], b[2];
#pragma unroll
      for (int i = 0; i < 4; ++i) a[i] = *reinterpret_cast<const float4*>(Qs + (ty + 16 * i) * LD + d);
#pragma unroll
      for (int j = 0; j < 2; ++j) b[j] = *reinterpret_cast<const float4*>(Ks + (tx + 16 * j) * LD + d);
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j) s[i][j] = dot4(s[i][j], a[i], b[j]);
    }
    // Online softmax, one row at a time (16 threads per row).
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int row = i0 + ty + 16 * i;
      float mx = neg_inf();
      int nan = 0;
#pragma unroll
      for (int j = 0; j < 2; ++j) {
        const int c = tx + 16 * j;
        float x = fmaf(s[i][j], p.scale_log2, madd[c]);
        if (p.causal && t * BS + c > row + p.off) x = neg_inf();
        s[i][j] = x;
        mx = fmaxf(mx, x);
        nan |= x != x;
      }
      mx = row_max(mx);
      nan = row_any(nan);
      // A NaN score (or an earlier one) makes the row NaN, as the unfused softmax; fmaxf alone would drop it.
      const float mnew = nan || m[i] != m[i] ? __int_as_float(0x7fc00000) : fmaxf(m[i], mx);
      const bool none = mnew == neg_inf();  // no key so far: P = 0, nothing to rescale
      float sum = 0.f;
#pragma unroll
      for (int j = 0; j < 2; ++j) {
        const float pj = none ? 0.f : exp2f(s[i][j] - mnew);
        Ps[(ty + 16 * i) * LDP + tx + 16 * j] = pj;
        sum += pj;
      }
      sum = row_sum(sum);
      const float alpha = none ? 1.f : exp2f(m[i] - mnew);  // 0 when m was -inf
      l[i] = l[i] * alpha + sum;
      m[i] = mnew;
#pragma unroll
      for (int c = 0; c < DT / 16; ++c) o[i][c] *= alpha;
    }
    __syncwarp();  // P rows are read by the warp that wrote them
    acc_ab<DT, LD>(o, Ps, Vs, tx, ty);
  }
  ptx::cp_async_wait<0>();

#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int row = i0 + ty + 16 * i;
    if (row >= p.Tq) continue;
    const bool any = l[i] != 0.f;  // > 0, or NaN from NaN inputs; 0: no key at all -> zeros, lse = +inf
    const float inv = any ? 1.f / l[i] : 0.f;
    float* orow = p.out + (bh * p.Tq + row) * p.D;
#pragma unroll
    for (int c = 0; c < DT / 16; ++c) {
      const int col = 2 * tx + 32 * (c / 2) + (c & 1);
      if (col < p.D) orow[col] = o[i][c] * inv;
    }
    if (tx == 0) p.lse[bh * p.Tq + row] = any ? (m[i] + log2f(l[i])) * kLn2 : INFINITY;
  }
}

template <int DT>
__global__ void __launch_bounds__(NT) dq_simt(Params p) {
  using L = DqSmem<DT>;
  constexpr int LD = L::LD;
  CG_DYNAMIC_SMEM(float, sm);
  const int tid = threadIdx.x, tx = tid & 15, ty = tid >> 4;
  const int ntq = (p.Tq + BQ - 1) / BQ;
  const int64_t bh = blockIdx.x % p.BH;
  const int i0 = (ntq - 1 - static_cast<int>(blockIdx.x / p.BH)) * BQ;
  const MaskRow mrow(p, bh / p.H);
  const int nq = min(BQ, p.Tq - i0);
  const int nt = (key_end(p, i0, nq) + BS - 1) / BS;
  const float* k = p.k + bh * p.Tk * p.D;
  const float* v = p.v + bh * p.Tk * p.D;
  const float* Qs = sm + L::Q;
  const float* dOs = sm + L::DO;
  float* dSs = sm + L::DS;
  const float* lse2 = sm + L::LSE;
  const float* delta = sm + L::DELTA;
  auto stage_kv = [&](int t) {
    float* kv = sm + L::KV + (t & 1) * 2 * BS * LD;
    stage_rows<BS, DT, NT>(kv, k, t * BS, p.Tk, p.D, p.vec, mrow);
    stage_rows<BS, DT, NT>(kv + BS * LD, v, t * BS, p.Tk, p.D, p.vec, mrow);
    if (tid < BS) sm[L::MADD + (t & 1) * BS + tid] = mrow.log2_term(t * BS + tid);
    ptx::cp_async_commit();
  };
  stage_rows<BQ, DT, NT>(sm + L::Q, p.q + bh * p.Tq * p.D, i0, p.Tq, p.D, p.vec, NoSkip{});
  stage_rows<BQ, DT, NT>(sm + L::DO, p.dout + bh * p.Tq * p.D, i0, p.Tq, p.D, p.vec, NoSkip{});
  if (tid < BQ) {
    const int row = i0 + tid;
    sm[L::LSE + tid] = row < p.Tq ? p.lse_in[bh * p.Tq + row] * kLog2e : INFINITY;  // +inf: P = 0
    sm[L::DELTA + tid] = row < p.Tq ? p.delta[bh * p.Tq + row] : 0.f;
  }
  if (nt > 0) stage_kv(0);
  else ptx::cp_async_commit();

  float acc[4][DT / 16] = {};
  for (int t = 0; t < nt; ++t) {
    ptx::cp_async_wait<0>();
    __syncthreads();
    if (t + 1 < nt) stage_kv(t + 1);
    const float* Ks = sm + L::KV + (t & 1) * 2 * BS * LD;
    const float* Vs = Ks + BS * LD;
    const float* madd = sm + L::MADD + (t & 1) * BS;
    float s[4][2] = {}, dp[4][2] = {};
#pragma unroll 2
    for (int d = 0; d < DT; d += 4) {
      float4 a[4], e[4], kk[2], vv[2];
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        a[i] = *reinterpret_cast<const float4*>(Qs + (ty + 16 * i) * LD + d);
        e[i] = *reinterpret_cast<const float4*>(dOs + (ty + 16 * i) * LD + d);
      }
#pragma unroll
      for (int j = 0; j < 2; ++j) {
        kk[j] = *reinterpret_cast<const float4*>(Ks + (tx + 16 * j) * LD + d);
        vv[j] = *reinterpret_cast<const float4*>(Vs + (tx + 16 * j) * LD + d);
      }
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j) {
          s[i][j] = dot4(s[i][j], a[i], kk[j]);
          dp[i][j] = dot4(dp[i][j], e[i], vv[j]);
        }
    }
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
      for (int j = 0; j < 2; ++j) {
        const int r = ty + 16 * i, c = tx + 16 * j;
        const bool cut = p.causal && t * BS + c > i0 + r + p.off;
        const float pr = exp2f(fmaf(s[i][j], p.scale_log2, madd[c]) - lse2[r]);
        dSs[r * LDP + c] = cut ? 0.f : pr * (dp[i][j] - delta[r]);
      }
    __syncwarp();  // dS rows are read by the warp that wrote them
    acc_ab<DT, LD>(acc, dSs, Ks, tx, ty);
  }
  ptx::cp_async_wait<0>();
  store_rows<DT>(p.dq + bh * p.Tq * p.D, acc, p.scale, i0, p.Tq, p.D, tx, ty);
}

template <int DT>
__global__ void __launch_bounds__(NT) dkdv_simt(Params p) {
  using L = DkdvSmem<DT>;
  constexpr int LD = L::LD;
  CG_DYNAMIC_SMEM(float, sm);
  const int tid = threadIdx.x, tx = tid & 15, ty = tid >> 4;
  const int64_t bh = blockIdx.x % p.BH;
  const int j0 = static_cast<int>(blockIdx.x / p.BH) * BQ;  // the longest (causal) tiles first
  const MaskRow mrow(p, bh / p.H);
  const float* q = p.q + bh * p.Tq * p.D;
  const float* dout = p.dout + bh * p.Tq * p.D;
  const float* Ks = sm + L::K;
  const float* Vs = sm + L::V;
  float* PT = sm + L::PT;
  float* dST = sm + L::DST;
  const float* madd = sm + L::MADD;
  stage_rows<BQ, DT, NT>(sm + L::K, p.k + bh * p.Tk * p.D, j0, p.Tk, p.D, p.vec, mrow);
  stage_rows<BQ, DT, NT>(sm + L::V, p.v + bh * p.Tk * p.D, j0, p.Tk, p.D, p.vec, mrow);
  if (tid < BQ) sm[L::MADD + tid] = mrow.log2_term(j0 + tid);
  auto stage_q = [&](int t) {
    float* qd = sm + L::QD + (t & 1) * 2 * BS * LD;
    stage_rows<BS, DT, NT>(qd, q, t * BS, p.Tq, p.D, p.vec, NoSkip{});
    stage_rows<BS, DT, NT>(qd + BS * LD, dout, t * BS, p.Tq, p.D, p.vec, NoSkip{});
    if (tid < BS) {
      const int row = t * BS + tid;
      sm[L::LSE + (t & 1) * BS + tid] = row < p.Tq ? p.lse_in[bh * p.Tq + row] * kLog2e : INFINITY;
      sm[L::DELTA + (t & 1) * BS + tid] = row < p.Tq ? p.delta[bh * p.Tq + row] : 0.f;
    }
    ptx::cp_async_commit();
  };
  const int t0 = query_begin(p, j0) / BS, nt = (p.Tq + BS - 1) / BS;
  if (t0 < nt) stage_q(t0);
  else ptx::cp_async_commit();

  float dk[4][DT / 16] = {}, dv[4][DT / 16] = {};
  for (int t = t0; t < nt; ++t) {
    ptx::cp_async_wait<0>();
    __syncthreads();
    if (t + 1 < nt) stage_q(t + 1);
    const float* Qs = sm + L::QD + (t & 1) * 2 * BS * LD;
    const float* dOs = Qs + BS * LD;
    const float* lse2 = sm + L::LSE + (t & 1) * BS;
    const float* delta = sm + L::DELTA + (t & 1) * BS;
    // Transposed tiles: rows = keys ty + 16i, columns = queries tx + 16j.
    float s[4][2] = {}, dp[4][2] = {};
#pragma unroll 2
    for (int d = 0; d < DT; d += 4) {
      float4 a[4], e[4], qq[2], oo[2];
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        a[i] = *reinterpret_cast<const float4*>(Ks + (ty + 16 * i) * LD + d);
        e[i] = *reinterpret_cast<const float4*>(Vs + (ty + 16 * i) * LD + d);
      }
#pragma unroll
      for (int j = 0; j < 2; ++j) {
        qq[j] = *reinterpret_cast<const float4*>(Qs + (tx + 16 * j) * LD + d);
        oo[j] = *reinterpret_cast<const float4*>(dOs + (tx + 16 * j) * LD + d);
      }
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j) {
          s[i][j] = dot4(s[i][j], a[i], qq[j]);
          dp[i][j] = dot4(dp[i][j], e[i], oo[j]);
        }
    }
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
      for (int j = 0; j < 2; ++j) {
        const int r = ty + 16 * i, c = tx + 16 * j;
        const bool cut = p.causal && j0 + r > t * BS + c + p.off;
        const float pr = cut ? 0.f : exp2f(fmaf(s[i][j], p.scale_log2, madd[r]) - lse2[c]);
        PT[r * LDP + c] = pr;
        dST[r * LDP + c] = cut ? 0.f : pr * (dp[i][j] - delta[c]);
      }
    __syncwarp();  // P^T, dS^T rows are read by the warp that wrote them
    acc_ab<DT, LD>(dv, PT, dOs, tx, ty);
    acc_ab<DT, LD>(dk, dST, Qs, tx, ty);
  }
  ptx::cp_async_wait<0>();
  store_rows<DT>(p.dk + bh * p.Tk * p.D, dk, p.scale, j0, p.Tk, p.D, tx, ty);
  store_rows<DT>(p.dv + bh * p.Tk * p.D, dv, 1.f, j0, p.Tk, p.D, tx, ty);
}

// --- launchers

template <int DT>
bool forward_t(const Params& p, const Device& dev) {
  constexpr size_t bytes = FwdSmem<DT>::BYTES;
  if (bytes > dev.smem_optin) return false;
  allow_smem(reinterpret_cast<const void*>(&fwd_simt<DT>), bytes, dev.index);
  const int64_t blocks = p.BH * ((p.Tq + BQ - 1) / BQ);
  LAUNCH((fwd_simt<DT>), static_cast<unsigned>(blocks), NT, bytes, stream())(p);
  gpu::check_last_launch("attention forward");
  return true;
}

template <int DT>
bool backward_t(const Params& p, const Device& dev) {
  constexpr size_t b1 = DkdvSmem<DT>::BYTES, b2 = DqSmem<DT>::BYTES;
  if (b1 > dev.smem_optin || b2 > dev.smem_optin) return false;
  allow_smem(reinterpret_cast<const void*>(&dkdv_simt<DT>), b1, dev.index);
  allow_smem(reinterpret_cast<const void*>(&dq_simt<DT>), b2, dev.index);
  if (p.Tk > 0) {
    LAUNCH((dkdv_simt<DT>), static_cast<unsigned>(p.BH * ((p.Tk + BQ - 1) / BQ)), NT, b1, stream())(p);
    gpu::check_last_launch("attention backward (dk, dv)");
  }
  if (p.Tq > 0) {
    LAUNCH((dq_simt<DT>), static_cast<unsigned>(p.BH * ((p.Tq + BQ - 1) / BQ)), NT, b2, stream())(p);
    gpu::check_last_launch("attention backward (dq)");
  }
  return true;
}

}  // namespace

bool simt_forward(const Params& p, const Device& dev) {
  switch (head_tile(p.D)) {
    case 32: return forward_t<32>(p, dev);
    case 64: return forward_t<64>(p, dev);
    case 96: return forward_t<96>(p, dev);
    case 128: return forward_t<128>(p, dev);
    default: return false;
  }
}

bool simt_backward(const Params& p, const Device& dev) {
  switch (head_tile(p.D)) {
    case 32: return backward_t<32>(p, dev);
    case 64: return backward_t<64>(p, dev);
    case 96: return backward_t<96>(p, dev);
    case 128: return backward_t<128>(p, dev);
    default: return false;
  }
}

}  // namespace cg::cuda::attn
