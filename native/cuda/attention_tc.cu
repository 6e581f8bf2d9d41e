// CUDA attention on tensor cores ('high': TF32 m16n8k8, 'medium': bf16
// m16n8k16, float32 accumulation; sm_80+), FlashAttention-2 style with
// mma.sync through ptx.cuh (see attention.cuh for the shared conventions).
// Blocks of 4 warps; each warp owns 16 resident rows (queries in the forward
// and dq kernels, keys in the dk/dv kernel), so row statistics need only the
// 4 lanes of a quad. Per streamed tile of K, V (or Q, dO):
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
#include <cuda_bf16.h>

#include <cstring>

#include "../ops/attention.h"
#include "attention.cuh"

namespace cg::cuda::attn {

namespace {

constexpr int NT = 128;  // 4 warps
constexpr int BR = 64;   // resident rows per block: 16 per warp

template <bool BF16>
struct Tc;

template <>
struct Tc<true> {  // bf16 m16n8k16
  using T = uint16_t;
  static constexpr int KS = 16, PAD = 8;
  static __device__ __forceinline__ uint32_t ld32(const T* p) { return *reinterpret_cast<const uint32_t*>(p); }
  static __device__ __forceinline__ uint32_t pack(float lo, float hi) {
    __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
    uint32_t u;
    memcpy(&u, &h, 4);
    return u;
  }
  static __device__ __forceinline__ void put4(T* dst, const float4& x) {
    *reinterpret_cast<uint2*>(dst) = make_uint2(pack(x.x, x.y), pack(x.z, x.w));
  }
  // A (16 x 16) at rows r0.., columns k0.. of a row-major tile.
  static __device__ __forceinline__ void load_a(uint32_t a[4], const T* s, int ld, int r0, int k0, int g, int t) {
    const T* p = s + (r0 + g) * ld + k0 + 2 * t;
    a[0] = ld32(p);
    a[1] = ld32(p + 8 * ld);
    a[2] = ld32(p + 8);
    a[3] = ld32(p + 8 * ld + 8);
  }
  // B (16 x 8) = rows n0.. (n), columns k0.. (k) of a tile stored [n][k].
  static __device__ __forceinline__ void load_b(uint32_t b[2], const T* s, int ld, int n0, int k0, int g, int t) {
    const T* p = s + (n0 + g) * ld + k0 + 2 * t;
    b[0] = ld32(p);
    b[1] = ld32(p + 8);
  }
  // B of two n-tiles (columns n0.. and n0 + 8..) for the k-step at rows k0.. of a tile stored [k][n].
  static __device__ __forceinline__ void load_bt(uint32_t b[2][2], const T* s, int ld, int k0, int n0, int lane) {
    const T* p = s + (k0 + (lane & 7) + 8 * ((lane >> 3) & 1)) * ld + n0 + 8 * (lane >> 4);
    uint32_t r[4];
    ptx::ldmatrix_x4_trans(r, p);
    b[0][0] = r[0], b[0][1] = r[1], b[1][0] = r[2], b[1][1] = r[3];
  }
  // A of k-step kk from accumulator tiles c (16 x 8 each): tiles 2kk and 2kk + 1.
  static __device__ __forceinline__ void a_from_c(uint32_t a[4], const float (*c)[4], int kk) {
    a[0] = pack(c[2 * kk][0], c[2 * kk][1]);
    a[1] = pack(c[2 * kk][2], c[2 * kk][3]);
    a[2] = pack(c[2 * kk + 1][0], c[2 * kk + 1][1]);
    a[3] = pack(c[2 * kk + 1][2], c[2 * kk + 1][3]);
  }
  static __device__ __forceinline__ void mma(float d[4], const uint32_t a[4], const uint32_t b[2]) {
    ptx::mma_bf16_16x8x16(d, a, b, d);
  }
};

template <>
struct Tc<false> {  // TF32 m16n8k8
  using T = uint32_t;
  static constexpr int KS = 8, PAD = 4;
  static __device__ __forceinline__ uint32_t cv(float x) { return ptx::cvt_tf32(x); }
  static __device__ __forceinline__ void put4(T* dst, const float4& x) {
    *reinterpret_cast<uint4*>(dst) = make_uint4(cv(x.x), cv(x.y), cv(x.z), cv(x.w));
  }
  static __device__ __forceinline__ void load_a(uint32_t a[4], const T* s, int ld, int r0, int k0, int g, int t) {
    const T* p = s + (r0 + g) * ld + k0 + t;
    a[0] = p[0];
    a[1] = p[8 * ld];
    a[2] = p[4];
    a[3] = p[8 * ld + 4];
  }
  static __device__ __forceinline__ void load_b(uint32_t b[2], const T* s, int ld, int n0, int k0, int g, int t) {
    const T* p = s + (n0 + g) * ld + k0 + t;
    b[0] = p[0];
    b[1] = p[4];
  }
  // Slot t of the k-step <-> row k0 + 2t, slot t + 4 <-> row k0 + 2t + 1 (as a_from_c).
  static __device__ __forceinline__ void load_bt(uint32_t b[2][2], const T* s, int ld, int k0, int n0, int lane) {
    const int g = lane >> 2, t = lane & 3;
    const T* p = s + (k0 + 2 * t) * ld + n0 + g;
    b[0][0] = p[0], b[0][1] = p[ld], b[1][0] = p[8], b[1][1] = p[ld + 8];
  }
  static __device__ __forceinline__ void a_from_c(uint32_t a[4], const float (*c)[4], int kk) {
    a[0] = cv(c[kk][0]);  // row g,     key 2t
    a[1] = cv(c[kk][2]);  // row g + 8, key 2t
    a[2] = cv(c[kk][1]);  // row g,     key 2t + 1
    a[3] = cv(c[kk][3]);  // row g + 8, key 2t + 1
  }
  static __device__ __forceinline__ void mma(float d[4], const uint32_t a[4], const uint32_t b[2]) {
    ptx::mma_tf32_16x8x8(d, a, b, d);
  }
};

// Streamed tiles: two (K and V, or Q and dO) of RS rows per step, double
// buffered in operand form; bf16 also has one float32 staging pair that only
// the copying threads touch.
template <int DT, int RS, bool BF16>
struct Stream {
  using T = typename Tc<BF16>::T;
  static constexpr int LDF = DT + 4, LDO = DT + Tc<BF16>::PAD;
  static constexpr size_t OP = sizeof(T) * 2 * 2 * RS * LDO;
  static constexpr size_t BYTES = OP + (BF16 ? sizeof(float) * 2 * RS * LDF : 0);
  static __device__ __forceinline__ T* op(unsigned char* base, int buf, int which) {
    return reinterpret_cast<T*>(base) + (2 * buf + which) * RS * LDO;
  }
  static __device__ __forceinline__ float* stage(unsigned char* base, int buf, int which) {
    if (BF16) return reinterpret_cast<float*>(base + OP) + which * RS * LDF;
    return reinterpret_cast<float*>(op(base, buf, which));
  }
  // This thread's chunks of tiles (buf, 0 and 1), staged by stage_rows, into operand form.
  static __device__ __forceinline__ void convert(unsigned char* base, int buf) {
    for (int which = 0; which < 2; ++which) {
      const float* src = stage(base, buf, which);
      T* dst = op(base, buf, which);
      for (int c = threadIdx.x; c < RS * DT / 4; c += NT) {
        const int r = c / (DT / 4), col = (c % (DT / 4)) * 4;
        Tc<BF16>::put4(dst + r * LDO + col, *reinterpret_cast<const float4*>(src + r * LDF + col));
      }
    }
  }
};

// Rows [r0, r0 + BR) of a (nrows x D) matrix into operand form (synchronous
// loads; zeros past nrows, past D and for skip(row)).
template <int DT, bool BF16, typename Skip>
__device__ __forceinline__ void load_op(typename Tc<BF16>::T* dst, const float* src, int r0, int nrows, int D,
                                        bool vec, Skip skip) {
  constexpr int LDO = DT + Tc<BF16>::PAD;
  for (int c = threadIdx.x; c < BR * DT / 4; c += NT) {
    const int r = c / (DT / 4), col = (c % (DT / 4)) * 4, row = r0 + r;
    float4 x = make_float4(0.f, 0.f, 0.f, 0.f);
    if (row < nrows && col < D && !skip(row)) {
      const float* s = src + static_cast<int64_t>(row) * D + col;
      if (vec) x = *reinterpret_cast<const float4*>(s);
      else x = make_float4(s[0], col + 1 < D ? s[1] : 0.f, col + 2 < D ? s[2] : 0.f, col + 3 < D ? s[3] : 0.f);
    }
    Tc<BF16>::put4(dst + r * LDO + col, x);
  }
}

// Reductions over the quad of lanes sharing a row.
__device__ __forceinline__ float quad_max(float x) {
  x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
  return fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
}
__device__ __forceinline__ float quad_sum(float x) {
  x += __shfl_xor_sync(0xffffffffu, x, 1);
  return x + __shfl_xor_sync(0xffffffffu, x, 2);
}
__device__ __forceinline__ int quad_any(int x) {
  x |= __shfl_xor_sync(0xffffffffu, x, 1);
  return x | __shfl_xor_sync(0xffffffffu, x, 2);
}

// Writes acc * f (a warp's 16 x DT accumulator tiles) to rows r0 + g (+8) of a (nrows x D) matrix.
template <int DT>
__device__ __forceinline__ void store_acc(float* dst, const float (&acc)[DT / 8][4], float f, int r0, int nrows, int D,
                                          int g, int t) {
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const int row = r0 + g + 8 * h;
    if (row >= nrows) continue;
    float* d = dst + static_cast<int64_t>(row) * D;
#pragma unroll
    for (int n = 0; n < DT / 8; ++n)
#pragma unroll
      for (int c = 0; c < 2; ++c)
        if (8 * n + 2 * t + c < D) d[8 * n + 2 * t + c] = acc[n][2 * h + c] * f;
  }
}

// acc (16 x DT) += C (16 x R, accumulator tiles, as A) times rows [0, R) of the row-major tile B.
template <int DT, int R, bool BF16>
__device__ __forceinline__ void acc_cb(float (&acc)[DT / 8][4], const float (&c)[R / 8][4],
                                       const typename Tc<BF16>::T* B, int lane) {
  using M = Tc<BF16>;
#pragma unroll
  for (int kk = 0; kk < R / M::KS; ++kk) {
    uint32_t a[4];
    M::a_from_c(a, c, kk);
#pragma unroll
    for (int n = 0; n < DT / 8; n += 2) {
      uint32_t b[2][2];
      M::load_bt(b, B, DT + M::PAD, kk * M::KS, 8 * n, lane);
      M::mma(acc[n], a, b[0]);
      M::mma(acc[n + 1], a, b[1]);
    }
  }
}

// --- kernels

template <int DT, bool BF16>
struct FwdTc {
  static constexpr int BK = DT <= 64 ? 64 : 32;
  using S = Stream<DT, BK, BF16>;
  static constexpr size_t Q = 0, STREAM = sizeof(typename S::T) * BR * S::LDO, MADD = STREAM + S::BYTES,
                          BYTES = MADD + sizeof(float) * 2 * BK;
};

template <int DT, bool BF16>
__global__ void __launch_bounds__(NT) fwd_tc(Params p) {
#if CG_HAS_SM80
  using M = Tc<BF16>;
  using L = FwdTc<DT, BF16>;
  using S = typename L::S;
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
  const float* k = p.k + bh * p.Tk * p.D;
  const float* v = p.v + bh * p.Tk * p.D;
  auto stage = [&](int t) {
    stage_rows<BK, DT, NT>(S::stage(st, t & 1, 0), k, t * BK, p.Tk, p.D, p.vec, mrow);
    stage_rows<BK, DT, NT>(S::stage(st, t & 1, 1), v, t * BK, p.Tk, p.D, p.vec, mrow);
    if (tid < BK) madd_all[(t & 1) * BK + tid] = mrow.log2_term(t * BK + tid);
    ptx::cp_async_commit();
  };
  if (nt > 0) stage(0);
  load_op<DT, BF16>(Qop, p.q + bh * p.Tq * p.D, i0, p.Tq, p.D, p.vec, NoSkip{});
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
  store_acc<DT>(p.out + bh * p.Tq * p.D, o, 1.f, i0 + 16 * w, p.Tq, p.D, g, t4);
#endif
}

template <int DT, bool BF16>
struct DqTc {
  static constexpr int BK = DT <= 64 ? 64 : 32;
  using S = Stream<DT, BK, BF16>;
  static constexpr size_t TILE = sizeof(typename S::T) * BR * S::LDO;
  static constexpr size_t Q = 0, DO = TILE, STREAM = 2 * TILE, MADD = STREAM + S::BYTES,
                          LSE = MADD + sizeof(float) * 2 * BK, DELTA = LSE + sizeof(float) * BR,
                          BYTES = DELTA + sizeof(float) * BR;
};

template <int DT, bool BF16>
__global__ void __launch_bounds__(NT) dq_tc(Params p) {
#if CG_HAS_SM80
  using M = Tc<BF16>;
  using L = DqTc<DT, BF16>;
  using S = typename L::S;
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
  const float* k = p.k + bh * p.Tk * p.D;
  const float* v = p.v + bh * p.Tk * p.D;
  auto stage = [&](int t) {
    stage_rows<BK, DT, NT>(S::stage(st, t & 1, 0), k, t * BK, p.Tk, p.D, p.vec, mrow);
    stage_rows<BK, DT, NT>(S::stage(st, t & 1, 1), v, t * BK, p.Tk, p.D, p.vec, mrow);
    if (tid < BK) madd_all[(t & 1) * BK + tid] = mrow.log2_term(t * BK + tid);
    ptx::cp_async_commit();
  };
  if (nt > 0) stage(0);
  load_op<DT, BF16>(Qop, p.q + bh * p.Tq * p.D, i0, p.Tq, p.D, p.vec, NoSkip{});
  load_op<DT, BF16>(dOop, p.dout + bh * p.Tq * p.D, i0, p.Tq, p.D, p.vec, NoSkip{});
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
  store_acc<DT>(p.dq + bh * p.Tq * p.D, dq, p.scale, i0 + 16 * w, p.Tq, p.D, g, t4);
#endif
}

template <int DT, bool BF16>
struct DkdvTc {
  static constexpr int BQ = DT <= 64 ? 64 : 32;  // streamed queries
  using S = Stream<DT, BQ, BF16>;
  static constexpr size_t TILE = sizeof(typename S::T) * BR * S::LDO;
  static constexpr size_t K = 0, V = TILE, STREAM = 2 * TILE, MADD = STREAM + S::BYTES,
                          LSE = MADD + sizeof(float) * BR, DELTA = LSE + sizeof(float) * 2 * BQ,
                          BYTES = DELTA + sizeof(float) * 2 * BQ;
};

template <int DT, bool BF16>
__global__ void __launch_bounds__(NT) dkdv_tc(Params p) {
#if CG_HAS_SM80
  using M = Tc<BF16>;
  using L = DkdvTc<DT, BF16>;
  using S = typename L::S;
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
  const float* q = p.q + bh * p.Tq * p.D;
  const float* dout = p.dout + bh * p.Tq * p.D;
  auto stage = [&](int t) {
    stage_rows<BQ, DT, NT>(S::stage(st, t & 1, 0), q, t * BQ, p.Tq, p.D, p.vec, NoSkip{});
    stage_rows<BQ, DT, NT>(S::stage(st, t & 1, 1), dout, t * BQ, p.Tq, p.D, p.vec, NoSkip{});
    if (tid < BQ) {
      const int row = t * BQ + tid;
      lse_all[(t & 1) * BQ + tid] = row < p.Tq ? p.lse_in[bh * p.Tq + row] * kLog2e : INFINITY;
      delta_all[(t & 1) * BQ + tid] = row < p.Tq ? p.delta[bh * p.Tq + row] : 0.f;
    }
    ptx::cp_async_commit();
  };
  const int t0 = query_begin(p, j0) / BQ, nt = (p.Tq + BQ - 1) / BQ;
  if (t0 < nt) stage(t0);
  load_op<DT, BF16>(Kop, p.k + bh * p.Tk * p.D, j0, p.Tk, p.D, p.vec, mrow);
  load_op<DT, BF16>(Vop, p.v + bh * p.Tk * p.D, j0, p.Tk, p.D, p.vec, mrow);
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
  store_acc<DT>(p.dk + bh * p.Tk * p.D, dk, p.scale, j0 + 16 * w, p.Tk, p.D, g, t4);
  store_acc<DT>(p.dv + bh * p.Tk * p.D, dv, 1.f, j0 + 16 * w, p.Tk, p.D, g, t4);
#endif
}

// --- launchers

template <int DT, bool BF16>
bool forward_t(const Params& p, const Device& dev) {
  constexpr size_t bytes = FwdTc<DT, BF16>::BYTES;
  if (bytes > dev.smem_optin) return false;
  allow_smem(reinterpret_cast<const void*>(&fwd_tc<DT, BF16>), bytes, dev.index);
  LAUNCH((fwd_tc<DT, BF16>), static_cast<unsigned>(p.BH * ((p.Tq + BR - 1) / BR)), NT, bytes, stream())(p);
  gpu::check_last_launch("attention forward");
  return true;
}

template <int DT, bool BF16>
bool backward_t(const Params& p, const Device& dev) {
  constexpr size_t b1 = DkdvTc<DT, BF16>::BYTES, b2 = DqTc<DT, BF16>::BYTES;
  if (b1 > dev.smem_optin || b2 > dev.smem_optin) return false;
  allow_smem(reinterpret_cast<const void*>(&dkdv_tc<DT, BF16>), b1, dev.index);
  allow_smem(reinterpret_cast<const void*>(&dq_tc<DT, BF16>), b2, dev.index);
  if (p.Tk > 0) {
    LAUNCH((dkdv_tc<DT, BF16>), static_cast<unsigned>(p.BH * ((p.Tk + BR - 1) / BR)), NT, b1, stream())(p);
    gpu::check_last_launch("attention backward (dk, dv)");
  }
  if (p.Tq > 0) {
    LAUNCH((dq_tc<DT, BF16>), static_cast<unsigned>(p.BH * ((p.Tq + BR - 1) / BR)), NT, b2, stream())(p);
    gpu::check_last_launch("attention backward (dq)");
  }
  return true;
}

template <bool BF16>
bool forward_b(const Params& p, const Device& dev) {
  switch (head_tile(p.D)) {
    case 32: return forward_t<32, BF16>(p, dev);
    case 64: return forward_t<64, BF16>(p, dev);
    case 96: return forward_t<96, BF16>(p, dev);
    case 128: return forward_t<128, BF16>(p, dev);
    default: return false;
  }
}

template <bool BF16>
bool backward_b(const Params& p, const Device& dev) {
  switch (head_tile(p.D)) {
    case 32: return backward_t<32, BF16>(p, dev);
    case 64: return backward_t<64, BF16>(p, dev);
    case 96: return backward_t<96, BF16>(p, dev);
    case 128: return backward_t<128, BF16>(p, dev);
    default: return false;
  }
}

}  // namespace

bool tc_forward(const Params& p, const Device& dev, bool bf16) {
  return bf16 ? forward_b<true>(p, dev) : forward_b<false>(p, dev);
}

bool tc_backward(const Params& p, const Device& dev, bool bf16) {
  return bf16 ? backward_b<true>(p, dev) : backward_b<false>(p, dev);
}

}  // namespace cg::cuda::attn
