// Softmax dispatch: float32 tensors of any shape, over any axis (negative
// counts from the end). causal: the last two dims are (Tq, Tk) and the axis
// must be the last one (see ops/softmax.h for the mask and its conventions).
// log selects log-softmax. Backward takes dout and the forward's out, both of
// the input's shape, and the same axis/causal/log.
#pragma once

#include "../ops/softmax.h"
#include "../runtime/tensor.h"

namespace cg::dispatch {

TensorPtr softmax_forward(const TensorImpl& inp, int64_t axis, bool causal, bool log);
TensorPtr softmax_backward(const TensorImpl& dout, const TensorImpl& out, int64_t axis, bool causal, bool log);

}  // namespace cg::dispatch
