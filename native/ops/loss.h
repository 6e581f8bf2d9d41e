// Cross-entropy fused with log-softmax, over logits (N, C) and int32 targets
// (N). Targets are validated by dispatch: each is in [0, C) or ignore_index.
//   forward:  losses (N) = logsumexp(logits[n]) - logits[n, targets[n]],
//             0 where targets[n] == ignore_index
//   reduce:   out (1) = scale * sum(losses)   (sum in double; mean: scale = 1 / count)
//   backward: dlogits (N, C) = (softmax(logits[n]) - onehot(targets[n])) * dloss[n * dloss_stride] * scale,
//             0 rows where ignored (activation gradient: =). dloss_stride 0: one
//             scalar dloss (mean/sum), 1: per row (no reduction).
// Each row is read from memory once (max, exp-sum, write sweeps on the row in cache).
#pragma once

#include <cstdint>

namespace cg::cpu {
void crossentropy_forward(float* losses, const float* logits, const int32_t* targets, int64_t N, int64_t C,
                          int32_t ignore_index);
void crossentropy_reduce(float* out, const float* losses, int64_t N, double scale);
void crossentropy_backward(float* dlogits, const float* dloss, int64_t dloss_stride, const float* logits,
                           const int32_t* targets, int64_t N, int64_t C, int32_t ignore_index, float scale);
}  // namespace cg::cpu

namespace cg::cuda {
void crossentropy_forward(float* losses, const float* logits, const int32_t* targets, int64_t N, int64_t C,
                          int32_t ignore_index);
void crossentropy_reduce(float* out, const float* losses, int64_t N, double scale);
void crossentropy_backward(float* dlogits, const float* dloss, int64_t dloss_stride, const float* logits,
                           const int32_t* targets, int64_t N, int64_t C, int32_t ignore_index, float scale);
}  // namespace cg::cuda
