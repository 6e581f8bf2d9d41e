// LayerNorm dispatch: float32 input (..., C) with at least one dim, weight and
// bias (C) or null; forward returns out (input's shape) and the saved
// statistics mean, rstd (the input's shape without the last dim). Backward
// returns dinp and freshly zeroed dweight, dbias (C) that the kernel
// accumulates into (ops/layernorm.h); both are computed even without a weight
// (then the gradient of a weight of ones).
#pragma once

#include "../ops/layernorm.h"
#include "../runtime/tensor.h"

namespace cg::dispatch {

struct LayerNormOut {
  TensorPtr out, mean, rstd;
};
struct LayerNormGrads {
  TensorPtr dinp, dweight, dbias;
};

LayerNormOut layernorm_forward(const TensorImpl& inp, const TensorImpl* weight, const TensorImpl* bias, double eps);
LayerNormGrads layernorm_backward(const TensorImpl& dout, const TensorImpl& inp, const TensorImpl* weight,
                                  const TensorImpl& mean, const TensorImpl& rstd);

}  // namespace cg::dispatch
