// Attention dispatch: all checks for cudagrad.attention (shapes, dtypes,
// devices), allocation of the results, then the cpu:: / cuda:: kernel.
//   q (B, H, Tq, D), k and v (B, H, Tk, D) float32 with B, H, D agreeing and
//   D >= 1; mask (B, Tk) float32 (additive) or int32 (boolean) or null.
//   backward: dout and out shaped as q, lse (B, H, Tq) float32.
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
