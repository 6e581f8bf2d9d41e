// Bindings for the reductions: reduce(op, x, axis?, keepdim), argmax(x, axis?,
// keepdim), reduceBackward(op, dout, x, axis?, keepdim). axis null: all elements.
#include "../native/dispatch/reduce.h"

#include "axis_args.h"
#include "handle.h"
#include "registry.h"

namespace cg::bind {

namespace {

Reduce reduce_arg(const Napi::CallbackInfo& info, size_t i) {
  std::string s = string_arg(info, i, "cudagrad.reduce", "op");
  if (s == "sum") return Reduce::Sum;
  if (s == "mean") return Reduce::Mean;
  if (s == "max") return Reduce::Max;
  throw_type_error("cudagrad.reduce: unknown op '", s, "' (expected sum, mean or max)");
}

Napi::Value ReduceFwd(const Napi::CallbackInfo& info) {
  Reduce op = reduce_arg(info, 0);
  std::string name = cat("cudagrad.", dispatch::reduce_name(op));
  const char* n = name.c_str();
  return Handle::Wrap(info.Env(), dispatch::reduce_forward(op, Handle::Impl(info[1], n), opt_int_arg(info, 2, n, "axis"),
                                                           bool_arg(info, 3, n, "keepdim")));
}

Napi::Value ArgmaxFwd(const Napi::CallbackInfo& info) {
  const char* n = "cudagrad.argmax";
  return Handle::Wrap(info.Env(), dispatch::argmax_forward(Handle::Impl(info[0], n), opt_int_arg(info, 1, n, "axis"),
                                                           bool_arg(info, 2, n, "keepdim")));
}

Napi::Value ReduceBwd(const Napi::CallbackInfo& info) {
  Reduce op = reduce_arg(info, 0);
  std::string name = cat("cudagrad.", dispatch::reduce_name(op));
  const char* n = name.c_str();
  return Handle::Wrap(info.Env(), dispatch::reduce_backward(op, Handle::Impl(info[1], n), Handle::Impl(info[2], n),
                                                            opt_int_arg(info, 3, n, "axis"), bool_arg(info, 4, n, "keepdim")));
}

}  // namespace

CG_EXPORT("reduce", ReduceFwd);
CG_EXPORT("argmax", ArgmaxFwd);
CG_EXPORT("reduceBackward", ReduceBwd);

}  // namespace cg::bind
