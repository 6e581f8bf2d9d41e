// Bindings for the optimizer updates (in place; return undefined):
// sgdStep(param, grad, buf | null, lr, momentum, dampening, weightDecay, nesterov, first),
// adamStep(param, grad, m, v, lr, beta1, beta2, eps, weightDecay, step, decoupled),
// adamStepMulti([params], [grads], [m], [v], [steps], [weightDecays], lr, beta1, beta2, eps, decoupled,
//   clipMaxNorm | null),
// gradNorm([tensors]) -> number, clipGradNorm([tensors], maxNorm) -> number.
#include "../native/dispatch/optim.h"

#include <cmath>

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

std::vector<double> number_list(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  if (i >= info.Length() || !info[i].IsArray()) throw_type_error(op, ": ", name, " must be an array of numbers");
  Napi::Array a = info[i].As<Napi::Array>();
  std::vector<double> out;
  for (uint32_t k = 0; k < a.Length(); ++k) {
    Napi::Value v = a.Get(k);
    if (!v.IsNumber()) throw_type_error(op, ": ", name, "[", k, "] must be a number");
    out.push_back(v.As<Napi::Number>().DoubleValue());
  }
  return out;
}

Napi::Value AdamStepMulti(const Napi::CallbackInfo& info) {
  dispatch::AdamOptions o;
  o.decoupled = info[10].ToBoolean();
  const char* op = o.decoupled ? "cudagrad.adamwStep (multi-tensor)" : "cudagrad.adamStep (multi-tensor)";
  auto params = tensor_list(info, 0, op), grads = tensor_list(info, 1, op), ms = tensor_list(info, 2, op),
       vs = tensor_list(info, 3, op);
  auto steps = number_list(info, 4, op, "steps"), decays = number_list(info, 5, op, "weightDecays");
  size_t n = params.size();
  if (grads.size() != n || ms.size() != n || vs.size() != n || steps.size() != n || decays.size() != n)
    throw_range_error(op, ": params, grads, m, v, steps and weightDecays must have one entry per parameter, got ", n,
                      ", ", grads.size(), ", ", ms.size(), ", ", vs.size(), ", ", steps.size(), " and ",
                      decays.size());
  o.lr = number_arg(info, 6, op, "lr");
  o.beta1 = number_arg(info, 7, op, "beta1");
  o.beta2 = number_arg(info, 8, op, "beta2");
  o.eps = number_arg(info, 9, op, "eps");
  double clip = info[11].IsNull() || info[11].IsUndefined() ? std::nan("") : number_arg(info, 11, op, "maxNorm");
  std::vector<dispatch::AdamItem> items(n);
  for (size_t i = 0; i < n; ++i) items[i] = {params[i], grads[i], ms[i], vs[i], steps[i], decays[i]};
  dispatch::adam_step_multi(items, o, clip);
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
CG_EXPORT("adamStepMulti", AdamStepMulti);
CG_EXPORT("gradNorm", GradNorm);
CG_EXPORT("clipGradNorm", ClipGradNorm);

}  // namespace cg::bind
