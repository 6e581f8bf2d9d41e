// Bindings for the optimizer updates (in place; return undefined):
// sgdStep(param, grad, buf | null, lr, momentum, dampening, weightDecay, nesterov, first),
// adamStep(param, grad, m, v, lr, beta1, beta2, eps, weightDecay, step, decoupled),
// gradNorm([tensors]) -> number, clipGradNorm([tensors], maxNorm) -> number.
#include "../native/dispatch/optim.h"

#include "handle.h"
#include "registry.h"

namespace cg::bind {

namespace {

std::vector<const TensorImpl*> tensor_list(const Napi::CallbackInfo& info, size_t i, const char* op) {
  if (i >= info.Length() || !info[i].IsArray()) throw_type_error(op, ": tensors must be an array of tensors");
  Napi::Array a = info[i].As<Napi::Array>();
  std::vector<const TensorImpl*> out;
  for (uint32_t k = 0; k < a.Length(); ++k) out.push_back(&Handle::Impl(a.Get(k), op));
  return out;
}

Napi::Value SgdStep(const Napi::CallbackInfo& info) {
  const char* op = "cudagrad.sgdStep";
  dispatch::SgdOptions o;
  o.lr = number_arg(info, 3, op, "lr");
  o.momentum = number_arg(info, 4, op, "momentum");
  o.dampening = number_arg(info, 5, op, "dampening");
  o.weight_decay = number_arg(info, 6, op, "weightDecay");
  o.nesterov = info[7].ToBoolean();
  o.first = info[8].ToBoolean();
  const TensorImpl* buf = info[2].IsNull() || info[2].IsUndefined() ? nullptr : &Handle::Impl(info[2], op);
  dispatch::sgd_step(Handle::Impl(info[0], op), Handle::Impl(info[1], op), buf, o);
  return info.Env().Undefined();
}

Napi::Value AdamStep(const Napi::CallbackInfo& info) {
  dispatch::AdamOptions o;
  o.decoupled = info[10].ToBoolean();
  const char* op = o.decoupled ? "cudagrad.adamwStep" : "cudagrad.adamStep";
  o.lr = number_arg(info, 4, op, "lr");
  o.beta1 = number_arg(info, 5, op, "beta1");
  o.beta2 = number_arg(info, 6, op, "beta2");
  o.eps = number_arg(info, 7, op, "eps");
  o.weight_decay = number_arg(info, 8, op, "weightDecay");
  o.step = number_arg(info, 9, op, "step");
  dispatch::adam_step(Handle::Impl(info[0], op), Handle::Impl(info[1], op), Handle::Impl(info[2], op),
                      Handle::Impl(info[3], op), o);
  return info.Env().Undefined();
}

Napi::Value GradNorm(const Napi::CallbackInfo& info) {
  const char* op = "cudagrad.gradNorm";
  return Napi::Number::New(info.Env(), dispatch::grad_norm(op, tensor_list(info, 0, op)));
}

Napi::Value ClipGradNorm(const Napi::CallbackInfo& info) {
  const char* op = "cudagrad.clipGradNorm";
  double max_norm = number_arg(info, 1, op, "maxNorm");
  bool read = info.Length() < 3 || !info[2].IsBoolean() || info[2].As<Napi::Boolean>().Value();
  return Napi::Number::New(info.Env(), dispatch::clip_grad_norm(tensor_list(info, 0, op), max_norm, read));
}

}  // namespace

CG_EXPORT("sgdStep", SgdStep);
CG_EXPORT("adamStep", AdamStep);
CG_EXPORT("gradNorm", GradNorm);
CG_EXPORT("clipGradNorm", ClipGradNorm);

}  // namespace cg::bind
