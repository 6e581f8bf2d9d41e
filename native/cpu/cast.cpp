// CPU dtype conversion (ops/cast.h): one parallel loop per (from, to) pair;
// float32 <-> bfloat16 through the per-ISA loops of cast.inc.
#include "../ops/cast.h"

#include "../runtime/error.h"
#include "../runtime/thread_pool.h"
#include "simd/simd.h"
#define CG_ISA_BODY "../cast.inc"
#include "simd/foreach_isa.h"

namespace cg::cpu {

namespace {

constexpr int64_t kGrain = 1 << 15;

template <typename Out, typename In>
void cast_typed(void* out, const void* in, int64_t n) {
  Out* o = static_cast<Out*>(out);
  const In* x = static_cast<const In*>(in);
  parallel_for(n, kGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) cast_one(o + i, x[i]);
  });
}

template <typename Out, typename In, typename Fn>
void cast_simd(Fn fn, void* out, const void* in, int64_t n) {
  Out* o = static_cast<Out*>(out);
  const In* x = static_cast<const In*>(in);
  parallel_for(n, kGrain, [&](int64_t lo, int64_t hi) { fn(o, x, lo, hi); });
}

template <typename In>
void cast_from(void* out, DType to, const void* in, int64_t n) {
  switch (to) {
    case DType::Float32: return cast_typed<float, In>(out, in, n);
    case DType::Int32: return cast_typed<int32_t, In>(out, in, n);
    case DType::BFloat16: return cast_typed<uint16_t, In>(out, in, n);
  }
  throw_error("cast: unknown dtype");
}

}  // namespace

void cast(void* out, DType to, const void* in, DType from, int64_t n) {
  if (n <= 0) return;
  switch (from) {
    case DType::Float32:
      if (to == DType::BFloat16) return cast_simd<uint16_t, float>(CG_SIMD_PICK(cast_k::f32_to_bf16), out, in, n);
      return cast_from<float>(out, to, in, n);
    case DType::Int32: return cast_from<int32_t>(out, to, in, n);
    case DType::BFloat16:
      if (to == DType::Float32) return cast_simd<float, uint16_t>(CG_SIMD_PICK(cast_k::bf16_to_f32), out, in, n);
      return cast_from<uint16_t>(out, to, in, n);
  }
  throw_error("cast: unknown dtype");
}

}  // namespace cg::cpu
