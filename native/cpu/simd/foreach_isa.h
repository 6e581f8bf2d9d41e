// Compiles one kernel body once per ISA: define CG_ISA_BODY to the body's path
// (relative to this folder, e.g. "../activation.inc") and include this file.
// The body then exists as cg::cpu::isa_scalar::..., isa_avx2::... and
// isa_avx512::..., each with the ISA's vector type V (W lanes) and math,
// compiled with that ISA enabled (GCC target pragmas), so one binary runs on
// any x86-64 and simd.h's CG_SIMD_PICK chooses at run time.
#ifndef CG_ISA_BODY
#error "define CG_ISA_BODY before including foreach_isa.h"
#endif

namespace cg::cpu::isa_scalar {
#include "scalar.inc"
#include "math.inc"
#include CG_ISA_BODY
}  // namespace cg::cpu::isa_scalar

#if defined(__x86_64__)
#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace cg::cpu::isa_avx2 {
#include "avx2.inc"
#include "math.inc"
#include CG_ISA_BODY
}  // namespace cg::cpu::isa_avx2
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")
namespace cg::cpu::isa_avx512 {
#include "avx512.inc"
#include "math.inc"
#include CG_ISA_BODY
}  // namespace cg::cpu::isa_avx512
#pragma GCC pop_options
#endif

#undef CG_ISA_BODY
