// Internal to the CUDA attention kernels (attention.cu, attention_simt.cu,
// attention_tc*.cu): the parameter block, the key-padding mask read on the
// device, tile staging (global -> shared memory, 16-byte cp.async where rows
// allow it), and the launchers each file provides.
//
// Conventions shared by every kernel:
// - scores live in log2 units: s2 = (q.k) * scale * log2(e) + mask * log2(e),
//   so P = exp2(s2 - m2); lse (natural log) = (m2 + log2(l)) * ln(2).
// - head sizes up to 128 run in kernels templated on DT in {32, 64, 96, 128}
//   (the smallest DT >= D); shared tiles hold DT columns, columns D..DT-1
//   are zeros (they add nothing to dot products and are never written back).
// - shared fp32 tiles are row-major with LD = DT + 4 floats per row (16-byte
//   aligned rows; conflict-free fragment and float4 reads).
// - keys the mask excludes (and key rows past Tk) are never read: their K, V
//   rows are zero-filled in shared memory and their scores are -inf.
// - bfloat16 tensors (bf16_io) run only on the tensor-core kernels, which
//   read q, k, v, dout and write out, dq, dk, dv as bf16 through io<In>(p);
//   lse, delta and the mask stay float32 (attention.cu falls back to float32
//   copies elsewhere).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "../runtime/bf16.h"
#include "launch.h"
#include "ptx.cuh"

namespace cg::cuda::attn {

constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.69314718055994531f;

// The tensors of one call as element type T (float32, or uint16_t bf16 bits).
template <typename T>
struct Io {
  T* out;  // forward
  T* dq;   // backward outputs
  T* dk;
  T* dv;
  const T* q;
  const T* k;
  const T* v;
  const T* dout;
};

struct Params {
  float* out;          // forward: (BH, Tq, D)
  float* lse;          // forward: (BH, Tq)
  float* dq;           // backward outputs
  float* dk;
  float* dv;
  const float* q;      // (BH, Tq, D)
  const float* k;      // (BH, Tk, D)
  const float* v;
  const float* dout;   // backward inputs: (BH, Tq, D)
  const float* lse_in; // (BH, Tq), natural log
  const float* delta;  // (BH, Tq): rowsum(dout * out)
  const float* mask;   // (B, Tk) additive, or null
  const int32_t* mask_bool;  // (B, Tk) nonzero = attend, or null
  int64_t BH;
  int H, Tq, Tk, D;
  int off;             // Tk - Tq: key j is causally visible to query i iff j <= i + off
  bool causal;
  bool bf16_io;        // the tensors are bf16, in h (the float pointers above are null)
  Io<uint16_t> h;
  bool vec;            // rows of q, k, v, dout load 16 bytes at a time (float32: D % 4 == 0, bf16: D % 8 == 0;
                       // the tensors 16-byte aligned) as float4 / uint4 / cp.async
  float scale;         // 1 / sqrt(D)
  float scale_log2;    // log2(e) / sqrt(D)
};

__device__ __forceinline__ float neg_inf() { return -INFINITY; }

// The tensors of p as In: float (the float32 pointers) or uint16_t (p.h, bf16).
template <typename In>
__device__ __forceinline__ Io<In> io(const Params& p);
template <>
__device__ __forceinline__ Io<float> io<float>(const Params& p) {
  return Io<float>{p.out, p.dq, p.dk, p.dv, p.q, p.k, p.v, p.dout};
}
template <>
__device__ __forceinline__ Io<uint16_t> io<uint16_t>(const Params& p) {
  return p.h;
}

// An element of a float32 or bf16 tensor as float, and a float stored as one
// (bf16: rounded to nearest even).
__device__ __forceinline__ float to_f32(float x) { return x; }
__device__ __forceinline__ float to_f32(uint16_t x) { return bf16_to_float(x); }
__device__ __forceinline__ void put(float* d, float x) { *d = x; }
__device__ __forceinline__ void put(uint16_t* d, float x) { *d = bf16_from_float(x); }

// The key-padding mask row of one batch.
struct MaskRow {
  const float* mask;         // additive, or null
  const int32_t* mask_bool;  // boolean, or null
  int Tk;
  __device__ __forceinline__ MaskRow(const Params& p, int64_t b)
      : mask(p.mask ? p.mask + b * p.Tk : nullptr), mask_bool(p.mask_bool ? p.mask_bool + b * p.Tk : nullptr), Tk(p.Tk) {}
  // Mask term of key j in log2 units: -inf for excluded keys and j >= Tk.
  __device__ __forceinline__ float log2_term(int j) const {
    if (j >= Tk) return neg_inf();
    if (mask) return mask[j] * kLog2e;
    if (mask_bool) return mask_bool[j] ? 0.f : neg_inf();
    return 0.f;
  }
  // stage_rows skip predicate: the mask excludes key j (its K, V rows are never read).
  __device__ __forceinline__ bool operator()(int j) const { return log2_term(j) == neg_inf(); }
};

// Causal tile bounds. Query tile [i0, i0 + n): keys [0, key_end) can matter.
__device__ __forceinline__ int key_end(const Params& p, int i0, int n) {
  if (!p.causal) return p.Tk;
  int e = i0 + n + p.off;
  return e < 0 ? 0 : (e < p.Tk ? e : p.Tk);
}
// Key tile starting at j0: the first query that sees any of its keys.
__device__ __forceinline__ int query_begin(const Params& p, int j0) {
  if (!p.causal) return 0;
  int s = j0 - p.off;
  return s < 0 ? 0 : s;
}

// 16-byte global -> shared copy: asynchronous on sm_80+ (retired by
// ptx::cp_async_wait), a plain load and store before.
__device__ __forceinline__ void copy16(void* smem, const void* gmem) {
#if CG_HAS_SM80
  ptx::cp_async_16(smem, gmem);
#else
  *reinterpret_cast<float4*>(smem) = *reinterpret_cast<const float4*>(gmem);
#endif
}

// Rows [r0, r0 + ROWS) of a row-major (nrows x D) matrix into dst (ROWS x
// (DT + 4) floats). Zeros for columns >= D, rows >= nrows and rows with
// skip(row); 16-byte copies when vec (see Params), else element loads. Chunk c (four floats) goes to thread c % NT, so a thread can use
// what it copied right after its own cp_async_wait (convert_* below use the
// same mapping); others see it after a barrier. The caller commits the group.
template <int ROWS, int DT, int NT, typename Skip>
__device__ __forceinline__ void stage_rows(float* dst, const float* src, int r0, int nrows, int D, bool vec,
                                           Skip skip) {
  constexpr int C4 = DT / 4, LD = DT + 4;
  for (int c = threadIdx.x; c < ROWS * C4; c += NT) {
    const int r = c / C4, col = (c % C4) * 4, row = r0 + r;
    float* d = dst + r * LD + col;
    if (row >= nrows || col >= D || skip(row)) {
      *reinterpret_cast<float4*>(d) = make_float4(0.f, 0.f, 0.f, 0.f);
      continue;
    }
    const float* s = src + static_cast<int64_t>(row) * D + col;
    if (vec) {
      copy16(d, s);
    } else {
      float e[4];
      for (int j = 0; j < 4; ++j) e[j] = col + j < D ? s[j] : 0.f;
      *reinterpret_cast<float4*>(d) = make_float4(e[0], e[1], e[2], e[3]);
    }
  }
}

// As stage_rows for a bf16 matrix, straight into a bf16 tile (ROWS x LDO
// elements, 16-byte aligned rows): chunks of eight elements, 16-byte copies
// when vec (asynchronous when ASYNC: the caller commits and waits; else plain
// loads, visible to others after a barrier).
template <int ROWS, int DT, int LDO, int NT, bool ASYNC, typename Skip>
__device__ __forceinline__ void stage_rows_bf16(uint16_t* dst, const uint16_t* src, int r0, int nrows, int D,
                                                bool vec, Skip skip) {
  constexpr int C8 = DT / 8;
  for (int c = threadIdx.x; c < ROWS * C8; c += NT) {
    const int r = c / C8, col = (c % C8) * 8, row = r0 + r;
    uint16_t* d = dst + r * LDO + col;
    if (row >= nrows || col >= D || skip(row)) {
      *reinterpret_cast<uint4*>(d) = make_uint4(0u, 0u, 0u, 0u);
      continue;
    }
    const uint16_t* s = src + static_cast<int64_t>(row) * D + col;
    if (vec) {
      if (ASYNC) copy16(d, s);
      else *reinterpret_cast<uint4*>(d) = *reinterpret_cast<const uint4*>(s);
    } else {
      uint32_t e[4];
      for (int j = 0; j < 4; ++j) {
        const uint32_t lo = col + 2 * j < D ? s[2 * j] : 0u, hi = col + 2 * j + 1 < D ? s[2 * j + 1] : 0u;
        e[j] = lo | hi << 16;
      }
      *reinterpret_cast<uint4*>(d) = make_uint4(e[0], e[1], e[2], e[3]);
    }
  }
}

struct NoSkip {
  __device__ __forceinline__ bool operator()(int) const { return false; }
};

__device__ __forceinline__ float dot4(float acc, const float4& a, const float4& b) {
  acc = fmaf(a.x, b.x, acc);
  acc = fmaf(a.y, b.y, acc);
  acc = fmaf(a.z, b.z, acc);
  return fmaf(a.w, b.w, acc);
}
// Component e (a compile-time constant after unrolling) of v.
__device__ __forceinline__ float comp(const float4& v, int e) { return e == 0 ? v.x : e == 1 ? v.y : e == 2 ? v.z : v.w; }

// --- launchers (each returns false when the kernel needs more shared memory
// than the device offers; the caller then uses the general kernels)
struct Device {
  int index;
  int major;
  size_t smem_optin;  // bytes of dynamic shared memory a block may opt in to
};
// Allows `kernel` `bytes` of dynamic shared memory on this device (once per kernel and device).
void allow_smem(const void* kernel, size_t bytes, int device);

bool simt_forward(const Params& p, const Device& dev);
bool simt_backward(const Params& p, const Device& dev);  // dk, dv then dq (delta precomputed)
// bf16: the bf16 mma (else TF32); always so when p.bf16_io.
bool tc_forward(const Params& p, const Device& dev, bool bf16);
bool tc_backward(const Params& p, const Device& dev, bool bf16);

// Smallest templated head size >= D (0 when D > 128).
inline int head_tile(int D) { return D <= 32 ? 32 : D <= 64 ? 64 : D <= 96 ? 96 : D <= 128 ? 128 : 0; }

}  // namespace cg::cuda::attn
