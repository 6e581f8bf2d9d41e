// Bindings for tensor creation: unpack arguments, call dispatch, wrap a Handle.
#include "../native/dispatch/creation.h"

#include "convert.h"
#include "handle.h"
#include "registry.h"

namespace cg::bind {

namespace {

// fromData(typedArray, shape, dtype, device): an Int32Array for int32, a
// Float32Array for float32 and bfloat16 (rounded to bf16 on the device).
Napi::Value FromData(const Napi::CallbackInfo& info) {
  const char* op = "cudagrad.tensor";
  DType dtype = dtype_arg(info, 2, op);
  if (!info[0].IsTypedArray()) throw_type_error(op, ": data must be a typed array");
  Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
  const DType host = dtype == DType::Int32 ? DType::Int32 : DType::Float32;
  napi_typedarray_type want = host == DType::Float32 ? napi_float32_array : napi_int32_array;
  if (ta.TypedArrayType() != want) throw_type_error(op, ": data must be a ", host == DType::Float32 ? "Float32Array" : "Int32Array", " for dtype ", dtype_name(dtype));
  const char* src = static_cast<const char*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
  TensorPtr t = dispatch::from_host(op, src, ta.ByteLength(), shape_arg(info, 1, op), host, device_arg(info, 3, op));
  if (dtype != host) t = dispatch::cast(op, *t, dtype);
  return Handle::Wrap(info.Env(), std::move(t));
}

// cast(x, dtype): x converted to dtype in new storage (ops/cast.h).
Napi::Value Cast(const Napi::CallbackInfo& info) {
  const char* op = "cudagrad.cast";
  return Handle::Wrap(info.Env(), dispatch::cast(op, Handle::Impl(info[0], op), dtype_arg(info, 1, op)));
}

// full(shape, dtype, value, device)
Napi::Value Full(const Napi::CallbackInfo& info) {
  const char* op = "cudagrad.full";
  return Handle::Wrap(info.Env(), dispatch::full(op, shape_arg(info, 0, op), dtype_arg(info, 1, op), number_arg(info, 2, op, "value"),
                                                device_arg(info, 3, op)));
}

// arange(start, step, n, dtype, device)
Napi::Value Arange(const Napi::CallbackInfo& info) {
  const char* op = "cudagrad.arange";
  double n = number_arg(info, 2, op, "length");
  if (!(n >= 0 && n <= 9007199254740991.0)) throw_range_error(op, ": length ", n, " is not a valid size");
  return Handle::Wrap(info.Env(), dispatch::arange(op, number_arg(info, 0, op, "start"), number_arg(info, 1, op, "step"),
                                                  static_cast<int64_t>(n), dtype_arg(info, 3, op), device_arg(info, 4, op)));
}

// The generator state for one random op: (seed, 0) when a seed is given, else the default generator's next.
rng::State random_state(const Napi::CallbackInfo& info, size_t i, const char* op) {
  if (i < info.Length() && !info[i].IsNull() && !info[i].IsUndefined()) return rng::State{u64_arg(info, i, op, "seed"), 0};
  return rng::next();
}

// uniform(shape, seed | null, low, high, device)
Napi::Value Uniform(const Napi::CallbackInfo& info) {
  const char* op = "cudagrad.rand";
  Shape shape = shape_arg(info, 0, op);
  double low = number_arg(info, 2, op, "low"), high = number_arg(info, 3, op, "high");
  Device device = device_arg(info, 4, op);
  return Handle::Wrap(info.Env(), dispatch::uniform(op, shape, random_state(info, 1, op), low, high, device));
}

// normal(shape, seed | null, mean, std, device)
Napi::Value Normal(const Napi::CallbackInfo& info) {
  const char* op = "cudagrad.randn";
  Shape shape = shape_arg(info, 0, op);
  double mean = number_arg(info, 2, op, "mean"), stdev = number_arg(info, 3, op, "std");
  Device device = device_arg(info, 4, op);
  return Handle::Wrap(info.Env(), dispatch::normal(op, shape, random_state(info, 1, op), mean, stdev, device));
}

// clone(x): a copy in new storage on the same device.
Napi::Value Clone(const Napi::CallbackInfo& info) {
  return Handle::Wrap(info.Env(), dispatch::clone("cudagrad.clone", Handle::Impl(info[0], "cudagrad.clone")));
}

// sharesStorage(a, b): whether two tensors are views of one storage (reshape, detach).
Napi::Value SharesStorage(const Napi::CallbackInfo& info) {
  const char* op = "cudagrad.sharesStorage";
  return Napi::Boolean::New(info.Env(), Handle::Impl(info[0], op).storage() == Handle::Impl(info[1], op).storage());
}

}  // namespace

CG_EXPORT("clone", Clone);
CG_EXPORT("cast", Cast);
CG_EXPORT("sharesStorage", SharesStorage);
CG_EXPORT("fromData", FromData);
CG_EXPORT("full", Full);
CG_EXPORT("arange", Arange);
CG_EXPORT("uniform", Uniform);
CG_EXPORT("normal", Normal);

}  // namespace cg::bind
