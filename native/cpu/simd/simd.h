// Run-time SIMD selection for the CPU kernels. A kernel file defines its
// per-ISA body through foreach_isa.h, then calls CG_SIMD_PICK(fn) to get the
// version for the active level (runtime/cpu_features.h: detected, or forced
// by CUDAGRAD_SIMD / setSimdLevel).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "../../runtime/cpu_features.h"

#if defined(__x86_64__)
#define CG_SIMD_PICK(fn)                                                                   \
  (::cg::simd_level() == ::cg::SimdLevel::AVX512 ? &::cg::cpu::isa_avx512::fn            \
   : ::cg::simd_level() == ::cg::SimdLevel::AVX2 ? &::cg::cpu::isa_avx2::fn              \
                                                  : &::cg::cpu::isa_scalar::fn)
#else
#define CG_SIMD_PICK(fn) (&::cg::cpu::isa_scalar::fn)
#endif
