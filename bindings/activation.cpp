// Bindings for activations: activation(kind, x), activationBackward(kind, dout, x).
#include "../native/dispatch/activation.h"

#include "handle.h"
#include "registry.h"

namespace cg::bind {

namespace {

Act act_arg(const Napi::CallbackInfo& info, size_t i) {
  std::string s = string_arg(info, i, "cudagrad.activation", "kind");
  Act act;
  if (!dispatch::act_from_name(s, &act))
    throw_type_error("cudagrad.activation: unknown activation '", s, "' (expected ", dispatch::kActNames, ")");
  return act;
}

Napi::Value Activation(const Napi::CallbackInfo& info) {
  Act act = act_arg(info, 0);
  return Handle::Wrap(info.Env(), dispatch::activation_forward(act, Handle::Impl(info[1], dispatch::act_name(act))));
}

Napi::Value ActivationBackward(const Napi::CallbackInfo& info) {
  Act act = act_arg(info, 0);
  const char* op = dispatch::act_name(act);
  return Handle::Wrap(info.Env(), dispatch::activation_backward(act, Handle::Impl(info[1], op), Handle::Impl(info[2], op)));
}

}  // namespace

CG_EXPORT("activation", Activation);
CG_EXPORT("activationBackward", ActivationBackward);

}  // namespace cg::bind
