// Activation dispatch: float32 tensors of any shape; backward takes dout of
// the input's shape.
#pragma once

#include "../ops/activation.h"
#include "../runtime/tensor.h"

namespace cg::dispatch {

const char* act_name(Act act);  // "relu", "gelu", "tanh", "sigmoid"
TensorPtr activation_forward(Act act, const TensorImpl& inp);
TensorPtr activation_backward(Act act, const TensorImpl& dout, const TensorImpl& inp);

}  // namespace cg::dispatch
