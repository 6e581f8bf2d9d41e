// Bindings for the shape ops: permute(x, dims), transpose(x, d0, d1),
// slice(x, axis, start, end?), sliceBackward(dout, shape, axis, start, end?),
// concat([x...], axis), split(x, sizes, axis) -> [pieces], gather(x, axis, index), gatherBackward(dout, index, axis, shape).
#include "../native/dispatch/shape.h"

#include "axis_args.h"
#include "handle.h"
#include "registry.h"

namespace cg::bind {

namespace {

Napi::Value Permute(const Napi::CallbackInfo& info) {
  const char* n = "cudagrad.permute";
  return Handle::Wrap(info.Env(), dispatch::permute(Handle::Impl(info[0], n), ints_arg(info, 1, n, "dims")));
}

Napi::Value Transpose(const Napi::CallbackInfo& info) {
  const char* n = "cudagrad.transpose";
  return Handle::Wrap(info.Env(), dispatch::transpose(Handle::Impl(info[0], n), int_arg(info, 1, n, "dim0"), int_arg(info, 2, n, "dim1")));
}

Napi::Value Slice(const Napi::CallbackInfo& info) {
  const char* n = "cudagrad.slice";
  return Handle::Wrap(info.Env(), dispatch::slice(Handle::Impl(info[0], n), int_arg(info, 1, n, "axis"), number_arg(info, 2, n, "start"),
                                                  opt_number_arg(info, 3, n, "end")));
}

Napi::Value SliceBwd(const Napi::CallbackInfo& info) {
  const char* n = "cudagrad.slice backward";
  return Handle::Wrap(info.Env(), dispatch::slice_backward(Handle::Impl(info[0], n), shape_arg(info, 1, n), int_arg(info, 2, n, "axis"),
                                                           number_arg(info, 3, n, "start"), opt_number_arg(info, 4, n, "end")));
}

Napi::Value Concat(const Napi::CallbackInfo& info) {
  const char* n = "cudagrad.concat";
  if (info.Length() < 1 || !info[0].IsArray()) throw_type_error(n, ": tensors must be an array of tensors");
  Napi::Array a = info[0].As<Napi::Array>();
  std::vector<const TensorImpl*> xs;
  for (uint32_t k = 0; k < a.Length(); ++k) xs.push_back(&Handle::Impl(a.Get(k), n));
  return Handle::Wrap(info.Env(), dispatch::concat(xs, int_arg(info, 1, n, "axis")));
}

Napi::Value Split(const Napi::CallbackInfo& info) {
  const char* n = "cudagrad.split";
  std::vector<TensorPtr> parts = dispatch::split(Handle::Impl(info[0], n), ints_arg(info, 1, n, "sizes"), int_arg(info, 2, n, "axis"));
  Napi::Array out = Napi::Array::New(info.Env(), parts.size());
  for (size_t k = 0; k < parts.size(); ++k) out.Set(static_cast<uint32_t>(k), Handle::Wrap(info.Env(), std::move(parts[k])));
  return out;
}

Napi::Value Gather(const Napi::CallbackInfo& info) {
  const char* n = "cudagrad.gather";
  return Handle::Wrap(info.Env(), dispatch::gather(Handle::Impl(info[0], n), int_arg(info, 1, n, "axis"), Handle::Impl(info[2], n)));
}

Napi::Value GatherBwd(const Napi::CallbackInfo& info) {
  const char* n = "cudagrad.gather backward";
  return Handle::Wrap(info.Env(), dispatch::gather_backward(Handle::Impl(info[0], n), Handle::Impl(info[1], n), int_arg(info, 2, n, "axis"),
                                                            shape_arg(info, 3, n)));
}

}  // namespace

CG_EXPORT("permute", Permute);
CG_EXPORT("transpose", Transpose);
CG_EXPORT("slice", Slice);
CG_EXPORT("sliceBackward", SliceBwd);
CG_EXPORT("concat", Concat);
CG_EXPORT("split", Split);
CG_EXPORT("gather", Gather);
CG_EXPORT("gatherBackward", GatherBwd);

}  // namespace cg::bind
