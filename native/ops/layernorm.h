// LayerNorm over the last axis (as llm.c layernorm). inp viewed as (N, C).
//   forward:  mean (N), rstd (N) = 1 / sqrt(var + eps) (biased variance);
//             out (N, C) = (inp - mean) * rstd * weight + bias
//             weight (C) or null (ones), bias (C) or null (zeros)
//   backward: dinp (N, C)           activation gradient: =
//             dweight (C), dbias (C) parameter gradients: += (null: skipped)
//             from dout (N, C), inp, weight (or null) and the forward's mean, rstd.
// Statistics: two passes, the first shifted by the row's first element, so a
// row with a large mean keeps its variance (no E[x^2] - E[x]^2 cancellation).
// C == 0: mean 0, rstd 1 / sqrt(eps).
#pragma once

#include <cstdint>

namespace cg::cpu {
void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight, const float* bias,
                       int64_t N, int64_t C, float eps);
void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                        const float* weight, const float* mean, const float* rstd, int64_t N, int64_t C);
}  // namespace cg::cpu

namespace cg::cuda {
void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight, const float* bias,
                       int64_t N, int64_t C, float eps);
void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                        const float* weight, const float* mean, const float* rstd, int64_t N, int64_t C);
}  // namespace cg::cuda
