// Cross-entropy dispatch: logits (N, C) float32, targets (N) int32, each in
// [0, C) or ignore_index (else RangeError naming the row and the value).
// Reductions: mean over the non-ignored rows (0 when every row is ignored;
// PyTorch 1.13 gives NaN there), sum, or none (per-row losses (N), 0 at
// ignored rows). Forward returns a 0-d tensor (mean, sum) or (N) (none).
// Backward takes dloss of the forward's output size (one element for mean/sum,
// (N) for none) and returns dlogits (N, C).
#pragma once

#include "../ops/loss.h"
#include "../runtime/tensor.h"

namespace cg::dispatch {

enum class Reduction { Mean, Sum, None };

TensorPtr crossentropy_forward(const TensorImpl& logits, const TensorImpl& targets, int32_t ignore_index,
                               Reduction reduction);
// Forward and backward at once for dloss = 1 (reductions mean and sum: the
// gradient autograd seeds a scalar loss with): the loss and dlogits (N, C).
struct CrossEntropyWithGrad {
  TensorPtr loss, dlogits;
};
CrossEntropyWithGrad crossentropy_forward_backward(const TensorImpl& logits, const TensorImpl& targets,
                                                   int32_t ignore_index, Reduction reduction);
TensorPtr crossentropy_backward(const TensorImpl& dloss, const TensorImpl& logits, const TensorImpl& targets,
                                int32_t ignore_index, Reduction reduction);

}  // namespace cg::dispatch
