// Bindings for the elementwise ops: binary(op, a, b), binaryScalar(op, a, s),
// binaryBackward(op, dout, a, b) -> [da, db], binaryScalarBackward(op, dout, a, s),
// unary(op, x), unaryBackward(op, dout, x, out?), clamp(x, lo?, hi?),
// clampBackward(dout, x, lo?, hi?).
#include "../native/dispatch/elementwise.h"

#include "axis_args.h"
#include "handle.h"
#include "registry.h"

namespace cg::bind {

namespace {

// "cudagrad.<op>", the name Handle::Impl puts in its errors.
std::string op_name(const char* op) { return cat("cudagrad.", op); }

Binary binary_arg(const Napi::CallbackInfo& info, size_t i) {
  std::string s = string_arg(info, i, "cudagrad.binary", "op");
  if (s == "add") return Binary::Add;
  if (s == "sub") return Binary::Sub;
  if (s == "mul") return Binary::Mul;
  if (s == "div") return Binary::Div;
  if (s == "pow") return Binary::Pow;
  throw_type_error("cudagrad.binary: unknown op '", s, "' (expected add, sub, mul, div or pow)");
}

Unary unary_arg(const Napi::CallbackInfo& info, size_t i) {
  std::string s = string_arg(info, i, "cudagrad.unary", "op");
  if (s == "neg") return Unary::Neg;
  if (s == "exp") return Unary::Exp;
  if (s == "log") return Unary::Log;
  if (s == "sqrt") return Unary::Sqrt;
  throw_type_error("cudagrad.unary: unknown op '", s, "' (expected neg, exp, log or sqrt)");
}

Napi::Value BinaryFwd(const Napi::CallbackInfo& info) {
  Binary op = binary_arg(info, 0);
  std::string name = op_name(dispatch::binary_name(op));
  const char* n = name.c_str();
  return Handle::Wrap(info.Env(), dispatch::binary_forward(op, Handle::Impl(info[1], n), Handle::Impl(info[2], n)));
}

Napi::Value BinaryScalarFwd(const Napi::CallbackInfo& info) {
  Binary op = binary_arg(info, 0);
  std::string name = op_name(dispatch::binary_name(op));
  const char* n = name.c_str();
  return Handle::Wrap(info.Env(), dispatch::binary_scalar_forward(op, Handle::Impl(info[1], n), number_arg(info, 2, n, "scalar")));
}

Napi::Value BinaryBwd(const Napi::CallbackInfo& info) {
  Binary op = binary_arg(info, 0);
  std::string name = op_name(dispatch::binary_name(op));
  const char* n = name.c_str();
  auto [da, db] = dispatch::binary_backward(op, Handle::Impl(info[1], n), Handle::Impl(info[2], n), Handle::Impl(info[3], n));
  Napi::Array out = Napi::Array::New(info.Env(), 2);
  out.Set(0u, Handle::Wrap(info.Env(), std::move(da)));
  out.Set(1u, Handle::Wrap(info.Env(), std::move(db)));
  return out;
}

Napi::Value BinaryScalarBwd(const Napi::CallbackInfo& info) {
  Binary op = binary_arg(info, 0);
  std::string name = op_name(dispatch::binary_name(op));
  const char* n = name.c_str();
  return Handle::Wrap(info.Env(), dispatch::binary_scalar_backward(op, Handle::Impl(info[1], n), Handle::Impl(info[2], n),
                                                                   number_arg(info, 3, n, "scalar")));
}

Napi::Value UnaryFwd(const Napi::CallbackInfo& info) {
  Unary op = unary_arg(info, 0);
  std::string name = op_name(dispatch::unary_name(op));
  return Handle::Wrap(info.Env(), dispatch::unary_forward(op, Handle::Impl(info[1], name.c_str())));
}

Napi::Value UnaryBwd(const Napi::CallbackInfo& info) {
  Unary op = unary_arg(info, 0);
  std::string name = op_name(dispatch::unary_name(op));
  const char* n = name.c_str();
  const TensorImpl* out = absent(info, 3) ? nullptr : &Handle::Impl(info[3], n);
  return Handle::Wrap(info.Env(), dispatch::unary_backward(op, Handle::Impl(info[1], n), Handle::Impl(info[2], n), out));
}

Napi::Value ClampFwd(const Napi::CallbackInfo& info) {
  const char* n = "cudagrad.clamp";
  return Handle::Wrap(info.Env(), dispatch::clamp_forward(Handle::Impl(info[0], n), opt_number_arg(info, 1, n, "min"),
                                                          opt_number_arg(info, 2, n, "max")));
}

Napi::Value ClampBwd(const Napi::CallbackInfo& info) {
  const char* n = "cudagrad.clamp backward";
  return Handle::Wrap(info.Env(), dispatch::clamp_backward(Handle::Impl(info[0], n), Handle::Impl(info[1], n),
                                                           opt_number_arg(info, 2, n, "min"), opt_number_arg(info, 3, n, "max")));
}

}  // namespace

CG_EXPORT("binary", BinaryFwd);
CG_EXPORT("binaryScalar", BinaryScalarFwd);
CG_EXPORT("binaryBackward", BinaryBwd);
CG_EXPORT("binaryScalarBackward", BinaryScalarBwd);
CG_EXPORT("unary", UnaryFwd);
CG_EXPORT("unaryBackward", UnaryBwd);
CG_EXPORT("clamp", ClampFwd);
CG_EXPORT("clampBackward", ClampBwd);

}  // namespace cg::bind
