// Cross-entropy fused with log-softmax, over logits (N, C) and int32 targets
// (N). Each target is in [0, C) or ignore_index: dispatch checks CPU targets on
// the host; the CUDA kernels check on the device (report_index_error, raised
// at the next sync) and treat a bad row as ignored.
//   forward:  losses (N) = logsumexp(logits[n]) - logits[n, targets[n]],
//             0 where targets[n] == ignore_index
//   reduce:   out (1) = scale * sum(losses)   (sum in double)
//   backward: dlogits (N, C) = (softmax(logits[n]) - onehot(targets[n])) * dloss[n * dloss_stride] * scale,
//             0 rows where ignored (activation gradient: =). dloss_stride 0: one
//             scalar dloss (mean/sum), 1: per row (no reduction).
//   forward_backward: both at once for dloss = 1 (the autograd seed of a
//             mean/sum loss): losses (N) as forward, dlogits (N, C) as backward
//             with dloss 1 -- one read of the logits instead of two.
//   scale: mean ? 1 / count : 1, count = number of targets != ignore_index
//          (0 when none), counted by the kernels from `targets` (on the device
//          for CUDA: no host read of the targets).
// Each row is read from memory once (max, exp-sum, write sweeps on the row in cache).
#pragma once

#include <cstdint>

namespace cg::cpu {
void crossentropy_forward(float* losses, const float* logits, const int32_t* targets, int64_t N, int64_t C,
                          int32_t ignore_index);
void crossentropy_reduce(float* out, const float* losses, const int32_t* targets, int64_t N, int32_t ignore_index,
                         bool mean);
void crossentropy_backward(float* dlogits, const float* dloss, int64_t dloss_stride, const float* logits,
                           const int32_t* targets, int64_t N, int64_t C, int32_t ignore_index, bool mean);
void crossentropy_forward_backward(float* losses, float* dlogits, const float* logits, const int32_t* targets,
                                   int64_t N, int64_t C, int32_t ignore_index, bool mean);
}  // namespace cg::cpu

namespace cg::cuda {
void crossentropy_forward(float* losses, const float* logits, const int32_t* targets, int64_t N, int64_t C,
                          int32_t ignore_index);
void crossentropy_reduce(float* out, const float* losses, const int32_t* targets, int64_t N, int32_t ignore_index,
                         bool mean);
void crossentropy_backward(float* dlogits, const float* dloss, int64_t dloss_stride, const float* logits,
                           const int32_t* targets, int64_t N, int64_t C, int32_t ignore_index, bool mean);
void crossentropy_forward_backward(float* losses, float* dlogits, const float* logits, const int32_t* targets,
                                   int64_t N, int64_t C, int32_t ignore_index, bool mean);
}  // namespace cg::cuda
