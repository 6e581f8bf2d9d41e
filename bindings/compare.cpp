// Bindings for the comparison ops: compare(op, a, b), compareScalar(op, a, s);
// op is "eq", "ne", "lt", "le", "gt" or "ge".
#include "../native/dispatch/compare.h"

#include "convert.h"
#include "handle.h"
#include "registry.h"

namespace cg::bind {

namespace {

Cmp cmp_arg(const Napi::CallbackInfo& info, size_t i) {
  std::string s = string_arg(info, i, "cudagrad.compare", "op");
  if (s == "eq") return Cmp::Eq;
  if (s == "ne") return Cmp::Ne;
  if (s == "lt") return Cmp::Lt;
  if (s == "le") return Cmp::Le;
  if (s == "gt") return Cmp::Gt;
  if (s == "ge") return Cmp::Ge;
  throw_type_error("cudagrad.compare: unknown op '", s, "' (expected eq, ne, lt, le, gt or ge)");
}

Napi::Value CompareFwd(const Napi::CallbackInfo& info) {
  Cmp op = cmp_arg(info, 0);
  std::string name = cat("cudagrad.", dispatch::compare_name(op));
  const char* n = name.c_str();
  return Handle::Wrap(info.Env(), dispatch::compare_forward(op, Handle::Impl(info[1], n), Handle::Impl(info[2], n)));
}

Napi::Value CompareScalarFwd(const Napi::CallbackInfo& info) {
  Cmp op = cmp_arg(info, 0);
  std::string name = cat("cudagrad.", dispatch::compare_name(op));
  const char* n = name.c_str();
  return Handle::Wrap(info.Env(), dispatch::compare_scalar_forward(op, Handle::Impl(info[1], n), number_arg(info, 2, n, "b")));
}

}  // namespace

CG_EXPORT("compare", CompareFwd);
CG_EXPORT("compareScalar", CompareScalarFwd);

}  // namespace cg::bind
