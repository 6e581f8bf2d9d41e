// Embedding dispatch: idx int32 of any shape, each value in [0, V) (else
// RangeError naming the value and its flat position); weight (V, C) float32.
// Forward returns (idx.shape..., C). Backward takes dout (idx.shape..., C) and
// V, and returns a freshly zeroed dweight (V, C) that the kernel accumulates into.
#pragma once

#include "../ops/embedding.h"
#include "../runtime/tensor.h"

namespace cg::dispatch {

TensorPtr embedding_forward(const TensorImpl& idx, const TensorImpl& weight);
TensorPtr embedding_backward(const TensorImpl& dout, const TensorImpl& idx, int64_t V);

}  // namespace cg::dispatch
