// N-API glue helpers: turning cg::Error into JS errors, and unpacking
// arguments. No logic beyond argument conversion lives in bindings/.
#pragma once

#include <napi.h>

#include <string>

#include "../native/runtime/device.h"
#include "../native/runtime/dtype.h"
#include "../native/runtime/error.h"
#include "../native/runtime/tensor.h"

namespace cg::bind {

// Rethrows the current exception as the matching JS error. Call from a catch block.
[[noreturn]] void rethrow_as_js(Napi::Env env);

// A callback whose C++ exceptions surface as JS errors.
template <Napi::Value (*F)(const Napi::CallbackInfo&)>
Napi::Value guarded(const Napi::CallbackInfo& info) {
  try {
    return F(info);
  } catch (...) {
    rethrow_as_js(info.Env());
  }
}

Shape shape_arg(const Napi::CallbackInfo& info, size_t i, const char* op);
std::string string_arg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name);
double number_arg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name);
uint64_t u64_arg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name);  // BigInt or safe integer
DType dtype_arg(const Napi::CallbackInfo& info, size_t i, const char* op);
Device device_arg(const Napi::CallbackInfo& info, size_t i, const char* op);

Napi::Array shape_value(Napi::Env env, const Shape& shape);
// A new Float32Array / Int32Array (by dtype) of `n` elements over a fresh ArrayBuffer.
Napi::TypedArray typed_array(Napi::Env env, Napi::ArrayBuffer buf, DType dtype, size_t n);

}  // namespace cg::bind
