// CPU activations (ops/activation.h): SIMD body per ISA, split over the pool.
#include "../ops/activation.h"

#include "../runtime/thread_pool.h"
#include "simd/simd.h"
#define CG_ISA_BODY "../activation.inc"
#include "simd/foreach_isa.h"

namespace cg::cpu {

namespace {
constexpr int64_t kGrain = 1 << 14;
}

void activation_forward(float* out, const float* inp, int64_t n, Act act) {
  auto fn = CG_SIMD_PICK(act_k::activation_forward);
  parallel_for(n, kGrain, [&](int64_t lo, int64_t hi) { fn(out + lo, inp + lo, hi - lo, act); });
}

void activation_backward(float* dinp, const float* inp, const float* dout, int64_t n, Act act) {
  auto fn = CG_SIMD_PICK(act_k::activation_backward);
  parallel_for(n, kGrain, [&](int64_t lo, int64_t hi) { fn(dinp + lo, inp + lo, dout + lo, hi - lo, act); });
}

}  // namespace cg::cpu
