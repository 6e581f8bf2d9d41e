// Argument helpers for the elementwise, reduce and shape bindings: integer
// (axis, index) arguments, optional numbers (null/undefined = absent), and
// arrays of integers. Conversion only; ranges are checked in dispatch.
#pragma once

#include <cmath>
#include <optional>
#include <vector>

#include "convert.h"

namespace cg::bind {

inline bool absent(const Napi::CallbackInfo& info, size_t i) { return i >= info.Length() || info[i].IsNull() || info[i].IsUndefined(); }

// An integer, saturated to +-2^53 (beyond any valid axis or size).
inline int64_t int_arg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  double d = number_arg(info, i, op, name);
  if (!std::isfinite(d) || std::trunc(d) != d) throw_type_error(op, ": ", name, " must be an integer, got ", d);
  return static_cast<int64_t>(std::max(-9007199254740992.0, std::min(d, 9007199254740992.0)));
}

inline std::optional<double> opt_number_arg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  if (absent(info, i)) return std::nullopt;
  return number_arg(info, i, op, name);
}

inline std::optional<int64_t> opt_int_arg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  if (absent(info, i)) return std::nullopt;
  return int_arg(info, i, op, name);
}

inline bool bool_arg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  if (absent(info, i)) return false;
  if (!info[i].IsBoolean()) throw_type_error(op, ": ", name, " must be a boolean");
  return info[i].As<Napi::Boolean>().Value();
}

inline std::vector<int64_t> ints_arg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  if (i >= info.Length() || !info[i].IsArray()) throw_type_error(op, ": ", name, " must be an array of integers");
  Napi::Array a = info[i].As<Napi::Array>();
  std::vector<int64_t> out(a.Length());
  for (uint32_t k = 0; k < a.Length(); ++k) {
    Napi::Value v = a.Get(k);
    double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
    if (!std::isfinite(d) || std::trunc(d) != d) throw_type_error(op, ": ", name, " must be an array of integers (entry ", k, ")");
    out[k] = static_cast<int64_t>(std::max(-9007199254740992.0, std::min(d, 9007199254740992.0)));
  }
  return out;
}

}  // namespace cg::bind
