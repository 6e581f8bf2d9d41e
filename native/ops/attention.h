// Fused scaled-dot-product attention (flash-style: tiled, online softmax; the
// (Tq x Tk) score matrix is never materialised).
//   q (B, H, Tq, D), k and v (B, H, Tk, D), out (B, H, Tq, D), lse (B, H, Tq)
//   S = q k^T * scale + mask, scale = 1 / sqrt(D); out = softmax(S) v
// Key-padding mask (B, Tk), at most one of:
//   mask       float32, added to the scores (0 or negative; -inf excludes a key)
//   mask_bool  int32, nonzero = attend, 0 = excluded
// causal: bottom-right aligned (as FlashAttention 2): query i may attend key j
//   iff j <= i + (Tk - Tq); for Tq == Tk the usual lower triangle.
// A query row whose keys are all excluded (by the mask and/or causality, or
// Tk == 0) gets out = 0, lse = +inf, and zero gradients. Keys the mask
// excludes are never read (their k, v rows may hold NaN or garbage, as
// unwritten KV-cache slots); other NaN inputs give NaN where the unfused
// softmax(q k^T * scale + mask) v does.
//   forward:  out, lse = log(sum_j exp(S_ij)) per row (+inf for such rows)
//   backward: dq, dk, dv from dout (B, H, Tq, D) and the forward's out and lse
//             (activation gradients: =, every element written).
// *_bf16: q, k, v, dout, out and dq, dk, dv hold bfloat16 bits (uint16_t);
//   lse, the masks and all accumulation stay float32; each result is rounded to
//   bf16 once, at the end. CPU: through float32 copies and the float32
//   kernels. CUDA: the tensor-core kernels read and write bf16 directly (bf16
//   mma.sync whatever the matmul precision, as the inputs already are bf16);
//   where they do not run (sm_75, D > 128), float32 copies as on the CPU.
#pragma once

#include <cstdint>

namespace cg::cpu {
void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v, const float* mask,
                       const int32_t* mask_bool, int64_t B, int64_t H, int64_t Tq, int64_t Tk, int64_t D, bool causal);
void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                        const float* v, const float* out, const float* lse, const float* mask,
                        const int32_t* mask_bool, int64_t B, int64_t H, int64_t Tq, int64_t Tk, int64_t D,
                        bool causal);
void attention_forward_bf16(uint16_t* out, float* lse, const uint16_t* q, const uint16_t* k, const uint16_t* v,
                            const float* mask, const int32_t* mask_bool, int64_t B, int64_t H, int64_t Tq, int64_t Tk,
                            int64_t D, bool causal);
void attention_backward_bf16(uint16_t* dq, uint16_t* dk, uint16_t* dv, const uint16_t* dout, const uint16_t* q,
                             const uint16_t* k, const uint16_t* v, const uint16_t* out, const float* lse,
                             const float* mask, const int32_t* mask_bool, int64_t B, int64_t H, int64_t Tq,
                             int64_t Tk, int64_t D, bool causal);
}  // namespace cg::cpu

namespace cg::cuda {
void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v, const float* mask,
                       const int32_t* mask_bool, int64_t B, int64_t H, int64_t Tq, int64_t Tk, int64_t D, bool causal);
void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                        const float* v, const float* out, const float* lse, const float* mask,
                        const int32_t* mask_bool, int64_t B, int64_t H, int64_t Tq, int64_t Tk, int64_t D,
                        bool causal);
void attention_forward_bf16(uint16_t* out, float* lse, const uint16_t* q, const uint16_t* k, const uint16_t* v,
                            const float* mask, const int32_t* mask_bool, int64_t B, int64_t H, int64_t Tq, int64_t Tk,
                            int64_t D, bool causal);
void attention_backward_bf16(uint16_t* dq, uint16_t* dk, uint16_t* dv, const uint16_t* dout, const uint16_t* q,
                             const uint16_t* k, const uint16_t* v, const uint16_t* out, const float* lse,
                             const float* mask, const int32_t* mask_bool, int64_t B, int64_t H, int64_t Tq,
                             int64_t Tk, int64_t D, bool causal);
}  // namespace cg::cuda
