// CPU cross-entropy (ops/loss.h): SIMD body per ISA (loss.inc), rows split
// over the pool; the reduction is one sequential double sum over the N losses
// (and for 'mean' a count of the non-ignored targets).
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

// 1 / (number of targets != ignore_index), 0 when none.
double mean_scale(const int32_t* targets, int64_t N, int32_t ignore_index) {
  int64_t count = 0;
  for (int64_t n = 0; n < N; ++n) count += targets[n] != ignore_index;
  return count > 0 ? 1.0 / static_cast<double>(count) : 0.0;
}
}  // namespace

void crossentropy_forward(float* losses, const float* logits, const int32_t* targets, int64_t N, int64_t C,
                          int32_t ignore_index) {
  auto fn = CG_SIMD_PICK(loss_k::crossentropy_forward);
  parallel_for(N, std::max<int64_t>(1, kGrain / std::max<int64_t>(C, 1)), [&](int64_t lo, int64_t hi) {
    fn(losses + lo, logits + lo * C, targets + lo, hi - lo, C, ignore_index);
  });
}

void crossentropy_reduce(float* out, const float* losses, const int32_t* targets, int64_t N, int32_t ignore_index,
                         bool mean) {
  double sum = 0;
  for (int64_t n = 0; n < N; ++n) sum += losses[n];
  out[0] = static_cast<float>(sum * (mean ? mean_scale(targets, N, ignore_index) : 1.0));
}

namespace {
// dlogits (and the per-row losses when non-null) for dloss (null: 1), rows split over the pool.
void backward_rows(float* dlogits, float* losses, const float* dloss, int64_t dloss_stride, const float* logits,
                   const int32_t* targets, int64_t N, int64_t C, int32_t ignore_index, bool mean) {
  float scale = mean ? static_cast<float>(mean_scale(targets, N, ignore_index)) : 1.f;
  auto fn = CG_SIMD_PICK(loss_k::crossentropy_backward);
  parallel_for(N, std::max<int64_t>(1, kGrain / std::max<int64_t>(C, 1)), [&](int64_t lo, int64_t hi) {
    fn(dlogits + lo * C, dloss ? dloss + lo * dloss_stride : nullptr, dloss_stride, logits + lo * C, targets + lo,
       hi - lo, C, ignore_index, scale, losses ? losses + lo : nullptr);
  });
}
}  // namespace

void crossentropy_backward(float* dlogits, const float* dloss, int64_t dloss_stride, const float* logits,
                           const int32_t* targets, int64_t N, int64_t C, int32_t ignore_index, bool mean) {
  backward_rows(dlogits, nullptr, dloss, dloss_stride, logits, targets, N, C, ignore_index, mean);
}

void crossentropy_forward_backward(float* losses, float* dlogits, const float* logits, const int32_t* targets,
                                   int64_t N, int64_t C, int32_t ignore_index, bool mean) {
  backward_rows(dlogits, losses, nullptr, 0, logits, targets, N, C, ignore_index, mean);
}

}  // namespace cg::cpu
