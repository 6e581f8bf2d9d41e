// Softmax and log-softmax over one axis, with an optional causal mask.
// The input is viewed as (outer, C, inner) with the softmax over C; inner == 1
// is the last axis (the fast path).
//   forward:  out (outer, C, inner) = softmax(inp) or log_softmax(inp) over C
//   backward: dinp (outer, C, inner) from dout and the forward's out
//             softmax:     dinp = out * (dout - sum_C(dout * out))
//             log-softmax: dinp = dout - exp(out) * sum_C(dout)
//             (activation gradient: =)
// Causal mask (tq > 0, inner == 1 only): rows come in groups of tq (the query
// axis, Tq); with Tk = C, element (i, j) of a group is masked when
// j > i + (Tk - Tq) (bottom-right alignment, as attention). Masked entries
// output 0 (softmax) or -inf (log-softmax); a fully masked row (Tq > Tk) is all
// zeros for both, never NaN. Backward gives 0 at masked entries, and
// log-softmax's sum runs over the unmasked entries only. tq <= 0: no mask.
// Numerics: max subtraction; a row of all -inf (no mask) gives NaN, as PyTorch.
#pragma once

#include <cstdint>

namespace cg::cpu {
void softmax_forward(float* out, const float* inp, int64_t outer, int64_t C, int64_t inner, int64_t tq, bool log);
void softmax_backward(float* dinp, const float* dout, const float* out, int64_t outer, int64_t C, int64_t inner,
                      int64_t tq, bool log);
}  // namespace cg::cpu

namespace cg::cuda {
void softmax_forward(float* out, const float* inp, int64_t outer, int64_t C, int64_t inner, int64_t tq, bool log);
void softmax_backward(float* dinp, const float* dout, const float* out, int64_t outer, int64_t C, int64_t inner,
                      int64_t tq, bool log);
}  // namespace cg::cuda
