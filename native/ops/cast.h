// cast: out (n) of dtype `to` = in (n) of dtype `from` converted element by
// element (from != to; dispatch copies when they are equal). Every value goes
// through float32, as torch's conversions do:
//   bfloat16 -> float32   exact
//   float32  -> bfloat16  round to nearest even; overflow gives +-inf; NaN stays NaN
//   int32    -> float32   round to nearest even (exact up to 2^24)
//   int32    -> bfloat16  through float32 (two roundings, as torch)
//   float32, bfloat16 -> int32   truncate toward zero, saturating at the int32
//                        range; NaN -> 0 (torch leaves both undefined)
// No gradient here (autograd casts the gradient back, lib/ops/cast.ts).
#pragma once

#include <cstdint>
#include <climits>

#include "../runtime/bf16.h"
#include "../runtime/dtype.h"
#include "../runtime/hd.h"

namespace cg {

namespace cast_detail {
CG_HD float to_float(float x) { return x; }
CG_HD float to_float(int32_t x) { return static_cast<float>(x); }
CG_HD float to_float(uint16_t bf16) { return bf16_to_float(bf16); }

CG_HD void store(float* o, float v) { *o = v; }
CG_HD void store(uint16_t* o, float v) { *o = bf16_from_float(v); }
CG_HD void store(int32_t* o, float v) {
  *o = v != v ? 0 : v >= 2147483648.0f ? INT32_MAX : v <= -2147483648.0f ? INT32_MIN : static_cast<int32_t>(v);
}
}  // namespace cast_detail

// One element of `In` (float, int32_t, or uint16_t bfloat16 bits) as `Out`.
template <typename Out, typename In>
CG_HD void cast_one(Out* out, In in) {
  cast_detail::store(out, cast_detail::to_float(in));
}

}  // namespace cg

namespace cg::cpu {
void cast(void* out, DType to, const void* in, DType from, int64_t n);
}  // namespace cg::cpu

namespace cg::cuda {
void cast(void* out, DType to, const void* in, DType from, int64_t n);
}  // namespace cg::cuda
