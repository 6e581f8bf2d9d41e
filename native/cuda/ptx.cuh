// Every inline-PTX instruction the kernels use, behind one function each.
// With nvcc: the instruction (tensor-core and async-copy ones need sm_80+;
// callers guard with CG_HAS_SM80 and the host picks such kernels only on
// sm_80+ devices). Under the SIMT emulator: emu/ptx_emu.h, an emulated twin
// with the semantics and fragment layouts of the PTX ISA ("Matrix Fragments
// for mma.m16n8k8" (.tf32), "... mma.m16n8k16 with floating point type",
// ldmatrix, cp.async, and the sm_90a warpgroup MMA below), so the kernels'
// indexing is tested without a GPU. wgmma needs sm_90a: callers guard with
// CG_HAS_SM90A (1 under the emulator) and the host picks such kernels only on
// sm_90 devices with sm_90a code in the binary.
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
#define CG_HAS_SM90A 1
#else

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
#define CG_HAS_SM80 1
#else
#define CG_HAS_SM80 0
#endif

// wgmma exists only in the arch-specific sm_90a target (not sm_90, not later archs).
#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define CG_HAS_SM90A 1
#else
#define CG_HAS_SM90A 0
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

// --- sm_90a: warpgroup MMA (wgmma). A warpgroup is 4 consecutive warps (128
// threads) whose first warp index is a multiple of 4; every instruction below
// except the descriptor builder and the proxy fence is warpgroup-collective
// (.sync.aligned). Shared-memory operands are read by the async proxy: generic
// stores to them need fence_proxy_async() before the barrier that precedes the
// wgmma. Accumulator registers are owned by the hardware from mma_async until
// the wait_group that retires it; wgmma_fence() orders earlier register
// accesses before the next mma_async.
//
// Shared memory matrix descriptor (PTX ISA "Matrix Descriptor Format"), 64 bits:
//   bits 0-13 start address, 16-29 leading dimension byte offset (LBO), 32-45
//   stride dimension byte offset (SBO), each encoded as (x & 0x3FFFF) >> 4;
//   49-51 base offset (0: unused without swizzle); 62-63 swizzle (0 = none).
// We use only K-major operands without swizzle ("interleave" canonical layout
// ((8,m),(T,2k)):((1T,SBO),(1,LBO)), T = 8 bf16): 8x8 bf16 core matrices of
// 8 rows x 16 contiguous bytes; SBO steps to the next 8 rows (M or N), LBO to
// the next 8 elements of K.
//
// Accumulator D of m64nNk16 (f32, N/2 registers per thread; thread x of the
// warpgroup, warp w = x / 32, g = (x % 32) / 4, t = x % 4):
//   d[i] at row 16w + g + 8 * ((i / 2) % 2), column 8 * (i / 4) + 2t + (i % 2).
__device__ __forceinline__ uint64_t smem_desc(const void* smem, uint32_t lbo_bytes, uint32_t sbo_bytes) {
  uint32_t addr = static_cast<uint32_t>(__cvta_generic_to_shared(smem));
  return static_cast<uint64_t>((addr & 0x3FFFFu) >> 4) | static_cast<uint64_t>((lbo_bytes & 0x3FFFFu) >> 4) << 16 |
         static_cast<uint64_t>((sbo_bytes & 0x3FFFFu) >> 4) << 32;
}

__device__ __forceinline__ void wgmma_fence() {
#if CG_HAS_SM90A
  asm volatile("wgmma.fence.sync.aligned;" ::: "memory");
#else
  __trap();
#endif
}

__device__ __forceinline__ void wgmma_commit() {
#if CG_HAS_SM90A
  asm volatile("wgmma.commit_group.sync.aligned;" ::: "memory");
#else
  __trap();
#endif
}

// Waits until at most N of this warpgroup's committed wgmma groups are pending.
// `d` is the accumulator the pending groups write (the asm names it so that the
// compiler keeps its registers live and does not read them early).
template <int N>
__device__ __forceinline__ void wgmma_wait(float d[64]) {
#if CG_HAS_SM90A
  asm volatile("wgmma.wait_group.sync.aligned %0;" ::"n"(N) : "memory");
#pragma unroll
  for (int i = 0; i < 64; ++i) asm volatile("" : "+f"(d[i])::"memory");
#else
  (void)d;
  __trap();
#endif
}

// Orders this thread's earlier generic-proxy shared-memory stores before later
// async-proxy reads (wgmma operands).
__device__ __forceinline__ void fence_proxy_async() {
#if CG_HAS_SM90A
  asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
#else
  __trap();
#endif
}

// D (64x128 f32, fragment above) = A (64x16 bf16, K-major, descriptor da) *
// B (16x128 bf16: 128 rows of 16 K-contiguous elements, descriptor db) + (accumulate ? D : 0).
__device__ __forceinline__ void wgmma_bf16_m64n128k16(float d[64], uint64_t da, uint64_t db, int accumulate) {
#if CG_HAS_SM90A
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {"
      "%0,%1,%2,%3,%4,%5,%6,%7,"
      "%8,%9,%10,%11,%12,%13,%14,%15,"
      "%16,%17,%18,%19,%20,%21,%22,%23,"
      "%24,%25,%26,%27,%28,%29,%30,%31,"
      "%32,%33,%34,%35,%36,%37,%38,%39,"
      "%40,%41,%42,%43,%44,%45,%46,%47,"
      "%48,%49,%50,%51,%52,%53,%54,%55,"
      "%56,%57,%58,%59,%60,%61,%62,%63},"
      " %64, %65, p, 1, 1, 0, 0;\n}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
        "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]),
        "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]),
        "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]),
        "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]),
        "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]),
        "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]),
        "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
      : "l"(da), "l"(db), "r"(accumulate));
#else
  (void)d, (void)da, (void)db, (void)accumulate;
  __trap();
#endif
}

}  // namespace cg::ptx

#endif
