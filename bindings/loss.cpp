// Bindings for cross-entropy: crossEntropy(logits, targets, ignoreIndex,
// reduction), crossEntropyBackward(dloss, logits, targets, ignoreIndex,
// reduction), crossEntropyWithGrad(logits, targets, ignoreIndex, reduction) ->
// [loss, dlogits for dloss 1]; reduction is 'mean', 'sum' or 'none'.
#include "../native/dispatch/loss.h"

#include <cmath>

#include "handle.h"
#include "registry.h"

namespace cg::bind {

namespace {

int32_t ignore_arg(const Napi::CallbackInfo& info, size_t i, const char* op) {
  double v = number_arg(info, i, op, "ignoreIndex");
  if (std::trunc(v) != v || v < -2147483648.0 || v > 2147483647.0)
    throw_range_error(op, ": ignoreIndex ", v, " is not an int32 value");
  return static_cast<int32_t>(v);
}

dispatch::Reduction reduction_arg(const Napi::CallbackInfo& info, size_t i, const char* op) {
  std::string s = string_arg(info, i, op, "reduction");
  if (s == "mean") return dispatch::Reduction::Mean;
  if (s == "sum") return dispatch::Reduction::Sum;
  if (s == "none") return dispatch::Reduction::None;
  throw_type_error(op, ": unknown reduction '", s, "' (expected mean, sum or none)");
}

Napi::Value CrossEntropy(const Napi::CallbackInfo& info) {
  const char* op = "cudagrad.crossEntropy";
  return Handle::Wrap(info.Env(), dispatch::crossentropy_forward(Handle::Impl(info[0], op), Handle::Impl(info[1], op),
                                                                 ignore_arg(info, 2, op), reduction_arg(info, 3, op)));
}

Napi::Value CrossEntropyBackward(const Napi::CallbackInfo& info) {
  const char* op = "cudagrad.crossEntropy backward";
  return Handle::Wrap(info.Env(),
                      dispatch::crossentropy_backward(Handle::Impl(info[0], op), Handle::Impl(info[1], op),
                                                      Handle::Impl(info[2], op), ignore_arg(info, 3, op),
                                                      reduction_arg(info, 4, op)));
}

Napi::Value CrossEntropyWithGrad(const Napi::CallbackInfo& info) {
  const char* op = "cudagrad.crossEntropy";
  dispatch::CrossEntropyWithGrad r = dispatch::crossentropy_forward_backward(
      Handle::Impl(info[0], op), Handle::Impl(info[1], op), ignore_arg(info, 2, op), reduction_arg(info, 3, op));
  Napi::Array a = Napi::Array::New(info.Env(), 2);
  a.Set(0u, Handle::Wrap(info.Env(), std::move(r.loss)));
  a.Set(1u, Handle::Wrap(info.Env(), std::move(r.dlogits)));
  return a;
}

}  // namespace

CG_EXPORT("crossEntropy", CrossEntropy);
CG_EXPORT("crossEntropyBackward", CrossEntropyBackward);
CG_EXPORT("crossEntropyWithGrad", CrossEntropyWithGrad);

}  // namespace cg::bind
