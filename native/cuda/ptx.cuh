// Every inline-PTX instruction the kernels use, behind one function each.
// With nvcc: the instruction (tensor-core and async-copy ones need sm_80+;
// callers guard with CG_HAS_SM80 and the host picks such kernels only on
// sm_80+ devices). Under the SIMT emulator: emu/ptx_emu.h, an emulated twin
// with the semantics and fragment layouts of the PTX ISA ("Matrix Fragments
// for mma.m16n8k8" (.tf32), "... mma.m16n8k16 with floating point type",
// ldmatrix, cp.async), so the kernels' indexing is tested without a GPU.
//
// Fragments (groupID g = lane >> 2, t = lane % 4):
//   m16n8k8 tf32:  A a0:(g, t) a1:(g+8, t) a2:(g, t+4) a3:(g+8, t+4); B b0:(t, g) b1:(t+4, g)
//   m16n8k16 bf16: A reg r holds elements (2r, 2r+1): a_i at row g (i in 0,1,4,5) else g+8,
//                  col 2t + (i & 1) (+8 for i >= 4); B b_i at row 2t + (i & 1) (+8 for i >= 2), col g
//   C/D (both):    c_i at row g (i < 2) else g+8, col 2t + (i & 1)
#pragma once

#include <cstdint>

#if defined(CG_EMULATE_CUDA)
#include "emu/ptx_emu.h"
#define CG_HAS_SM80 1
#else

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
#define CG_HAS_SM80 1
#else
#define CG_HAS_SM80 0
#endif

namespace cg::ptx {

// fp32 -> tf32 (round to nearest, ties away from zero), as a .b32 register.
__device__ __forceinline__ uint32_t cvt_tf32(float f) {
#if CG_HAS_SM80
  uint32_t r;
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(f));
  return r;
#else
  return __float_as_uint(f);
#endif
}

// D (16x8 f32) = A (16x8 tf32, row) * B (8x8 tf32, col) + C
__device__ __forceinline__ void mma_tf32_16x8x8(float d[4], const uint32_t a[4], const uint32_t b[2], const float c[4]) {
#if CG_HAS_SM80
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%10,%11,%12,%13};"
      : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]), "f"(c[2]), "f"(c[3]));
#else
  __trap();
#endif
}

// D (16x8 f32) = A (16x16 bf16, row) * B (16x8 bf16, col) + C
__device__ __forceinline__ void mma_bf16_16x8x16(float d[4], const uint32_t a[4], const uint32_t b[2], const float c[4]) {
#if CG_HAS_SM80
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%10,%11,%12,%13};"
      : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]), "f"(c[2]), "f"(c[3]));
#else
  __trap();
#endif
}

// Four 8x8 b16 matrices from shared memory: lanes 8j..8j+7 give the row addresses of matrix j;
// r[j] of lane l holds row l/4, cols 2(l%4), 2(l%4)+1 of matrix j.
__device__ __forceinline__ void ldmatrix_x4(uint32_t r[4], const void* smem_row) {
#if CG_HAS_SM80
  uint32_t addr = static_cast<uint32_t>(__cvta_generic_to_shared(smem_row));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
#else
  __trap();
#endif
}

// As ldmatrix_x4 with .trans: r[j] of lane l holds rows 2(l%4), 2(l%4)+1 of column l/4 of matrix j.
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t r[4], const void* smem_row) {
#if CG_HAS_SM80
  uint32_t addr = static_cast<uint32_t>(__cvta_generic_to_shared(smem_row));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
#else
  __trap();
#endif
}

// 16-byte asynchronous global -> shared copy; completes at a later cp_async_wait.
__device__ __forceinline__ void cp_async_16(void* smem, const void* gmem) {
#if CG_HAS_SM80
  uint32_t addr = static_cast<uint32_t>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" ::"r"(addr), "l"(gmem));
#else
  __trap();
#endif
}

__device__ __forceinline__ void cp_async_commit() {
#if CG_HAS_SM80
  asm volatile("cp.async.commit_group;");
#endif
}

// Waits until at most N of this thread's committed groups are still in flight.
template <int N>
__device__ __forceinline__ void cp_async_wait() {
#if CG_HAS_SM80
  asm volatile("cp.async.wait_group %0;" ::"n"(N));
#endif
}

}  // namespace cg::ptx

#endif
