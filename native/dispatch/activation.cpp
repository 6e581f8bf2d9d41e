// Activation dispatch (dispatch/activation.h).
#include "activation.h"

#include <string>

#include "check.h"
#include "creation.h"
#include "on_device.h"

namespace cg::dispatch {

const char* act_name(Act act) {
  switch (act) {
    case Act::ReLU: return "relu";
    case Act::GELU: return "gelu";
    case Act::GELUExact: return "gelu_exact";
    case Act::Tanh: return "tanh";
    default: return "sigmoid";
  }
}

bool act_from_name(const std::string& name, Act* act) {
  for (Act a : {Act::ReLU, Act::GELU, Act::GELUExact, Act::Tanh, Act::Sigmoid}) {
    if (name == act_name(a)) {
      *act = a;
      return true;
    }
  }
  return false;
}

const char* const kActNames = "relu, gelu, gelu_exact, tanh or sigmoid";

TensorPtr activation_forward(Act act, const TensorImpl& inp) {
  std::string op = cat("cudagrad.", act_name(act));
  check_dtype(op.c_str(), inp, DType::Float32, "input");
  TensorPtr out = empty(op.c_str(), inp.shape(), DType::Float32, inp.device());
  CG_ON_DEVICE(inp.device(), activation_forward, out->data_as<float>(), inp.data_as<float>(), inp.numel(), act);
  return out;
}

TensorPtr activation_backward(Act act, const TensorImpl& dout, const TensorImpl& inp) {
  std::string op = cat("cudagrad.", act_name(act), " backward");
  check_dtype(op.c_str(), inp, DType::Float32, "input");
  check_dtype(op.c_str(), dout, DType::Float32, "dout");
  check_same_device(op.c_str(), {&dout, &inp});
  check_same_shape(op.c_str(), dout, "dout", inp, "input");
  TensorPtr dinp = empty(op.c_str(), inp.shape(), DType::Float32, inp.device());
  CG_ON_DEVICE(inp.device(), activation_backward, dinp->data_as<float>(), inp.data_as<float>(),
              dout.data_as<float>(), inp.numel(), act);
  return dinp;
}

}  // namespace cg::dispatch
