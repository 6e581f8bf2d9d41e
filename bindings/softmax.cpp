// Bindings for softmax: softmax(x, axis, causal, log),
// softmaxBackward(dout, out, axis, causal, log).
#include "../native/dispatch/softmax.h"

#include <cmath>

#include "handle.h"
#include "registry.h"

namespace cg::bind {

namespace {

const char* op_name(const Napi::CallbackInfo& info, size_t log_at) {
  return log_at < info.Length() && info[log_at].ToBoolean() ? "cudagrad.logSoftmax" : "cudagrad.softmax";
}

int64_t axis_arg(const Napi::CallbackInfo& info, size_t i, const char* op) {
  double a = number_arg(info, i, op, "axis");
  if (std::trunc(a) != a || std::fabs(a) > 1e15) throw_type_error(op, ": axis must be an integer, got ", a);
  return static_cast<int64_t>(a);
}

Napi::Value Softmax(const Napi::CallbackInfo& info) {
  const char* op = op_name(info, 3);
  return Handle::Wrap(info.Env(), dispatch::softmax_forward(Handle::Impl(info[0], op), axis_arg(info, 1, op),
                                                            info[2].ToBoolean(), info[3].ToBoolean()));
}

Napi::Value SoftmaxBackward(const Napi::CallbackInfo& info) {
  const char* op = op_name(info, 4);
  return Handle::Wrap(info.Env(), dispatch::softmax_backward(Handle::Impl(info[0], op), Handle::Impl(info[1], op),
                                                             axis_arg(info, 2, op), info[3].ToBoolean(),
                                                             info[4].ToBoolean()));
}

}  // namespace

CG_EXPORT("softmax", Softmax);
CG_EXPORT("softmaxBackward", SoftmaxBackward);

}  // namespace cg::bind
