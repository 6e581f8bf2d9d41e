// CPU elementwise ops (ops/elementwise.h): SIMD row kernels per ISA, driven
// over the broadcast output in flat chunks split over the pool.
#include "../ops/elementwise.h"

#include <algorithm>

#include "../runtime/thread_pool.h"
#include "bcast_walk.h"
#include "simd/simd.h"
#define CG_ISA_BODY "../elementwise.inc"
#include "simd/foreach_isa.h"

namespace cg::cpu {

namespace {

constexpr int64_t kGrain = 1 << 14;

}  // namespace

void binary_forward(float* out, const float* a, const float* b, const Bcast& bc, Binary op) {
  auto fn = CG_SIMD_PICK(ew::binary_row);
  const int64_t sa = bc.astride[bc.ndim - 1], sb = bc.bstride[bc.ndim - 1];
  parallel_for(bcast_numel(bc), kGrain, [&](int64_t lo, int64_t hi) {
    bcast_walk(bc, lo, hi, [&](int64_t pos, int64_t ao, int64_t bo, int64_t len) { fn(out + pos, a + ao, sa, b + bo, sb, len, op); });
  });
}

void binary_scalar_forward(float* out, const float* a, float s, int64_t n, Binary op) {
  auto fn = CG_SIMD_PICK(ew::binary_scalar);
  parallel_for(n, kGrain, [&](int64_t lo, int64_t hi) { fn(out + lo, a + lo, s, hi - lo, op); });
}

void binary_backward(float* dinp, const float* dout, const float* a, const float* b, const Bcast& bc, Binary op, int which) {
  auto fn = CG_SIMD_PICK(ew::binary_grad_row);
  const int64_t sa = bc.astride[bc.ndim - 1], sb = bc.bstride[bc.ndim - 1];
  parallel_for(bcast_numel(bc), kGrain, [&](int64_t lo, int64_t hi) {
    bcast_walk(bc, lo, hi, [&](int64_t pos, int64_t ao, int64_t bo, int64_t len) {
      fn(dinp + pos, dout + pos, a + ao, sa, b + bo, sb, len, op, which);
    });
  });
}

void binary_scalar_backward(float* dinp, const float* dout, const float* a, float s, int64_t n, Binary op) {
  auto fn = CG_SIMD_PICK(ew::binary_scalar_grad);
  parallel_for(n, kGrain, [&](int64_t lo, int64_t hi) { fn(dinp + lo, dout + lo, a + lo, s, hi - lo, op); });
}

void unary_forward(float* out, const float* inp, int64_t n, Unary op) {
  auto fn = CG_SIMD_PICK(ew::unary);
  parallel_for(n, kGrain, [&](int64_t lo, int64_t hi) { fn(out + lo, inp + lo, hi - lo, op); });
}

void unary_backward(float* dinp, const float* dout, const float* inp, const float* out, int64_t n, Unary op) {
  auto fn = CG_SIMD_PICK(ew::unary_grad);
  parallel_for(n, kGrain, [&](int64_t lo, int64_t hi) {
    fn(dinp + lo, dout + lo, inp ? inp + lo : nullptr, out ? out + lo : nullptr, hi - lo, op);
  });
}

void clamp_forward(float* out, const float* inp, int64_t n, float lo, float hi) {
  auto fn = CG_SIMD_PICK(ew::clamp);
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) { fn(out + b, inp + b, e - b, lo, hi); });
}

void clamp_backward(float* dinp, const float* dout, const float* inp, int64_t n, float lo, float hi) {
  auto fn = CG_SIMD_PICK(ew::clamp_grad);
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) { fn(dinp + b, dout + b, inp + b, e - b, lo, hi); });
}

}  // namespace cg::cpu
