// CPU attention backward (ops/attention.h): SIMD body per ISA
// (attention_backward.inc), one task per (batch, head) split over the pool;
// with fewer heads than threads, each head's key tiles are split over tasks
// that write partial dq rows, summed here afterwards. Scratch allocated once
// per thread chunk.
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
  const int64_t BH = B * H, key_tiles = Tkp / attn::kBk, threads = num_threads();
  int64_t splits = 1;
  if (BH > 0 && BH < threads) splits = std::min((threads + BH - 1) / BH, key_tiles);
  if (splits < 1) splits = 1;
  const int64_t ld_part = attn::round_up(D, 16);
  std::vector<float> dq_part(splits > 1 ? static_cast<size_t>(BH * splits * Tq * ld_part) : 0);
  attn::BwdArgs a{dq, dk, dv, dout, q, k, v, out, lse, madd.data(), H, Tq, Tk, D, Tkp, mask || mask_bool, causal,
                  static_cast<float>(1.0 / std::sqrt(double(D))), splits, dq_part.data(), ld_part};
  auto fn = CG_SIMD_PICK(attention_backward_tasks);
  auto scratch_floats = CG_SIMD_PICK(attention_backward_scratch);
  const int64_t n_scratch = scratch_floats(Tq, Tk, D, Tkp, a.masked);
  parallel_for(BH * splits, 1, [&](int64_t lo, int64_t hi) {
    attn::Scratch scratch(static_cast<size_t>(n_scratch));
    fn(a, lo, hi, scratch.data());
  });
  if (splits > 1) {  // dq = sum of the key splits' parts
    for (int64_t bh = 0; bh < BH; ++bh)
      for (int64_t i = 0; i < Tq; ++i) {
        float* dst = dq + (bh * Tq + i) * D;
        for (int64_t d = 0; d < D; ++d) dst[d] = 0.f;
        for (int64_t s = 0; s < splits; ++s) {
          const float* src = dq_part.data() + ((bh * splits + s) * Tq + i) * ld_part;
          for (int64_t d = 0; d < D; ++d) dst[d] += src[d];
        }
      }
  }
}

}  // namespace cg::cpu
