// Activation dispatch: float32 tensors of any shape; backward takes dout of
// the input's shape.
#pragma once

#include <string>

#include "../ops/activation.h"
#include "../runtime/tensor.h"

namespace cg::dispatch {

const char* act_name(Act act);  // "relu", "gelu", "gelu_exact", "tanh", "sigmoid"
// The Act named `name` (act_name's inverse); false for an unknown name.
bool act_from_name(const std::string& name, Act* act);
// The valid names, for error messages: "relu, gelu, gelu_exact, tanh or sigmoid".
extern const char* const kActNames;
TensorPtr activation_forward(Act act, const TensorImpl& inp);
TensorPtr activation_backward(Act act, const TensorImpl& dout, const TensorImpl& inp);

}  // namespace cg::dispatch
