// Bindings for dropout: dropout(x, p, training, seed | null) -> {out, seed,
// offset} (the generator state used, as BigInts); dropoutBackward(dout, p,
// seed, offset).
#include "../native/dispatch/dropout.h"

#include "handle.h"
#include "registry.h"

namespace cg::bind {

namespace {

Napi::Value Dropout(const Napi::CallbackInfo& info) {
  const char* op = "cudagrad.dropout";
  const TensorImpl& x = Handle::Impl(info[0], op);
  double p = number_arg(info, 1, op, "p");
  bool training = info[2].ToBoolean();
  std::optional<uint64_t> seed;
  if (info.Length() > 3 && !info[3].IsNull() && !info[3].IsUndefined()) seed = u64_arg(info, 3, op, "seed");
  dispatch::DropoutOut r = dispatch::dropout_forward(x, p, training, seed);
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("out", Handle::Wrap(env, std::move(r.out)));
  o.Set("seed", Napi::BigInt::New(env, r.state.seed));
  o.Set("offset", Napi::BigInt::New(env, r.state.offset));
  return o;
}

Napi::Value DropoutBackward(const Napi::CallbackInfo& info) {
  const char* op = "cudagrad.dropout backward";
  const TensorImpl& dout = Handle::Impl(info[0], op);
  double p = number_arg(info, 1, op, "p");
  rng::State s{u64_arg(info, 2, op, "seed"), u64_arg(info, 3, op, "offset")};
  return Handle::Wrap(info.Env(), dispatch::dropout_backward(dout, p, s));
}

}  // namespace

CG_EXPORT("dropout", Dropout);
CG_EXPORT("dropoutBackward", DropoutBackward);

}  // namespace cg::bind
