// Attention dispatch: all checks for cudagrad.attention (shapes, dtypes,
// devices), allocation of the results, then the cpu:: / cuda:: kernel.
//   q (B, H, Tq, D), k and v (B, H, Tk, D) of one dtype, float32 or bfloat16,
//   with B, H, D agreeing and D >= 1; mask (B, Tk) float32 (additive) or int32
//   (boolean) or null. out has q's dtype, lse is float32.
//   backward: dout and out shaped as q and of q's dtype, lse (B, H, Tq)
//   float32; dq, dk, dv of q's dtype.
#pragma once

#include "../ops/attention.h"
#include "../runtime/tensor.h"

namespace cg::dispatch {

struct AttentionOut {
  TensorPtr out;  // (B, H, Tq, D)
  TensorPtr lse;  // (B, H, Tq); +inf for rows with no attended key
};

struct AttentionGrads {
  TensorPtr dq, dk, dv;
};

AttentionOut attention_forward(const TensorImpl& q, const TensorImpl& k, const TensorImpl& v, const TensorImpl* mask,
                               bool causal);
AttentionGrads attention_backward(const TensorImpl& dout, const TensorImpl& q, const TensorImpl& k,
                                  const TensorImpl& v, const TensorImpl& out, const TensorImpl& lse,
                                  const TensorImpl* mask, bool causal);

}  // namespace cg::dispatch
