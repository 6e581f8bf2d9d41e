// Bindings for fused attention:
//   attentionForward(q, k, v, mask | null, causal) -> [out, lse]
//   attentionBackward(dout, q, k, v, out, lse, mask | null, causal) -> [dq, dk, dv]
#include "../native/dispatch/attention.h"

#include "handle.h"
#include "registry.h"

namespace cg::bind {

namespace {

const TensorImpl* optional_tensor(const Napi::Value& v, const char* op) {
  return v.IsUndefined() || v.IsNull() ? nullptr : &Handle::Impl(v, op);
}

Napi::Value AttentionForward(const Napi::CallbackInfo& info) {
  const char* op = "cudagrad.attention";
  dispatch::AttentionOut r = dispatch::attention_forward(Handle::Impl(info[0], op), Handle::Impl(info[1], op),
                                                         Handle::Impl(info[2], op), optional_tensor(info[3], op),
                                                         info[4].ToBoolean().Value());
  Napi::Array a = Napi::Array::New(info.Env(), 2);
  a.Set(0u, Handle::Wrap(info.Env(), std::move(r.out)));
  a.Set(1u, Handle::Wrap(info.Env(), std::move(r.lse)));
  return a;
}

Napi::Value AttentionBackward(const Napi::CallbackInfo& info) {
  const char* op = "cudagrad.attention backward";
  dispatch::AttentionGrads g = dispatch::attention_backward(
      Handle::Impl(info[0], op), Handle::Impl(info[1], op), Handle::Impl(info[2], op), Handle::Impl(info[3], op),
      Handle::Impl(info[4], op), Handle::Impl(info[5], op), optional_tensor(info[6], op), info[7].ToBoolean().Value());
  Napi::Array a = Napi::Array::New(info.Env(), 3);
  a.Set(0u, Handle::Wrap(info.Env(), std::move(g.dq)));
  a.Set(1u, Handle::Wrap(info.Env(), std::move(g.dk)));
  a.Set(2u, Handle::Wrap(info.Env(), std::move(g.dv)));
  return a;
}

}  // namespace

CG_EXPORT("attentionForward", AttentionForward);
CG_EXPORT("attentionBackward", AttentionBackward);

}  // namespace cg::bind
