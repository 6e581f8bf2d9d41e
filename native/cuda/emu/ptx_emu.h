// Emulated twins of native/cuda/ptx.cuh for the SIMT emulator. The warp-wide
// instructions (mma, ldmatrix) are warp collectives: every lane deposits its
// registers, the last arrival computes the whole tile from the fragment
// layouts of the PTX ISA, and each lane gets its own output registers back.
// mma reads only the tf32 / bf16 bits of its inputs (as the hardware does) and
// accumulates in double before one rounding to float. cp.async copies happen
// at the cp_async_wait that retires their group, not at issue, so a missing
// wait shows up as stale shared memory.
//
// wgmma (sm_90a): mma_async is a warpgroup collective that checks that the 128
// threads pass the same descriptors and accumulate flag, and that each issued
// a wgmma.fence since its last wait (the emulator asks for a fence after every
// wait_group: stricter than the ISA, which needs one only when the registers
// were touched). The product itself happens at the wait_group that retires
// the op's group, each thread computing its own accumulator fragment from
// shared memory as it is then: reading the accumulators before the wait gives
// stale values, and overwriting an operand before the wait changes the result,
// as either would on a GPU. Descriptors are decoded field by field (start,
// LBO, SBO; reserved bits must be 0; only the no-swizzle layout is emulated,
// others fail the launch); their addresses are offsets into the dynamic
// shared memory window. fence.proxy.async is a no-op here (one address space).
#pragma once

#include <cstdint>
#include <cstring>

#include "simt.h"

namespace cg::emu {
void cp_async_push(void* dst, const void* src, int bytes);
void cp_async_commit_group();
void cp_async_wait_groups(int n);
void resolve_mma_tf32(const void* const* in, void* const* out, unsigned mask, int width);
void resolve_mma_bf16(const void* const* in, void* const* out, unsigned mask, int width);
void resolve_ldmatrix(const void* const* in, void* const* out, unsigned mask, int width);
void resolve_ldmatrix_trans(const void* const* in, void* const* out, unsigned mask, int width);

uint64_t wgmma_smem_desc(const void* smem, uint32_t lbo_bytes, uint32_t sbo_bytes);
void wgmma_fence();
void wgmma_commit();
void wgmma_wait(int n);
void wgmma_mma_bf16_m64n128k16(const char* file, int line, float* d, uint64_t da, uint64_t db, int accumulate);

struct MmaIn {
  uint32_t a[4];
  uint32_t b[2];
  float c[4];
};
}  // namespace cg::emu

namespace cg::ptx {

inline uint32_t cvt_tf32(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7f800000u) == 0x7f800000u) return u;  // inf / NaN unchanged
  u += 0x1000u;                                     // round half away from zero on the 13 dropped bits
  return u & 0xffffe000u;
}

#define CG_EMU_MMA(fn, resolve)                                                                         \
  inline void fn##_at(const char* file, int line, float d[4], const uint32_t a[4], const uint32_t b[2], \
                      const float c[4]) {                                                               \
    ::cg::emu::MmaIn in;                                                                                \
    std::memcpy(in.a, a, 16);                                                                           \
    std::memcpy(in.b, b, 8);                                                                            \
    std::memcpy(in.c, c, 16);                                                                           \
    ::cg::emu::warp_collective(#fn, 0xffffffffu, 32, file, line, &in, sizeof in, d, resolve);           \
  }
CG_EMU_MMA(mma_tf32_16x8x8, ::cg::emu::resolve_mma_tf32)
CG_EMU_MMA(mma_bf16_16x8x16, ::cg::emu::resolve_mma_bf16)
#undef CG_EMU_MMA

inline void ldmatrix_x4_at(const char* file, int line, uint32_t r[4], const void* smem_row) {
  ::cg::emu::warp_collective("ldmatrix_x4", 0xffffffffu, 32, file, line, &smem_row, sizeof smem_row, r,
                             ::cg::emu::resolve_ldmatrix);
}
inline void ldmatrix_x4_trans_at(const char* file, int line, uint32_t r[4], const void* smem_row) {
  ::cg::emu::warp_collective("ldmatrix_x4_trans", 0xffffffffu, 32, file, line, &smem_row, sizeof smem_row, r,
                             ::cg::emu::resolve_ldmatrix_trans);
}

inline void cp_async_16(void* smem, const void* gmem) { ::cg::emu::cp_async_push(smem, gmem, 16); }
inline void cp_async_commit() { ::cg::emu::cp_async_commit_group(); }
template <int N>
inline void cp_async_wait() {
  ::cg::emu::cp_async_wait_groups(N);
}

inline uint64_t smem_desc(const void* smem, uint32_t lbo_bytes, uint32_t sbo_bytes) {
  return ::cg::emu::wgmma_smem_desc(smem, lbo_bytes, sbo_bytes);
}
inline void wgmma_fence() { ::cg::emu::wgmma_fence(); }
inline void wgmma_commit() { ::cg::emu::wgmma_commit(); }
template <int N>
inline void wgmma_wait(float*) {
  ::cg::emu::wgmma_wait(N);
}
inline void fence_proxy_async() {}
inline void wgmma_bf16_m64n128k16_at(const char* file, int line, float d[64], uint64_t da, uint64_t db, int accumulate) {
  ::cg::emu::wgmma_mma_bf16_m64n128k16(file, line, d, da, db, accumulate);
}

}  // namespace cg::ptx

// Call sites are recorded for the emulator's error messages.
#define mma_tf32_16x8x8(...) mma_tf32_16x8x8_at(__FILE__, __LINE__, __VA_ARGS__)
#define mma_bf16_16x8x16(...) mma_bf16_16x8x16_at(__FILE__, __LINE__, __VA_ARGS__)
#define ldmatrix_x4(...) ldmatrix_x4_at(__FILE__, __LINE__, __VA_ARGS__)
#define wgmma_bf16_m64n128k16(...) wgmma_bf16_m64n128k16_at(__FILE__, __LINE__, __VA_ARGS__)
#define ldmatrix_x4_trans(...) ldmatrix_x4_trans_at(__FILE__, __LINE__, __VA_ARGS__)
