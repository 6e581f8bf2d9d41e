// Internal to the tensor-core attention kernels (attention_tc.cu forward,
// attention_tc_bwd.cu backward): mma fragment traits for bf16 m16n8k16 and
// TF32 m16n8k8 (see attention_tc.cu for the scheme), the streamed-tile
// buffers, operand loads and the accumulator helpers.
#pragma once

#include <cuda_bf16.h>

#include <cstring>
#include <type_traits>

#include "attention.cuh"

namespace cg::cuda::attn::tc {

// Blocks of NW warps (8 for head sizes up to 64, else 4: registers and shared
// memory), NT = 32 NW threads, BR = 16 NW resident rows.
template <int DT>
constexpr int warps_for() { return DT <= 64 ? 8 : 4; }

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
// buffered in operand form. Float32 tensors arrive in float32 staging tiles
// and are converted by the thread that copied them (bf16 mma: one staging
// pair that only the copying threads touch; TF32: in place); bf16 tensors
// (In = uint16_t, bf16 mma only) are copied straight into operand form.
template <int DT, int RS, bool BF16, int NT, typename In = float>
struct Stream {
  static constexpr bool IO16 = std::is_same<In, uint16_t>::value;
  static_assert(BF16 || !IO16, "bf16 tensors take the bf16 mma");
  using T = typename Tc<BF16>::T;
  static constexpr int LDF = DT + 4, LDO = DT + Tc<BF16>::PAD;
  static constexpr size_t OP = sizeof(T) * 2 * 2 * RS * LDO;
  static constexpr size_t BYTES = OP + (BF16 && !IO16 ? sizeof(float) * 2 * RS * LDF : 0);
  static __device__ __forceinline__ T* op(unsigned char* base, int buf, int which) {
    return reinterpret_cast<T*>(base) + (2 * buf + which) * RS * LDO;
  }
  static __device__ __forceinline__ float* stage(unsigned char* base, int buf, int which) {
    if (BF16) return reinterpret_cast<float*>(base + OP) + which * RS * LDF;
    return reinterpret_cast<float*>(op(base, buf, which));
  }
  // Starts copying rows [r0, r0 + RS) of src into tile (buf, which); the caller commits the group.
  template <typename Skip>
  static __device__ __forceinline__ void load(unsigned char* base, int buf, int which, const In* src, int r0,
                                              int nrows, int D, bool vec, Skip skip) {
    if constexpr (IO16) stage_rows_bf16<RS, DT, LDO, NT, true>(op(base, buf, which), src, r0, nrows, D, vec, skip);
    else stage_rows<RS, DT, NT>(stage(base, buf, which), src, r0, nrows, D, vec, skip);
  }
  // This thread's chunks of tiles (buf, 0 and 1), staged by load, into operand form (bf16 tensors: nothing to do).
  static __device__ __forceinline__ void convert(unsigned char* base, int buf) {
    if constexpr (!IO16) {
      for (int which = 0; which < 2; ++which) {
        const float* src = stage(base, buf, which);
        T* dst = op(base, buf, which);
        for (int c = threadIdx.x; c < RS * DT / 4; c += NT) {
          const int r = c / (DT / 4), col = (c % (DT / 4)) * 4;
          Tc<BF16>::put4(dst + r * LDO + col, *reinterpret_cast<const float4*>(src + r * LDF + col));
        }
      }
    }
  }
};

// Rows [r0, r0 + BR) of a (nrows x D) matrix into operand form (synchronous
// loads; zeros past nrows, past D and for skip(row)).
template <int DT, bool BF16, int BR, int NT, typename Skip>
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
// The same for a bf16 matrix (bf16 mma only): plain 16-byte loads.
template <int DT, bool BF16, int BR, int NT, typename Skip>
__device__ __forceinline__ void load_op(typename Tc<BF16>::T* dst, const uint16_t* src, int r0, int nrows, int D,
                                        bool vec, Skip skip) {
  static_assert(BF16, "bf16 tensors take the bf16 mma");
  stage_rows_bf16<BR, DT, DT + Tc<BF16>::PAD, NT, false>(dst, src, r0, nrows, D, vec, skip);
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

// Writes acc * f (a warp's 16 x DT accumulator tiles) to rows r0 + g (+8) of
// a (nrows x D) float32 or bf16 matrix (rounded once, here).
template <int DT, typename Out>
__device__ __forceinline__ void store_acc(Out* dst, const float (&acc)[DT / 8][4], float f, int r0, int nrows, int D,
                                          int g, int t) {
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const int row = r0 + g + 8 * h;
    if (row >= nrows) continue;
    Out* d = dst + static_cast<int64_t>(row) * D;
#pragma unroll
    for (int n = 0; n < DT / 8; ++n)
#pragma unroll
      for (int c = 0; c < 2; ++c)
        if (8 * n + 2 * t + c < D) put(d + 8 * n + 2 * t + c, acc[n][2 * h + c] * f);
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

}  // namespace cg::cuda::attn::tc
