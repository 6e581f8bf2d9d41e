// Bindings for matmul / linear / raw GEMM:
//   matmul(a, b), matmulBackward(dout, a, b) -> [da, db],
//   linear(x, weight, bias | null, act | null), linearBackward(dout, x, weight, hasBias) -> [dx, dweight, dbias | null],
//   gemm(a, b, c, bias | null, [transA, transB, M, N, K, alpha, beta, lda, ldb, ldc, batch, strideA, strideB, strideC],
//        act | null, wantPreact) -> [out, preact | null].
#include "../native/dispatch/matmul.h"

#include <cmath>

#include "../native/dispatch/activation.h"
#include "handle.h"
#include "registry.h"

namespace cg::bind {

namespace {

bool present(const Napi::CallbackInfo& info, size_t i) { return i < info.Length() && !info[i].IsNull() && !info[i].IsUndefined(); }

// Optional activation name: null -> none.
bool act_arg(const Napi::CallbackInfo& info, size_t i, const char* op, Act* act) {
  if (!present(info, i)) return false;
  std::string s = string_arg(info, i, op, "activation");
  if (!dispatch::act_from_name(s, act)) throw_type_error(op, ": unknown activation '", s, "' (expected ", dispatch::kActNames, ")");
  return true;
}

Napi::Value Matmul(const Napi::CallbackInfo& info) {
  const char* op = "cudagrad.matmul";
  return Handle::Wrap(info.Env(), dispatch::matmul(Handle::Impl(info[0], op), Handle::Impl(info[1], op)));
}

Napi::Value MatmulBackward(const Napi::CallbackInfo& info) {
  const char* op = "cudagrad.matmul backward";
  auto g = dispatch::matmul_backward(Handle::Impl(info[0], op), Handle::Impl(info[1], op), Handle::Impl(info[2], op));
  Napi::Array r = Napi::Array::New(info.Env(), 2);
  r.Set(0u, Handle::Wrap(info.Env(), std::move(g.da)));
  r.Set(1u, Handle::Wrap(info.Env(), std::move(g.db)));
  return r;
}

Napi::Value Linear(const Napi::CallbackInfo& info) {
  const char* op = "cudagrad.linear";
  const TensorImpl* bias = present(info, 2) ? &Handle::Impl(info[2], op) : nullptr;
  Act act = Act::ReLU;
  bool has_act = act_arg(info, 3, op, &act);
  return Handle::Wrap(info.Env(), dispatch::linear(Handle::Impl(info[0], op), Handle::Impl(info[1], op), bias, has_act, act));
}

Napi::Value LinearBackward(const Napi::CallbackInfo& info) {
  const char* op = "cudagrad.linear backward";
  bool has_bias = info.Length() > 3 && info[3].ToBoolean().Value();
  auto g = dispatch::linear_backward(Handle::Impl(info[0], op), Handle::Impl(info[1], op), Handle::Impl(info[2], op), has_bias);
  Napi::Env env = info.Env();
  Napi::Array r = Napi::Array::New(env, 3);
  r.Set(0u, Handle::Wrap(env, std::move(g.dx)));
  r.Set(1u, Handle::Wrap(env, std::move(g.dweight)));
  r.Set(2u, g.dbias ? Napi::Value(Handle::Wrap(env, std::move(g.dbias))) : env.Null());
  return r;
}

Napi::Value Gemm(const Napi::CallbackInfo& info) {
  const char* op = "cudagrad.gemm";
  const TensorImpl* bias = present(info, 3) ? &Handle::Impl(info[3], op) : nullptr;
  if (info.Length() <= 4 || !info[4].IsArray()) throw_type_error(op, ": expected an array of 14 GEMM parameters");
  Napi::Array a = info[4].As<Napi::Array>();
  if (a.Length() != 14) throw_type_error(op, ": expected an array of 14 GEMM parameters");
  double v[14];
  for (uint32_t k = 0; k < 14; ++k) {
    Napi::Value x = a.Get(k);
    if (!x.IsNumber() && !x.IsBoolean()) throw_type_error(op, ": GEMM parameter ", k, " is not a number");
    v[k] = x.IsBoolean() ? (x.As<Napi::Boolean>().Value() ? 1 : 0) : x.As<Napi::Number>().DoubleValue();
  }
  auto i64 = [&](int k, const char* name) {
    if (!std::isfinite(v[k]) || std::trunc(v[k]) != v[k] || std::fabs(v[k]) > 9007199254740991.0)
      throw_range_error(op, ": ", name, " (", v[k], ") is not an integer");
    return static_cast<int64_t>(v[k]);
  };
  dispatch::GemmArgs g;
  g.trans_a = v[0] != 0;
  g.trans_b = v[1] != 0;
  g.M = i64(2, "M");
  g.N = i64(3, "N");
  g.K = i64(4, "K");
  g.alpha = v[5];
  g.beta = v[6];
  g.lda = i64(7, "lda");
  g.ldb = i64(8, "ldb");
  g.ldc = i64(9, "ldc");
  g.batch = i64(10, "batch");
  g.stride_a = i64(11, "strideA");
  g.stride_b = i64(12, "strideB");
  g.stride_c = i64(13, "strideC");
  g.has_act = act_arg(info, 5, op, &g.act);
  g.want_preact = info.Length() > 6 && info[6].ToBoolean().Value();
  auto r = dispatch::gemm(g, Handle::Impl(info[0], op), Handle::Impl(info[1], op), Handle::Impl(info[2], op), bias);
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Handle::Wrap(env, std::move(r.out)));
  out.Set(1u, r.preact ? Napi::Value(Handle::Wrap(env, std::move(r.preact))) : env.Null());
  return out;
}

}  // namespace

CG_EXPORT("matmul", Matmul);
CG_EXPORT("matmulBackward", MatmulBackward);
CG_EXPORT("linear", Linear);
CG_EXPORT("linearBackward", LinearBackward);
CG_EXPORT("gemm", Gemm);

}  // namespace cg::bind
