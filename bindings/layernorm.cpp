// Bindings for LayerNorm: layerNorm(x, weight | null, bias | null, eps) ->
// {out, mean, rstd}; layerNormBackward(dout, x, weight | null, mean, rstd) ->
// {dx, dweight, dbias}.
#include "../native/dispatch/layernorm.h"

#include "handle.h"
#include "registry.h"

namespace cg::bind {

namespace {

const TensorImpl* optional(const Napi::CallbackInfo& info, size_t i, const char* op) {
  if (i >= info.Length() || info[i].IsNull() || info[i].IsUndefined()) return nullptr;
  return &Handle::Impl(info[i], op);
}

Napi::Value LayerNorm(const Napi::CallbackInfo& info) {
  const char* op = "cudagrad.layerNorm";
  dispatch::LayerNormOut r = dispatch::layernorm_forward(Handle::Impl(info[0], op), optional(info, 1, op),
                                                         optional(info, 2, op), number_arg(info, 3, op, "eps"));
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("out", Handle::Wrap(info.Env(), std::move(r.out)));
  o.Set("mean", Handle::Wrap(info.Env(), std::move(r.mean)));
  o.Set("rstd", Handle::Wrap(info.Env(), std::move(r.rstd)));
  return o;
}

Napi::Value LayerNormBackward(const Napi::CallbackInfo& info) {
  const char* op = "cudagrad.layerNorm backward";
  dispatch::LayerNormGrads g =
      dispatch::layernorm_backward(Handle::Impl(info[0], op), Handle::Impl(info[1], op), optional(info, 2, op),
                                   Handle::Impl(info[3], op), Handle::Impl(info[4], op));
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("dx", Handle::Wrap(info.Env(), std::move(g.dinp)));
  o.Set("dweight", Handle::Wrap(info.Env(), std::move(g.dweight)));
  o.Set("dbias", Handle::Wrap(info.Env(), std::move(g.dbias)));
  return o;
}

}  // namespace

CG_EXPORT("layerNorm", LayerNorm);
CG_EXPORT("layerNormBackward", LayerNormBackward);

}  // namespace cg::bind
