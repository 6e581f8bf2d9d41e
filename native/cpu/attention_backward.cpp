// CPU attention backward (ops/attention.h): SIMD body per ISA
// (attention_backward.inc), one task per (batch, head) split over the pool;
// scratch allocated once per thread chunk.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "../ops/attention.h"
#include "../runtime/thread_pool.h"
#include "attention_common.h"
#include "simd/simd.h"
#define CG_ISA_BODY "../attention_backward.inc"
#include "simd/foreach_isa.h"

namespace cg::cpu {

void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                        const float* v, const float* out, const float* lse, const float* mask,
                        const int32_t* mask_bool, int64_t B, int64_t H, int64_t Tq, int64_t Tk, int64_t D,
                        bool causal) {
  const int64_t Tkp = attn::round_up(Tk, attn::kBk);
  std::vector<float> madd = attn::additive_mask(mask, mask_bool, B, Tk, Tkp);
  attn::BwdArgs a{dq, dk, dv, dout, q, k, v, out, lse, madd.data(), H, Tq, Tk, D, Tkp, mask || mask_bool, causal,
                  static_cast<float>(1.0 / std::sqrt(double(D)))};
  auto fn = CG_SIMD_PICK(attention_backward_tasks);
  auto scratch_floats = CG_SIMD_PICK(attention_backward_scratch);
  const int64_t n_scratch = scratch_floats(Tq, Tk, D, Tkp, a.masked);
  parallel_for(B * H, 1, [&](int64_t lo, int64_t hi) {
    attn::Scratch scratch(static_cast<size_t>(n_scratch));
    fn(a, lo, hi, scratch.data());
  });
}

}  // namespace cg::cpu
