// CPU cross-entropy (ops/loss.h): SIMD body per ISA (loss.inc), rows split
// over the pool; the reduction is one sequential double sum over the N losses.
#include "../ops/loss.h"

#include <algorithm>
#include <vector>

#include "../runtime/thread_pool.h"
#include "simd/simd.h"
#define CG_ISA_BODY "../loss.inc"
#include "simd/foreach_isa.h"

namespace cg::cpu {

namespace {
constexpr int64_t kGrain = 1 << 14;  // elements per chunk, at least
}

void crossentropy_forward(float* losses, const float* logits, const int32_t* targets, int64_t N, int64_t C,
                          int32_t ignore_index) {
  auto fn = CG_SIMD_PICK(loss_k::crossentropy_forward);
  parallel_for(N, std::max<int64_t>(1, kGrain / std::max<int64_t>(C, 1)), [&](int64_t lo, int64_t hi) {
    fn(losses + lo, logits + lo * C, targets + lo, hi - lo, C, ignore_index);
  });
}

void crossentropy_reduce(float* out, const float* losses, int64_t N, double scale) {
  double sum = 0;
  for (int64_t n = 0; n < N; ++n) sum += losses[n];
  out[0] = static_cast<float>(sum * scale);
}

void crossentropy_backward(float* dlogits, const float* dloss, int64_t dloss_stride, const float* logits,
                           const int32_t* targets, int64_t N, int64_t C, int32_t ignore_index, float scale) {
  auto fn = CG_SIMD_PICK(loss_k::crossentropy_backward);
  parallel_for(N, std::max<int64_t>(1, kGrain / std::max<int64_t>(C, 1)), [&](int64_t lo, int64_t hi) {
    fn(dlogits + lo * C, dloss + lo * dloss_stride, dloss_stride, logits + lo * C, targets + lo, hi - lo, C,
       ignore_index, scale);
  });
}

}  // namespace cg::cpu
