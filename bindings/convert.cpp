// N-API glue helpers (bindings/convert.h).
#include "convert.h"

#include <cmath>
#include <new>

namespace cg::bind {

void rethrow_as_js(Napi::Env env) {
  try {
    throw;
  } catch (const Napi::Error&) {
    throw;
  } catch (const cg::Error& e) {
    switch (e.kind()) {
      case ErrorKind::TypeError: throw Napi::TypeError::New(env, e.what());
      case ErrorKind::RangeError: throw Napi::RangeError::New(env, e.what());
      default: throw Napi::Error::New(env, e.what());
    }
  } catch (const std::bad_alloc&) {
    throw Napi::RangeError::New(env, "cudagrad: out of host memory");
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, std::string("cudagrad: internal error: ") + e.what());
  } catch (...) {
    throw Napi::Error::New(env, "cudagrad: internal error (unknown exception)");
  }
}

Shape shape_arg(const Napi::CallbackInfo& info, size_t i, const char* op) {
  if (i >= info.Length() || !info[i].IsArray()) throw_type_error(op, ": shape must be an array of sizes");
  Napi::Array a = info[i].As<Napi::Array>();
  Shape shape(a.Length());
  for (uint32_t k = 0; k < a.Length(); ++k) {
    Napi::Value v = a.Get(k);
    if (!v.IsNumber()) throw_type_error(op, ": shape entry ", k, " is not a number");
    double d = v.As<Napi::Number>().DoubleValue();
    if (!std::isfinite(d) || std::trunc(d) != d || d < 0 || d > 9007199254740991.0)
      throw_range_error(op, ": shape entry ", k, " (", d, ") is not a non-negative integer size");
    shape[k] = static_cast<int64_t>(d);
  }
  return shape;
}

std::string string_arg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  if (i >= info.Length() || !info[i].IsString()) throw_type_error(op, ": ", name, " must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}

double number_arg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  if (i >= info.Length() || !info[i].IsNumber()) throw_type_error(op, ": ", name, " must be a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

uint64_t u64_arg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  if (i < info.Length() && info[i].IsBigInt()) {
    bool lossless = false;
    uint64_t v = info[i].As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) throw_range_error(op, ": ", name, " must fit in 64 unsigned bits");
    return v;
  }
  double d = number_arg(info, i, op, name);
  if (!std::isfinite(d) || std::trunc(d) != d || d < 0 || d > 9007199254740991.0)
    throw_range_error(op, ": ", name, " (", d, ") must be a non-negative integer");
  return static_cast<uint64_t>(d);
}

DType dtype_arg(const Napi::CallbackInfo& info, size_t i, const char* op) {
  return parse_dtype(string_arg(info, i, op, "dtype"), op);
}

Device device_arg(const Napi::CallbackInfo& info, size_t i, const char* op) {
  return parse_device(string_arg(info, i, op, "device"), op);
}

Napi::Array shape_value(Napi::Env env, const Shape& shape) {
  Napi::Array a = Napi::Array::New(env, shape.size());
  for (size_t k = 0; k < shape.size(); ++k) a.Set(static_cast<uint32_t>(k), Napi::Number::New(env, static_cast<double>(shape[k])));
  return a;
}

Napi::TypedArray typed_array(Napi::Env env, Napi::ArrayBuffer buf, DType dtype, size_t n) {
  if (dtype == DType::Float32) return Napi::Float32Array::New(env, n, buf, 0);
  return Napi::Int32Array::New(env, n, buf, 0);
}

}  // namespace cg::bind
